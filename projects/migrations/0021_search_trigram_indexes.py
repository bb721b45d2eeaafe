"""On PostgreSQL, trigram indexes for the project search (issue 24) and the planner's knowledge that a county
fixes its city.

The admin's search box (search_fields) and the list's ?q= (ProjectFilterSet.SEARCH_FIELDS) look for a
term anywhere in the code, key, name and owner: Django writes `UPPER("col"::text) LIKE UPPER('%term%')`,
which no b-tree serves, so every search and its count read all 100,000 rows. A GIN index on exactly that
expression (pg_trgm's gin_trgm_ops) serves it; the four combine in a BitmapOr.

A county's projects all carry the city it reports to, so `city_id = … AND county_id = …` (a city user's
list of one of their counties) is as selective as the county alone; without dependency statistics the
planner multiplies the two and expects a tenth of the rows, sorting them instead of reading
projects_county_order.

Nothing of this exists on SQLite, where the migration does nothing. Reversing it drops the indexes and
the statistics; the pg_trgm extension stays (other objects may use it, and it holds no data)."""

from django.db import migrations

# The columns searched: ProjectFilterSet.SEARCH_FIELDS, which the admin's search_fields are.
SEARCHED = ("code", "key", "name", "owner")


def _on_postgresql(schema_editor):
    return schema_editor.connection.vendor == "postgresql"


def indexes_create(apps, schema_editor):
    if not _on_postgresql(schema_editor):
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "projects_{column}_trgm" ON "projects_project" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )
    schema_editor.execute(
        'CREATE STATISTICS IF NOT EXISTS "projects_city_county" (dependencies) ON "city_id", "county_id" '
        'FROM "projects_project"'
    )
    schema_editor.execute('ANALYZE "projects_project"')  # the expressions' and the dependency's statistics


def indexes_drop(apps, schema_editor):
    if not _on_postgresql(schema_editor):
        return
    for column in SEARCHED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "projects_{column}_trgm"')
    schema_editor.execute('DROP STATISTICS IF EXISTS "projects_city_county"')


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0020_list_order_indexes"),
    ]

    operations = [
        migrations.RunPython(indexes_create, indexes_drop),
    ]
