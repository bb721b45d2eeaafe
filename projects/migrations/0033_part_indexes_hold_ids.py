"""On PostgreSQL, the counties' part index holds the project's id (issue 24).

The menu's 待办 count reads a part's returned and submitted reports by their project being in the part
(`project_id IN (SELECT id … WHERE county_id = … AND MOD(id, 32) IN (…))`). The part index of 0031 did not hold the id,
so PostgreSQL read the county's sort index instead (it holds the id) and kept the part's rows: 6,587 rows read for
413 at 100,000 projects, about 1 ms for each of the two queries after a report. With the id included, the part's ids
are read from the part index alone (an index-only scan). A city-level unit's own projects are a few hundred at most,
and their index stays as it was.

Nothing of this exists on SQLite, where the migration does nothing."""

from django.db import migrations

HOLDING_IDS = {"projects_county_part": '("county_id", MOD("id", 32)) INCLUDE ("id")'}
WITHOUT_IDS = {"projects_county_part": '("county_id", MOD("id", 32))'}  # 0031's


def _indexes(definitions):
    def replace(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in definitions.items():
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
            schema_editor.execute(f'CREATE INDEX "{name}" ON "projects_project" {definition}')
        schema_editor.execute('ANALYZE "projects_project"')

    return replace


class Migration(migrations.Migration):
    dependencies = [("projects", "0032_county_sort_indexes")]

    operations = [migrations.RunPython(_indexes(HOLDING_IDS), _indexes(WITHOUT_IDS))]
