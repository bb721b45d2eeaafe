"""Rows kept under what they show (issue 24): after a write a list is read anew, but most of its rows are what they
were. A row rendered (a page's table row, an API row) is kept under its content — every value read of it — with the
epoch (the names of its regions and catalogues, the calendar), so a changed row makes another key and nothing moves
what an unchanged row shows."""

import hashlib

from django.core.cache import cache
from django.utils import translation

from projects.domain import rules
from projects.shared import versions


def row_content(instance):
    """Every value a row may show of `instance`: its fields and annotations as read (their names are the same for every
    row of a page), its related rows by id, lists of them (given by the view) by their ids."""
    return [[getattr(item, "pk", item) for item in value] if isinstance(value, list) else value
            for name, value in vars(instance).items() if name[0] != "_"]


def kept_rows(name, rows, render):
    """[render(row)] for `rows`, each kept under `name` (what renders it), its row_content, the epoch, the day and the
    language: only the rows not kept are rendered. The whole list is kept too, under its rows' keys in order: a page
    none of whose rows changed is one cache read, not one a row (1,000 of them: 20 ms of a cold API page)."""
    context = (name, versions.data_version(), rules.today(), translation.get_language())
    keys = ["projects:row:" + hashlib.sha256(repr((*context, row_content(row))).encode()).hexdigest() for row in rows]
    whole = "projects:row-list:" + hashlib.sha256(repr(keys).encode()).hexdigest()
    rendered = cache.get(whole)
    if rendered is not None:
        return rendered
    found = cache.get_many(keys)
    made = {key: render(row) for key, row in zip(keys, rows) if key not in found}
    if made:
        cache.set_many(made, timeout=versions.SUMMARY_CACHE_SECONDS)
        found.update(made)
    rendered = [found[key] for key in keys]
    cache.set(whole, rendered, timeout=versions.SUMMARY_CACHE_SECONDS)
    return rendered
