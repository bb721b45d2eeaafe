"""Pagination for lists of up to the province's 100,000 projects."""

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from projects.shared import versions

# From this many rows in, a page's keys are found first and its rows fetched by key (see page()).
DEFERRED_JOIN_FROM = 1000


class CachedCountPaginator(Paginator):
    """A paginator that stays fast on any page of a province's projects.

    - The exact count is cached under the data version (versions.cached_summary), keyed by the count's
      own SQL and parameters: counting costs more than showing a page, and people page far more often
      than the data changes. The SQL names the scope, the filters and any date they depend on, so a new
      day or another user's scope is another key.
    - A deep page is a "deferred join": its 50 keys are read first, skipping the rows before it along the
      order's index alone (projects_default_order: an index-only scan), and only those 50 rows are then
      read with their joins and annotations. OFFSET over full rows would read, join and sort every row
      before the page.
    """

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:
            return 0
        return versions.cached_summary(("count", queryset.db, sql, params), queryset.count)

    def page(self, number):
        queryset = self.object_list
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if not isinstance(queryset, QuerySet) or bottom < DEFERRED_JOIN_FROM:
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(queryset.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in queryset.order_by().filter(pk__in=keys)}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)
