"""On PostgreSQL, the projects of a region's part found along an index (issue 24).

A region of more than pieces.PART_SIZE projects is summed in parts by project id (versions.PART_COUNTS), so that a
write re-sums its project's part alone: pieces.slots_q asks for `county_id = … AND MOD(id, 32) IN (…)` (or, for a
city-level unit's own projects, `county_id IS NULL AND city_id = …`). Without an index on that expression, every
project of the region was read to keep a part of them: 6,617 rows read for the 414 of a part of the largest county
at 100,000 projects, and the menu count's query of that part took 6 ms. Along these, 1.7 ms.

The expression is versions.project_part's default (MOST_PARTS: 32) as Django writes it; nothing of this exists on
SQLite, where the migration does nothing."""

from django.db import migrations

INDEXES = {
    "projects_county_part": '("county_id", MOD("id", 32))',
    "projects_own_part": '("city_id", MOD("id", 32)) WHERE "county_id" IS NULL',
}


def indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "projects_project" {definition}')
    schema_editor.execute('ANALYZE "projects_project"')  # the expression's statistics


def indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("projects", "0030_supervision_counted_from_indexes")]

    operations = [migrations.RunPython(indexes_create, indexes_drop)]
