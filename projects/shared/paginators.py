"""Pagination for lists of up to the province's 100,000 projects, and the page size and page number a
list's reader asks for (issue 26: a page-size choice and a page jump, a wrong value answered in words)."""

from collections.abc import Sequence

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from projects.domain.figures import figure_text
from projects.shared import versions

# The page sizes a list offers (?per_page=); a list's own default stays what it was.
PAGE_SIZES = (20, 50, 100)

# From this many rows in, a page's keys are found first and its rows fetched by key (see page()).
DEFERRED_JOIN_FROM = 1000


class CachedCountPaginator(Paginator):
    """A paginator that stays fast on any page of a province's projects.

    - The exact count is cached under the data versions of the user's scope (versions.cached_summary;
      without a user, the province's, which every write moves), keyed by the count's
      own SQL and parameters: counting costs more than showing a page, and people page far more often
      than the data changes. The SQL names the scope, the filters and any date they depend on, so a new
      day or another user's scope is another key. A count `by_place` (ProjectFilterSet.counts_by_place: which
      projects there are where, alone) is kept under the places' version instead, which a report does not move:
      after a county's report the province's list counted its 100,000 projects again (6 ms of SQL).
    - A deep page is a "deferred join": its 50 keys are read first, skipping the rows before it along the
      order's index alone (projects_default_order, or the sort's own index: an index-only scan), and only
      those 50 rows are then read with their joins and annotations. OFFSET over full rows would read, join
      and sort every row before the page. Both are read when the page's rows are first used, so a page
      whose rendered rows are cached reads none of them.
    """

    def __init__(self, object_list, per_page, *args, user=None, by_place=False, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.user = user  # whose scope the list is: its count is kept until that scope's data changes
        self.by_place = by_place  # its count is kept until a project comes, goes or moves

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:
            return 0
        if self.by_place:
            key = "projects:count:" + versions.places_key("count", queryset.db, sql, params)
            return versions.computed_once(key, queryset.count)
        return versions.cached_summary(("count", queryset.db, sql, params), queryset.count, user=self.user)

    def page(self, number):
        queryset = self.object_list
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if not isinstance(queryset, QuerySet) or bottom < DEFERRED_JOIN_FROM:
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(DeferredJoinRows(queryset, bottom, top), number, self)


class DeferredJoinRows(Sequence):
    """A deep page's rows, read when first used: a page whose rendered rows are cached (project_list) never
    runs its queries. Then its keys (an index-only scan along the order's index, skipping `bottom` keys),
    then those rows with their joins and annotations, by key, in the keys' order."""

    def __init__(self, queryset, bottom, top):
        self.queryset, self.bottom, self.top = queryset, bottom, top

    @cached_property
    def rows(self):
        keys = list(self.queryset.values_list("pk", flat=True)[self.bottom : self.top])
        rows = {row.pk: row for row in self.queryset.order_by().filter(pk__in=keys)}
        return [rows[key] for key in keys if key in rows]

    def __getitem__(self, index):
        return self.rows[index]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def page_size(params, default):
    """(rows per page, note): the size asked for by ?per_page= when it is one of PAGE_SIZES, else the
    list's default, with a note saying why when something else was asked for."""
    raw = params.get("per_page", "").strip()
    if not raw:
        return default, None
    if raw.isascii() and raw.isdigit() and int(raw) in PAGE_SIZES:
        return int(raw), None
    return default, _("每页条数只能是 20、50 或 100，已按每页 %(default)s 条显示。") % {"default": default}


def page_of(paginator, params):
    """(page, note): the page asked for by ?page=. A number that is not a positive whole number shows the
    first page, one past the end the last, each with a note saying so (never an error page)."""
    raw = params.get("page", "").strip()
    if not raw:
        return paginator.get_page(1), None
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        return paginator.get_page(1), _("页码“%(page)s”不是正整数，已显示第 1 页。") % {"page": raw[:20]}
    if int(raw) > paginator.num_pages:
        return paginator.get_page(paginator.num_pages), _("共 %(pages)s 页，已显示最后一页。") % {"pages": figure_text(paginator.num_pages)}
    return paginator.get_page(int(raw)), None
