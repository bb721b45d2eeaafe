"""The API's views: thin over the visibility rule (`visible_to`), ProjectFilterSet, the summaries and the
reporting service that the pages use. Another region's object answers 404, exactly as a missing one."""

from collections.abc import Mapping

from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from actions.models import ActionPlan
from projects.api import project_pages
from projects.api import serializers as api
from projects.api.permissions import ReadOnlyAuthenticated
from projects.dispatch import reports
from projects.domain import rules
from projects.domain.figures import SUM_DIGITS
from projects.models import (
    AnnualPlan,
    Batch,
    Cluster,
    Industry,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
    SupervisionItem,
    SupervisionStep,
)
from projects.shared import forecast, summaries, trends
from projects.shared.filtersets import (
    AnnualPlanFilterSet,
    MonthlyReportFilterSet,
    ProblemFilterSet,
    ProjectFilterSet,
)
from projects.shared.kept_pages import light_place
from projects.shared.scopes import action_plans, active_params, scope_filterset
from projects.supervision.filtersets import SupervisionItemFilterSet


class Conflict(APIException):
    """The object changed since the caller read it (or is locked): nothing was written."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class StablePages(CursorPagination):
    """Pages that stay right while rows are added: a cursor on the id, not an offset."""

    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request):
        """DRF checks a cursor's shape but not its position: a position that is no id (typed or tampered)
        answers 400 naming the parameter, not a database error."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = str(cursor.position)
            if not position.isdigit() or int(position) > 2**63 - 1:
                raise ValidationError({self.cursor_query_param: [_("分页游标无效。")]})
        return cursor


class FilterSetKept(DjangoFilterBackend):
    """django-filter's backend, keeping the FilterSet it built on the view (view.filterset): the project list asks it
    whether a page's rows are chosen by place alone (kept_pages)."""

    def get_filterset(self, request, queryset, view):
        view.filterset = super().get_filterset(request, queryset, view)
        return view.filterset


class SmallPages(StablePages):
    page_size = 50


def _user(request):
    return request.user


# --- Projects ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="项目清单", description="与项目清单页面、导出相同的筛选参数（ProjectFilterSet）；按 id 游标分页。"),
    retrieve=extend_schema(summary="项目详情", description="含各年度计划与最近一期月度调度。"),
)
class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Project.objects.none()
    # The list page's filters by the same names. Without `year`, the current year's plan, completion and
    # light are shown for every project; with it, as on the page, only projects with a plan that year.
    filterset_class = ProjectFilterSet
    filter_backends = [FilterSetKept]
    pagination_class = StablePages

    def get_queryset(self):
        queryset = Project.objects.visible_to(_user(self.request)).select_related("city", "county", "batch", "industry")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(Prefetch("plans", queryset=AnnualPlan.objects.order_by("-year")))
        elif self.action == "list":
            queryset = queryset.defer(*api.ProjectSerializer.not_shown())
        return queryset

    def get_serializer_class(self):
        return api.ProjectDetailSerializer if self.action == "retrieve" else api.ProjectSerializer

    # The serializer reads each project's programmes and actions from lists given here (programme_list, action_list).
    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None and self.filterset.is_valid() and self.filterset.chosen_by_place(queryset):
            self.shown = [project.pk for project in page]  # ordered by id: chosen by place (and light) alone
        return page if page is None else project_pages.with_catalogue_lists(page)

    def list(self, request, *args, **kwargs):
        """A page as serialised for this caller, kept: serialising 1,000 rows costs many times reading them (issue 24),
        and machines ask for the same pages again."""
        return project_pages.kept(
            self, request, "api-projects", lambda: super(ProjectViewSet, self).list(request, *args, **kwargs),
            shown=lambda: getattr(self, "shown", None), lights=light_place(request.user, request.query_params))

    def retrieve(self, request, *args, **kwargs):
        """One project as serialised for this caller, kept as a page of the list is (machines poll a project): under its
        own row's version, which a report on another project leaves."""
        return project_pages.kept(self, request, ("api-project", kwargs.get("pk")),
                                  lambda: super(ProjectViewSet, self).retrieve(request, *args, **kwargs),
                                  shown=lambda: [self.shown_project])

    def get_object(self):
        project = project_pages.with_catalogue_lists([super().get_object()])[0]
        self.shown_project = project.pk
        return project


class AnnualPlanViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AnnualPlan.objects.none()
    serializer_class = api.AnnualPlanSerializer
    pagination_class = StablePages
    filterset_class = AnnualPlanFilterSet

    def get_queryset(self):
        return AnnualPlan.objects.visible_to(_user(self.request))


# --- Monthly reports ---------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="报送月度调度",
        description="与月度调度页面同一服务：只写有改动的数据；version 与当前不符返回 409；已审核（锁定）返回 409；"
                    "数据校验提示需以新的 note（说明）或 confirmed_warnings（所确认提示的 key）确认，否则返回 400 并列出提示；"
                    "只能填报已结束的月份。",
        request=api.MonthlyReportWriteSerializer,
        responses={200: api.MonthlyReportSerializer, 201: api.MonthlyReportSerializer},
    ),
    update=extend_schema(request=api.MonthlyReportWriteSerializer, responses=api.MonthlyReportSerializer),
    partial_update=extend_schema(request=api.MonthlyReportWriteSerializer, responses=api.MonthlyReportSerializer),
)
class MonthlyReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = MonthlyReport.objects.none()
    serializer_class = api.MonthlyReportSerializer
    pagination_class = StablePages
    filterset_class = MonthlyReportFilterSet

    def get_queryset(self):
        return MonthlyReport.objects.visible_to(_user(self.request)).select_related("reported_by", "reviewed_by")

    def get_serializer(self, *args, **kwargs):
        if self.request is not None and self.request.method in ("POST", "PUT", "PATCH"):
            # What a writer sends (also the browsable API's form): only the caller's own projects to choose.
            kwargs.setdefault("context", self.get_serializer_context())
            return api.MonthlyReportWriteSerializer(*args, user=self.request.user, **kwargs)
        return super().get_serializer(*args, **kwargs)

    def create(self, request, *args, **kwargs):
        return self._submit(request, report=None)

    def update(self, request, *args, **kwargs):
        return self._submit(request, report=self.get_object(), partial=kwargs.get("partial", False))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _submit(self, request, *, report, partial=False):
        if not isinstance(request.data, Mapping):
            raise ValidationError({"non_field_errors": [_("请求体应为 JSON 对象。")]})
        data = {key: request.data[key] for key in request.data}
        if report is not None:
            data.update({"project": report.project_id, "month": report.month.isoformat()})
            if partial:
                for key in ("completed_investment", "image_progress", "note"):
                    data.setdefault(key, getattr(report, key))
        writer = api.MonthlyReportWriteSerializer(data=data, user=request.user)
        writer.is_valid(raise_exception=True)
        values = writer.validated_data
        entry = reports.ReportEntry(
            project=values["project"], month=values["month"], completed_investment=values["completed_investment"],
            image_progress=values["image_progress"], problem=values["problem"], note=values["note"],
            expected_version=values["version"],
            confirmed=frozenset(values["confirmed_warnings"]),
            funds_in_place=values.get("funds_in_place", reports.KEEP),
        )
        [outcome] = reports.reports_submit(user=request.user, entries=[entry])
        if outcome.status == reports.EntryStatus.NEEDS_NOTE:
            raise ValidationError({
                "note": [outcome.message],
                "warnings": [warning.as_api() for warning in outcome.warnings],
            })
        if outcome.status == reports.EntryStatus.REFUSED:
            if outcome.code in ("stale", "locked"):
                raise Conflict({"detail": outcome.message, "code": outcome.code})
            raise ValidationError({"project" if outcome.code == "forbidden" else "month": [outcome.message]})
        saved = MonthlyReport.objects.select_related("reported_by", "reviewed_by").get(
            project=entry.project, month=entry.month
        ) if outcome.status != reports.EntryStatus.UNCHANGED or outcome.report else None
        body = {**api.MonthlyReportSerializer(saved).data, "outcome": outcome.status,
                "check_warnings": [warning.as_api() for warning in outcome.warnings]}
        created = outcome.status == reports.EntryStatus.CREATED
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Problems ----------------------------------------------------------------------------------------


@extend_schema_view(
    update=extend_schema(description="须带 expected_version（读取时的 version），与当前不符返回 409。"),
    partial_update=extend_schema(description="须带 expected_version（读取时的 version），与当前不符返回 409。"),
    destroy=extend_schema(parameters=[OpenApiParameter("version", OpenApiTypes.STR, required=True,
                                                       description="读取时的 version")]),
)
class ProblemViewSet(viewsets.ModelViewSet):
    queryset = Problem.objects.none()
    serializer_class = api.ProblemSerializer
    pagination_class = StablePages
    filterset_class = ProblemFilterSet

    def get_queryset(self):
        return Problem.objects.visible_to(_user(self.request))

    def get_serializer(self, *args, **kwargs):
        return api.ProblemSerializer(*args, user=self.request.user, **kwargs)

    def get_object(self):
        problem = super().get_object()
        if self.request.method not in ("GET", "HEAD", "OPTIONS") and not Project.objects.editable_by(
            self.request.user
        ).filter(pk=problem.project_id).exists():
            raise NotFound
        return problem

    def _check_version(self, problem, expected):
        if not expected:
            raise ValidationError({"expected_version": [_("修改或删除问题时必须带上读取时的 version。")]})
        if expected != api.problem_version(problem):
            raise Conflict({"detail": _("该问题已被他人修改，您的修改未保存。请重新读取后再修改。"),
                            "version": api.problem_version(problem), "code": "stale"})

    def perform_update(self, serializer):
        self._check_version(serializer.instance, self.request.data.get("expected_version"))
        serializer.save()

    def perform_destroy(self, instance):
        self._check_version(instance, self.request.query_params.get("version"))
        instance.delete()


# --- Catalogues --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="督办事项", description="与督办页面相同的筛选参数（SupervisionItemFilterSet）；默认全部状态；按 id 游标分页。"),
    retrieve=extend_schema(summary="督办事项详情", description="含督办过程（督办、办理情况、升级、办结）。"),
)
class SupervisionItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Read-only: items are opened, answered and closed on the supervision pages, by the acting level."""

    queryset = SupervisionItem.objects.none()
    serializer_class = api.SupervisionItemSerializer
    pagination_class = StablePages
    filterset_class = SupervisionItemFilterSet

    def get_queryset(self):
        steps = Prefetch("steps", queryset=SupervisionStep.objects.select_related("user"))
        return SupervisionItem.objects.visible_to(_user(self.request)).prefetch_related(steps)


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Region.objects.none()
    serializer_class = api.RegionSerializer
    pagination_class = SmallPages
    filterset_fields = ["level", "is_reporting_unit"]

    def get_queryset(self):
        return Region.objects.visible_to(_user(self.request)).select_related("parent", "reporting_city")


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Programme.objects.all()
    serializer_class = api.ProgrammeSerializer
    pagination_class = SmallPages


class BatchViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Batch.objects.all()
    serializer_class = api.BatchSerializer
    pagination_class = SmallPages


class IndustryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Industry.objects.all()
    serializer_class = api.IndustrySerializer
    pagination_class = SmallPages


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.none()
    serializer_class = api.ClusterSerializer
    pagination_class = SmallPages

    def get_queryset(self):
        return Cluster.objects.visible_to(_user(self.request)).select_related("county", "industry")


class ActionPlanViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ActionPlan.objects.prefetch_related("actions__measures", "actions__targets")
    serializer_class = api.ActionPlanSerializer
    pagination_class = SmallPages


# --- Dashboard ---------------------------------------------------------------------------------------

MEASURE_KEYS = ("count", "total_investment", "plan", "completed", "rate", "red", "yellow", "green", "none")


def _measures(**extra):
    """Fresh fields each time (a serializer class takes its fields out of the dict it is given)."""
    money = {"max_digits": SUM_DIGITS, "decimal_places": 2, "allow_null": True}
    return {
        "count": serializers.IntegerField(),
        "total_investment": serializers.DecimalField(**money),
        "plan": serializers.DecimalField(**money),
        "completed": serializers.DecimalField(**money),
        "rate": serializers.DecimalField(**money),
        **{light: serializers.IntegerField() for light in ("red", "yellow", "green", "none")},
        **extra,
    }


def _investment_measures(**extra):
    """The 招商引资 card's figures of one row (shared.investment.investment_card)."""
    money = {"max_digits": SUM_DIGITS, "decimal_places": 2}
    rate = {"max_digits": SUM_DIGITS, "decimal_places": 2, "allow_null": True}
    return {
        **{key: serializers.IntegerField() for key in ("signed", "registered", "started", "in_production", "terminated")},
        "contract": serializers.DecimalField(**money),
        "funds": serializers.DecimalField(**money),
        **{key: serializers.DecimalField(**rate) for key in ("registered_rate", "started_rate", "funds_rate")},
        **extra,
    }


DashboardSerializer = inline_serializer(name="Dashboard", fields={
    "year": serializers.IntegerField(),
    "time_progress": serializers.DecimalField(max_digits=8, decimal_places=2),
    "totals": inline_serializer(name="DashboardTotals", fields=_measures()),
    "areas": inline_serializer(name="DashboardArea", many=True, fields=_measures(
        key=serializers.IntegerField(allow_null=True), label=serializers.CharField())),
    "actions": inline_serializer(name="DashboardAction", many=True, fields=_measures(
        key=serializers.IntegerField(), label=serializers.CharField())),
    "programmes": inline_serializer(name="DashboardProgramme", many=True, fields=_measures(
        key=serializers.IntegerField(allow_null=True), label=serializers.CharField(allow_null=True))),
    "report_cycle": inline_serializer(name="ReportCycle", fields={
        "month": serializers.DateField(),
        "submitted": serializers.IntegerField(), "approved": serializers.IntegerField(),
        "returned": serializers.IntegerField(), "missing": serializers.IntegerField(),
    }),
    "investment": inline_serializer(name="DashboardInvestment", fields={
        "total": inline_serializer(name="DashboardInvestmentTotal", fields=_investment_measures()),
        "sources": inline_serializer(name="DashboardInvestmentSource", many=True, fields=_investment_measures(
            source=serializers.CharField(help_text="京津 beijing_tianjin, 省内 in_province, 省外 other_province, 境外 abroad; 空：未填"),
            label=serializers.CharField(allow_null=True))),
        "overdue": serializers.IntegerField(help_text="签约逾期未注册的项目数"),
    }),
    "forecast": inline_serializer(name="DashboardForecast", fields={
        "months": serializers.IntegerField(help_text="已到填报期限的月数"),
        "method": serializers.CharField(allow_null=True, help_text="shape：按上年各月走势；pace：按当前进度；空：不预测"),
        **{name: serializers.DecimalField(max_digits=SUM_DIGITS, decimal_places=2, allow_null=True, coerce_to_string=True)
           for name in ("completed", "plan", "headline", "pace", "shape", "low", "high", "rate")},
        "caveat": serializers.CharField(help_text="预测的不确定性，读者的语言"),
    }),
    "trend": inline_serializer(name="DashboardTrend", fields={
        "month": serializers.DateField(help_text="最近一个已到填报期限的月份"),
        **{period: inline_serializer(name=f"DashboardTrend{period.title().replace('_', '')}", fields={
            "completed": serializers.DecimalField(max_digits=SUM_DIGITS, decimal_places=2),
            "rate": serializers.FloatField(allow_null=True),
            "starts": serializers.IntegerField(),
            "red": serializers.IntegerField(),
        }) for period in ("current", "previous", "last_year")},
    }),
})


def _forecast_data(card):
    forecast = card["forecast"]
    return {"months": forecast.months, "method": forecast.method, "caveat": card["caveat"],
            **{name: getattr(forecast, name) for name in ("completed", "plan", "headline", "pace", "shape", "low", "high", "rate")}}


class DashboardView(APIView):
    """The dashboard's figures for the caller's scope and the list filters given (same names as the list
    page), computed by the same summaries as the 驾驶舱 page."""

    permission_classes = [ReadOnlyAuthenticated]

    @extend_schema(summary="驾驶舱汇总", responses=DashboardSerializer, parameters=[
        OpenApiParameter("year", OpenApiTypes.INT, description="年度（默认今年）"),
        OpenApiParameter("plan", OpenApiTypes.STR, description="行动计划代码（默认八项行动）"),
    ])
    def get(self, request, *args, **kwargs):
        filterset, year = scope_filterset(request.user, request.query_params, request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        _plans, plan = action_plans(request.query_params.get("plan"))
        on = rules.today()
        params = active_params(filterset)
        summary = summaries.dashboard_summary(filterset.qs, user=request.user, year=year, on=on, plan=plan, params=params)
        return Response(type(DashboardSerializer)({
            "year": year,
            "time_progress": rules.time_progress(year=year, on=on),
            "totals": summary["totals"],
            "areas": summary["areas"],
            "actions": summary["actions"],
            "programmes": summary["programmes"],
            "report_cycle": {"month": rules.reporting_month(on), **summary["cycle"]},
            "investment": summary["investment"],
            # The page's cards: the year-end forecast and 环比/同比 of the filtered scope.
            "forecast": _forecast_data(forecast.forecast_view(summary["forecast"])),
            "trend": trends.trend_data(summary["trend_months"]),
        }).data)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema (drf-spectacular), generated once per process for each language and API version
    and kept: it is made of the code alone (the views, serializers and FilterSets) and worded in the
    reader's language; it is served public, so the caller does not shape it, and no data is in it.
    Generating it took a quarter of a second a request (issue 24), and rendering its 190 KB (JSON or YAML, by
    content negotiation) two thirds of a warm request: each rendering is kept too, per format. A new deployment
    is a new process, hence a new schema."""

    _generated = {}  # (language, version) -> the public schema, per process
    _rendered = {}  # (language, version, renderer, media type) -> its rendering, per process

    def _get_schema_response(self, request):
        if not self.serve_public:  # shaped by the caller's permissions: never shared between callers
            return super()._get_schema_response(request)
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (translation.get_language(), version)
        schema = self._generated.get(key)
        if schema is None:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            schema = self._generated.setdefault(key, generator.get_schema(request=request, public=self.serve_public))
        renderer, media_type = request.accepted_renderer, request.accepted_media_type
        rendered_key = (*key, type(renderer), media_type)
        content = self._rendered.get(rendered_key)
        if content is None:  # rendered once per format
            content = self._rendered.setdefault(rendered_key, renderer.render(schema, media_type, self.get_renderer_context()))
        response = project_pages.rendered_response(renderer, content)
        response["Content-Disposition"] = f'inline; filename="{self._get_filename(request, version)}"'
        return response


def exception_handler(exc, context):
    """DRF's handler, with one answer for whatever is missing or outside the caller's region (no model
    name, no hint of which), in the reader's language."""
    from django.http import Http404
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = NotFound(_("不存在，或不在您的权限范围内。"))
    return drf_exception_handler(exc, context)
