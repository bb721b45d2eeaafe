"""Writing and removing many rows fast, for seeding (reference/demo.py): plain tuples inserted with COPY on
PostgreSQL (one executemany elsewhere), and a cascading delete issued as one statement per table. Neither
sends save or delete signals nor writes history: for data whose history is worth nothing."""

import json

from django.apps import apps
from django.db import connections, models, router
from django.db.models.deletion import get_candidate_relations_to_delete


def cascade_of(model, path=()):
    """The relations that point at `model`, recursively, as [(field, on_delete, nested)], or None when one
    of them does anything but cascade, set null or nothing, or cascades in a circle."""
    if model in path:
        return None
    relations = []
    for relation in get_candidate_relations_to_delete(model._meta):
        on_delete = relation.on_delete
        if on_delete is models.CASCADE:
            nested = cascade_of(relation.related_model, (*path, model))
            if nested is None:
                return None
            relations.append((relation.field, on_delete, nested))
        elif on_delete in (models.SET_NULL, models.DO_NOTHING):
            relations.append((relation.field, on_delete, []))
        else:
            return None
    return relations


def cascade_delete(model, queryset, cascade):
    """Delete `queryset`'s rows and, first, the rows that cascade from them, one statement per table."""
    for field, on_delete, nested in cascade:
        related = field.model._base_manager.filter(**{f"{field.name}__in": queryset})
        if on_delete is models.CASCADE:
            cascade_delete(field.model, related, nested)
        elif on_delete is models.SET_NULL:
            related.update(**{field.name: None})
    queryset._raw_delete(queryset.db)


def analyze(models):
    """Bring the planner's statistics of `models`' tables up to date after a bulk load (PostgreSQL only; other
    databases keep none worth the trouble). Autovacuum would get there in its own time; until then the planner
    takes a freshly filled table for the few rows it had (a 100,000-project demo: 464 annual plans estimated
    instead of 87,000, a province digest sorting on disk, twice as slow)."""
    by_database = {}
    for model in models:
        by_database.setdefault(router.db_for_write(model), []).append(model._meta.db_table)
    for alias, tables in by_database.items():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(quote(table) for table in dict.fromkeys(tables))}")


def historical_models():
    return [model for model in apps.get_models() if getattr(model, "instance_type", None) is not None
            and hasattr(model, "history_id")]


def first_history_write(model, queryset, *, date_sql, reason):
    """One creation record ("+", by no user) in `model`'s django-simple-history table for each row of
    `queryset`, copied from the row in one INSERT ... SELECT; `date_sql` gives its history_date (a column
    of the row, or a subquery). Rows written past the ORM (FastTable) get none from save()."""
    historical = model.history.model
    connection = connections[router.db_for_write(historical)]
    quote = connection.ops.quote_name
    copied = [field.column for field in historical._meta.concrete_fields if not field.name.startswith("history_")]
    history = ("history_date", "history_change_reason", "history_type", "history_user_id")
    keys, params = queryset.order_by().values("pk").query.sql_with_params()
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(historical._meta.db_table)} ({', '.join(quote(c) for c in [*copied, *history])}) "
            f"SELECT {', '.join(f'{table}.{quote(c)}' for c in copied)}, {date_sql}, %s, '+', NULL "
            f"FROM {table} WHERE {table}.{quote(model._meta.pk.column)} IN ({keys})",
            [reason, *params],
        )


class FastTable:
    """Inserts rows of one model fast: plain tuples of the `columns` (attribute names), the other columns
    taking the field's default as Model() would (auto_now fields: `now`); COPY on PostgreSQL, one executemany
    elsewhere. No save signals, no history: like bulk_create, at a fraction of its cost per row."""

    def __init__(self, model, columns, now):
        self.connection = connections[router.db_for_write(model)]
        insertable = [field for field in model._meta.concrete_fields if not getattr(field, "generated", False)]
        by_attname = {field.attname: field for field in insertable}
        self.fields = [by_attname[column] for column in columns]
        rest = [field for field in insertable if field.attname not in columns and not field.primary_key]
        self.fields += rest
        self.tail = tuple(self._default(field, now) for field in rest)
        quote = self.connection.ops.quote_name
        self.columns = ", ".join(quote(field.column) for field in self.fields)
        self.table = quote(model._meta.db_table)

    def _default(self, field, now):
        value = now if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) else field.get_default()
        if isinstance(field, models.JSONField):  # as text, not wrapped to be encoded again for every row
            return json.dumps(value, cls=field.encoder)
        return field.get_db_prep_save(value, self.connection)

    def write(self, rows):
        with self.connection.cursor() as cursor:
            raw = cursor.cursor
            if self.connection.vendor == "postgresql" and hasattr(raw, "copy"):  # psycopg 3
                tail = self.tail
                with raw.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row + tail)
                return
            given = self.fields[: len(self.fields) - len(self.tail)]
            prepared = [
                tuple(field.get_db_prep_save(value, self.connection) for field, value in zip(given, row)) + self.tail
                for row in rows
            ]
            if prepared:
                placeholders = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({placeholders})", prepared)
