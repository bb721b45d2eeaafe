"""The audit trail's one FilterSet: the admin's list filters and its export go through it."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import AuditEvent, User

PERIODS = [("1", _("今天")), ("7", _("近 7 天")), ("30", _("近 30 天")), ("180", _("近 180 天"))]


class AuditEventFilterSet(django_filters.FilterSet):
    """Events by code, acting account, login name, address and time (a period back from today, or dates)."""

    code = django_filters.ChoiceFilter(label=_("事件"), choices=AuditEvent.Code.choices)
    actor = django_filters.ModelChoiceFilter(
        label=_("操作账号"),
        # Only accounts that acted: the list stays short, and offers no one the trail does not name.
        queryset=lambda request: User.objects.filter(pk__in=AuditEvent.objects.filter(actor__isnull=False).values("actor"))
        .order_by("username"),
    )
    username = django_filters.CharFilter(label=_("用户名"), lookup_expr="iexact")
    ip_address = django_filters.CharFilter(label=_("IP 地址"))
    period = django_filters.ChoiceFilter(label=_("时间"), choices=PERIODS, method="filter_period")
    date_from = django_filters.DateFilter(label=_("起始日期"), field_name="at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(label=_("截止日期"), field_name="at", lookup_expr="date__lte")

    class Meta:
        model = AuditEvent
        fields = ["code", "actor", "username", "ip_address", "period", "date_from", "date_to"]

    def filter_period(self, queryset, name, value):
        first_day = timezone.localdate() - datetime.timedelta(days=int(value) - 1)
        return queryset.filter(at__date__gte=first_day)
