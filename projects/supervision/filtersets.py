"""The supervision page's and the API's filters of 督办 items (one FilterSet for both)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from projects.domain import rules
from projects.domain.choices import SupervisionCause, SupervisionLevel, SupervisionStatus
from projects.domain.workdays import workdays_before
from projects.models import SupervisionItem
from projects.models.supervision import extension_asked_q, overdue_q
from projects.shared.filtersets import city_choices, county_choices, yes_no_all

AGE_CHOICES = [("0-5", "0–5"), ("6-10", "6–10"), ("11-20", "11–20"), ("21-", ">20")]


class SupervisionItemFilterSet(django_filters.FilterSet):
    """The supervision page's and the admin's filters: every figure on the page links to these."""

    status = django_filters.ChoiceFilter(
        label=_("状态"),
        choices=SupervisionStatus.choices,
        empty_label=_("全部"),
    )
    level = django_filters.ChoiceFilter(
        label=_("办理层级"),
        choices=SupervisionLevel.choices,
    )
    cause = django_filters.ChoiceFilter(
        label=_("督办原因"),
        choices=SupervisionCause.choices,
    )
    overdue = django_filters.BooleanFilter(
        label=_("已逾期"),
        method="filter_overdue",
        widget=yes_no_all(),
    )
    city = django_filters.ModelChoiceFilter(
        label=_("所属市"),
        field_name="project__city",
        queryset=city_choices,
    )
    county = django_filters.ModelChoiceFilter(
        label=_("所属县（市、区）"),
        field_name="project__county",
        queryset=county_choices,
    )
    extension_asked = django_filters.BooleanFilter(
        label=_("延期申请待审批"),
        method="filter_extension_asked",
        widget=yes_no_all(),
    )
    age = django_filters.ChoiceFilter(
        label=_("已督办工作日"),
        choices=AGE_CHOICES,
        method="filter_age",
    )
    project = django_filters.NumberFilter(
        label=_("项目"),
        field_name="project_id",
    )

    class Meta:
        model = SupervisionItem
        fields = []

    def filter_extension_asked(self, queryset, name, value):
        return queryset.filter(extension_asked_q()) if value else queryset.exclude(extension_asked_q())

    def filter_overdue(self, queryset, name, value):
        overdue = overdue_q(rules.today())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_age(self, queryset, name, value):
        """Open for N working days: opened between the working days N and M before today."""
        low, _dash, high = value.partition("-")
        on = rules.today()
        queryset = queryset.filter(opened_on__lte=workdays_before(on, int(low)))
        return queryset.filter(opened_on__gt=workdays_before(on, int(high) + 1)) if high else queryset
