"""One FilterSet per model: the admin's list filters, the project list page, the API and the export all
filter through these, so a URL parameter means the same thing everywhere."""

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from actions.models import Action
from projects.domain import rules
from projects.domain.access import scope_key
from projects.domain.choices import (
    InvestmentStage,
    InvestorSource,
    Light,
    ReviewStatus,
    Stage,
    Status,
)
from projects.domain.investment import REGISTERED_OR_LATER, STARTED_OR_LATER, registration_overdue_q
from projects.domain.rules import light_q, reporting_month, today
from projects.models import (
    PROJECT_ORDER,
    AnnualPlan,
    Batch,
    Cluster,
    Industry,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
)
from projects.shared import lights
from projects.shared.fields import ActionChoiceField
from projects.shared.lights import nodes_late_exists, report_status_q

REPORT_STATUS_CHOICES = ReviewStatus.choices + [("missing", _("未报（含退回）"))]

# The 招商引资 programme's catalogue code, and the filters that make a list one of its items (issue 25).
INVESTMENT_PROGRAMME = "investment-promotion"
INVESTMENT_FILTERS = ("investment_stage", "investment_reached", "investor_source", "signed_year", "signed_from", "signed_to",
                      "has_contract_amount", "registration_overdue")


def _scoped(queryset, request):
    """Choices within the requesting user's region; without a request (an operator's command) every row."""
    if request is None:
        return queryset
    user = getattr(request, "user", None)
    return queryset.visible_to(user) if user is not None else queryset.none()


def city_choices(request):
    return _scoped(Region.objects.city_level(), request)


def county_choices(request):
    return _scoped(Region.objects.counties().select_related("reporting_city"), request)


def cluster_choices(request):
    return _scoped(Cluster.objects.all(), request)


def yes_no_all():
    """A yes/no filter's choices: all (the default), yes, no — not django's "unknown"."""
    return forms.Select(choices=[("", _("全部")), ("true", _("是")), ("false", _("否"))])


class ActionChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ActionChoiceField


class ProjectOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen column, then in the list's default order (PROJECT_ORDER) among equals; a
    descending sort reverses the whole order. Each sort is then exactly one index's order, read forwards or
    backwards (projects_investment_order, projects_light_order…): a first page reads 50 index entries and a
    deep page's keys are an index-only scan, not a sort of the province's projects (issue 24). Ties keep a
    stable place between pages whatever the column."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        ordering = [str(field) for field in qs.query.order_by] if value not in EMPTY_VALUES else []
        if not ordering:
            return qs
        descending = ordering[0].startswith("-")
        named = {field.lstrip("-") for field in ordering}
        return qs.order_by(*ordering, *(f"-{field}" if descending else field for field in PROJECT_ORDER if field not in named))


class ProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("搜索"),
        method="filter_search",
    )
    programme = django_filters.ModelChoiceFilter(
        label=_("项目类别"),
        field_name="programmes",
        queryset=Programme.objects.all(),
    )
    batch = django_filters.ModelChoiceFilter(
        label=_("五个一批"),
        queryset=Batch.objects.all(),
    )
    stage = django_filters.ChoiceFilter(
        label=_("建设阶段"),
        choices=Stage.choices,
    )
    status = django_filters.ChoiceFilter(
        label=_("推进状态"),
        choices=Status.choices,
    )
    city = django_filters.ModelChoiceFilter(
        label=_("所属市"),
        queryset=city_choices,
    )
    county = django_filters.ModelChoiceFilter(
        label=_("所属县（市、区）"),
        queryset=county_choices,
    )
    cluster = django_filters.ModelChoiceFilter(
        label=_("县域特色产业集群"),
        queryset=cluster_choices,
    )
    action = ActionChoiceFilter(
        label=_("专项行动"),
        field_name="actions",
        queryset=Action.objects.select_related("plan"),
    )
    industry = django_filters.ModelChoiceFilter(
        label=_("所属产业"),
        queryset=Industry.objects.all(),
        method="filter_industry",
    )
    light = django_filters.ChoiceFilter(
        label=_("红黄绿灯"),
        choices=Light.choices,
        method="filter_light",
    )
    year = django_filters.NumberFilter(
        label=_("年度"),
        method="filter_year",
        min_value=2000,
        max_value=2100,
        help_text=_("显示该年度的计划、完成和红黄绿灯；不筛除项目"),
    )
    no_county = django_filters.BooleanFilter(
        label=_("本级项目（无所属县）"),
        field_name="county",
        lookup_expr="isnull",
        widget=yes_no_all(),
    )
    has_plan = django_filters.BooleanFilter(
        label=_("有该年度计划"),
        method="filter_has_plan",
        widget=yes_no_all(),
    )
    reported_month = django_filters.CharFilter(
        label=_("有月报的月份"),
        method="filter_reported_month",
        help_text=_("YYYY-MM：该月有月度调度的项目"),
    )
    started_month = django_filters.CharFilter(
        label=_("开工月份"),
        method="filter_started_month",
        help_text=_("YYYY-MM：实际开工日期在该月的项目"),
    )
    report_status = django_filters.ChoiceFilter(
        label=_("月度调度"),
        choices=REPORT_STATUS_CHOICES,
        method="filter_report_status",
        help_text=_("该月（“调度月份”，默认上月）月报的状态"),
    )
    report_month = django_filters.CharFilter(
        label=_("月报状态所属月份"),
        method="filter_report_month",
        help_text=_("YYYY-MM，与“月度调度”一起使用"),
    )
    nodes_late = django_filters.BooleanFilter(
        label=_("项目节点滞后"),
        method="filter_nodes_late",
        widget=yes_no_all(),
        help_text=_("有节点过了计划日期仍未完成"),
    )
    contracted = django_filters.BooleanFilter(
        label=_("我包联的项目"),
        method="filter_contracted",
        widget=yes_no_all(),
    )
    investment_min = django_filters.NumberFilter(
        label=_("总投资不低于（万元）"),
        field_name="total_investment",
        lookup_expr="gte",
    )
    investment_max = django_filters.NumberFilter(
        label=_("总投资不高于（万元）"),
        field_name="total_investment",
        lookup_expr="lte",
    )
    # The investment-promotion lifecycle (招商引资, issue 25).
    investment_stage = django_filters.ChoiceFilter(
        label=_("招商阶段"),
        choices=InvestmentStage.choices,
    )
    investment_reached = django_filters.ChoiceFilter(
        label=_("招商进展"),
        choices=[(InvestmentStage.REGISTERED.value, _("已注册（含开工、投产）")),
                 (InvestmentStage.STARTED.value, _("已开工（含投产）"))],
        method="filter_investment_reached",
        help_text=_("签约项目履约（已注册）或开工的，含其后阶段：招商引资卡片的履约率、开工率所数。"),
    )
    investor_source = django_filters.ChoiceFilter(
        label=_("投资方来源"),
        choices=InvestorSource.choices,
    )
    signed_year = django_filters.NumberFilter(
        label=_("签约年度"),
        field_name="signed_on",
        lookup_expr="year",
        min_value=2000,
        max_value=2100,
    )
    signed_from = django_filters.DateFilter(
        label=_("签约时间起"),
        field_name="signed_on",
        lookup_expr="gte",
        help_text=_("YYYY-MM-DD"),
    )
    signed_to = django_filters.DateFilter(
        label=_("签约时间止"),
        field_name="signed_on",
        lookup_expr="lte",
        help_text=_("YYYY-MM-DD"),
    )
    has_contract_amount = django_filters.BooleanFilter(
        label=_("有协议投资额"),
        method="filter_has_contract_amount",
        widget=yes_no_all(),
    )
    registration_overdue = django_filters.BooleanFilter(
        label=_("签约逾期未注册"),
        method="filter_registration_overdue",
        widget=yes_no_all(),
        help_text=_("签约超过规定月数仍未注册（且未开工、投产或终止）"),
    )

    sort = ProjectOrderingFilter(
        label=_("排序"),
        fields=(
            ("code", "code"),
            ("name", "name"),
            ("city_code", "city"),
            ("county_code", "county"),
            ("stage", "stage"),
            ("total_investment", "total_investment"),
            ("plan_investment", "plan"),
            ("completed_year", "completed"),
            ("completion_rate", "rate"),
            ("light_reason", "light"),
        ),
    )

    # Fields searched by the text box here and by the admin's search box.
    SEARCH_FIELDS = ("code", "key", "name", "owner", "investor")
    # What selects by a project's place alone, or only shows or orders the rows (counts_by_place), and the search, which
    # reads columns that move the places' version too (PLACING_FIELDS); the sorts by a project's own columns, not its
    # figures.
    PLACE_FILTERS = ("city", "county", "no_county", "year", "sort", "q")
    PLACE_SORTS = ("code", "name", "city", "county", "stage", "total_investment")

    class Meta:
        model = Project
        fields = []

    @classmethod
    def selected_year(cls, data):
        """The year whose plan, completion and light are shown: ?year=, else the current year."""
        try:
            year = int(data.get("year") or 0)
        except (TypeError, ValueError):
            year = 0
        return year if 2000 <= year <= 2100 else today().year

    def filter_queryset(self, queryset):
        # The light, completion and plan of the selected year are annotations; add them once.
        if "light_reason" not in queryset.query.annotations:
            queryset = lights.annotate_progress(queryset, year=self.selected_year(self.data), on=today())
        return super().filter_queryset(queryset)

    def filter_search(self, queryset, name, value):
        terms = Q()
        for field in self.SEARCH_FIELDS:
            terms |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(terms)

    def filter_industry(self, queryset, name, value):
        # A group (传统优势产业) selects its industries too.
        return queryset.filter(Q(industry=value) | Q(industry__parent=value))

    def filter_light(self, queryset, name, value):
        return queryset.filter(light_q(value))

    def filter_investment_reached(self, queryset, name, value):
        reached = REGISTERED_OR_LATER if value == InvestmentStage.REGISTERED else STARTED_OR_LATER
        return queryset.filter(investment_stage__in=reached)

    def filter_has_contract_amount(self, queryset, name, value):
        has = Q(contract_amount__gt=0)
        return queryset.filter(has) if value else queryset.exclude(has)

    def filter_registration_overdue(self, queryset, name, value):
        overdue = registration_overdue_q(rules.today())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def counts_by_place(self, *, ordered=False, lights=False):
        """Whether this valid FilterSet's rows are which projects there are where, alone (their count is then kept under
        versions.places_key, which a report leaves): the province's or a region's scope (not a leader's 包联 projects,
        project_scope_q), no filter but PLACE_FILTERS; `ordered`: and their order too, no sort but PLACE_SORTS;
        `lights`: by the projects' lights too (the light filter and sort)."""
        scope, data = scope_key(self.request.user) if self.request is not None else "none", self.form.cleaned_data
        by_light = ("light",) if lights else ()
        filters, sorts = self.PLACE_FILTERS + by_light, self.PLACE_SORTS + by_light
        return (scope == "all" or scope.startswith("region-")) and all(
            value in EMPTY_VALUES for name, value in data.items() if name not in filters) and not (
            ordered and any(sort.lstrip("-") not in sorts for sort in data.get("sort") or ()))

    def chosen_by_place(self, queryset, *, ordered=False):
        """Whether the rows of `queryset` (this valid FilterSet's) are chosen by place alone (counts_by_place), or by
        place and the stored lights they show (a light filter or sort): a page of them is kept under their rows'
        versions (kept_pages). `ordered`: their order too."""
        data = self.form.cleaned_data
        by_light = bool(data.get("light")) or any(sort.lstrip("-") == "light" for sort in data.get("sort") or ())
        return self.counts_by_place(ordered=ordered, lights=by_light) and (
            not by_light or lights.reads_stored_lights(queryset))

    def is_investment_list(self):
        """Whether the list is one of 招商引资 items (its columns are shown): filtered to the programme or by
        any of the lifecycle's filters."""
        data = self.data
        if any(data.get(key) not in (None, "") for key in INVESTMENT_FILTERS):
            return True
        programme = self.form.cleaned_data.get("programme") if hasattr(self.form, "cleaned_data") else None
        return programme is not None and programme.code == INVESTMENT_PROGRAMME

    def filter_nodes_late(self, queryset, name, value):
        late = nodes_late_exists(rules.today())
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_contracted(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        mine = Q(contracting_leader_id=user.pk if user is not None else None)
        return queryset.filter(mine) if value else queryset.exclude(mine)

    def filter_reported_month(self, queryset, name, value):
        try:
            month = datetime.date.fromisoformat(f"{value.strip()}-01")
        except ValueError:
            return queryset.none()
        # Reports that count, like the dashboard's monthly trend that links here: a returned one is not reported.
        return queryset.filter(pk__in=MonthlyReport.objects.counted().filter(month=month).values("project_id"))

    def filter_started_month(self, queryset, name, value):
        try:
            month = datetime.date.fromisoformat(f"{value.strip()}-01")
        except ValueError:
            return queryset.none()
        return queryset.filter(actual_start__gte=month, actual_start__lt=rules.add_months(month, 1))

    def chosen_report_month(self):
        """?report_month=YYYY-MM, else the month being reported now."""
        try:
            return datetime.date.fromisoformat(f"{(self.data.get('report_month') or '').strip()}-01")
        except ValueError:
            return reporting_month(today())

    def filter_report_status(self, queryset, name, value):
        return queryset.filter(report_status_q(value, self.chosen_report_month()))

    def filter_report_month(self, queryset, name, value):
        return queryset  # read by filter_report_status

    def filter_year(self, queryset, name, value):
        # The year chooses whose plan, completion and light are shown (filter_queryset annotates them for
        # selected_year); it does not hide a project without a plan that year: has_plan does.
        return queryset

    def filter_has_plan(self, queryset, name, value):
        # The year's plan is joined by lights.annotate_progress(): a plan row exists exactly when its (required)
        # planned investment is not null.
        return queryset.filter(plan_investment__isnull=not value)


# --- A project's plans, reports and problems (the API's lists) ----------------------------------------------


class ProjectChildFilterSet(django_filters.FilterSet):
    """By project id: a number, never a list of projects to choose from (which would show the caller every
    project's name), and another region's id finds nothing exactly as a missing one does."""

    project = django_filters.NumberFilter(label=_("项目"), field_name="project_id", min_value=1, max_value=2**63 - 1)


class AnnualPlanFilterSet(ProjectChildFilterSet):
    year = django_filters.NumberFilter(label=_("年度"), min_value=1900, max_value=2200)  # a small integer column

    class Meta:
        model = AnnualPlan
        fields = ["project", "year"]


class MonthlyReportFilterSet(ProjectChildFilterSet):
    month = django_filters.DateFilter(help_text="YYYY-MM-01")

    class Meta:
        model = MonthlyReport
        fields = ["project", "month", "review_status"]


class ProblemFilterSet(ProjectChildFilterSet):
    class Meta:
        model = Problem
        fields = ["project", "status", "category"]

