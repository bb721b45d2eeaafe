"""The database's planner told that its storage is SSD (random_page_cost 1.1, PostgreSQL's default 4 assumes
spinning disks). With 4, one county's piece of the dashboard hash-joined whole tables (every project's plans,
programmes and actions: 80,000-130,000 rows each at 100,000 projects) instead of looking up its thousand
projects' rows by index: about 160 ms of SQL after a county's write instead of 50 (issue 24).

Set on the database, so every connection has it (a connection pooler passes no startup options); a role that
does not own the database keeps PostgreSQL's default, said in a notice."""

from django.db import migrations

SET = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'random_page_cost left at its default: this role does not own the database';
END $$;
SET random_page_cost = 1.1;
"""

RESET = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET random_page_cost', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END $$;
RESET random_page_cost;
"""


def apply(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no parameters: the %I is format()'s

    return run


class Migration(migrations.Migration):
    dependencies = [("projects", "0026_pending_reports_index")]

    operations = [migrations.RunPython(apply(SET), apply(RESET), elidable=False)]
