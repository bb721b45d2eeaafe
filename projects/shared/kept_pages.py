"""A page kept under what it shows (issue 24). A list's page is kept under the versions of the user's scope, which any
write in the scope moves: after a report anywhere in the province, every page of the province's list was drawn anew
(its queries, its FilterSet, its rows: 15 ms of a cold page at 100,000 projects). A page whose rows are chosen and
ordered by place alone (ProjectFilterSet.counts_by_place(ordered=True)) shows which projects there are where, which
the places' version keeps (a report leaves it), and what those rows are, which their own versions keep: it is kept
under those, and a write to any other project leaves it warm. One filtered or sorted by light too, while the stored
lights are read, is kept under their version besides (a report that turns no light leaves it)."""

from django.core.cache import cache

from projects.domain.access import scope_key
from projects.shared import versions


def kept_page(parts, render, *, user, lights=None, timeout=versions.SUMMARY_CACHE_SECONDS):
    """(html, status) of a page: render() gives (html, status, shown), `shown` the ids of the rows it shows when they
    are chosen by place alone (with `lights`, light_place's, by place and stored light), else None; only a page
    answered 200 is kept. Kept under `parts` and the versions of `user`'s scope (versions.versioned_key: one cache read
    while nothing in the scope is written), and once which rows it shows is known (kept under the places' version, the
    stored lights' of `lights`, and `parts`) under those rows' versions too (versions.rows_key, read before the page is
    drawn, so that what a write commits later is another key): after a write elsewhere in the scope it is found there.
    Drawn once however many ask at once while cold (versions.computed_once); kept `timeout` seconds."""
    scope_before = versions.scope_version(user)
    in_scope = "projects:page:" + versions.versioned_key(*parts, user=user)
    html = cache.get(in_scope)
    if html is not None:
        return html, 200
    # Named by the reader's scope, whatever `parts` name: who may see which rows is the scope's (access.project_scope_q),
    # and a reader moved to another region reads none of what their former scope kept.
    shown_key = "projects:page-rows:" + versions.places_key("page-rows", scope_key(user), *parts, lights=lights)
    shown = cache.get(shown_key)
    by_rows = None if shown is None else "projects:page:" + versions.rows_key(shown_key, projects=shown)
    drawn = {}

    def draw():
        html, drawn["status"], drawn["shown"] = render()
        return html

    def keep(_html):
        # A page drawn showing other rows than those it is keyed by (a project came or went meanwhile) is not kept.
        return drawn["status"] == 200 and (shown is None or drawn["shown"] == shown)

    html = versions.computed_once(by_rows or in_scope, draw, keep=keep, timeout=timeout)
    if drawn and not keep(html):
        return html, drawn["status"]
    if by_rows:
        cache.set(in_scope, html, timeout)
    elif drawn.get("shown") is not None and versions.scope_version(user, now=True) == scope_before:
        # Drawn while nothing in the scope was written (every write moves it at once): current at its rows' versions
        # read now, so kept under them too, and which rows it shows remembered.
        cache.set(shown_key, drawn["shown"], timeout)
        by_rows = "projects:page:" + versions.rows_key(shown_key, projects=drawn["shown"])
        cache.set(by_rows, html, timeout)
    return html, 200


def light_place(user, params):
    """For a list filtered or sorted by light (`params`, as asked), the place whose stored lights choose its rows
    (kept_page's `lights`): its county or city filter, else `user`'s scope's region, else the province; else None."""
    if not (params.get("light") or params.get("sort", "").lstrip("-") == "light"):
        return None
    for name in ("county", "city"):
        if str(params.get(name, "")).isdigit():
            return int(params[name])
    scope = scope_key(user)
    return int(scope.removeprefix("region-")) if scope.startswith("region-") else "province"
