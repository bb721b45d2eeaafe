"""Projects with their plans, reports and problems."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_update_with_history

from .. import exporting, importing, rules, selectors
from ..choices import Light, RegionLevel, Status
from ..filtersets import ProjectFilterSet
from ..models import AnnualPlan, MonthlyReport, Problem, Project
from ..services import StaleVersionError, progress_refresh, project_claim_version
from .common import RegionScopedAdminMixin, ScopedHistoryAdmin, YearListFilter, filterset_list_filter
from .imports import ImportAdminMixin, _xlsx_response


class ProjectChildInline(admin.TabularInline):
    extra = 0

    def _parent_editable(self, request, obj):
        return obj is None or Project.objects.editable_by(request.user).filter(pk=obj.pk).exists()

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_editable(request, obj)


class AnnualPlanInline(ProjectChildInline):
    model = AnnualPlan
    fields = ["year", "planned_investment", "completed_before_year"]


class MonthlyReportInline(ProjectChildInline):
    model = MonthlyReport
    fields = ["month", "completed_investment", "image_progress", "reported_by", "reported_at"]
    readonly_fields = ["reported_by", "reported_at"]


class ProblemInline(ProjectChildInline):
    model = Problem
    fields = ["category", "description", "responsible_unit", "raised_on", "status", "resolution", "resolved_on"]


# --- Project -----------------------------------------------------------------------------------------


class ProjectAdminForm(forms.ModelForm):
    """Carries the version the user started from; a save over someone else's newer save is refused."""

    class Meta:
        model = Project
        fields = "__all__"
        widgets = {"version": forms.HiddenInput}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and "version" in cleaned:
            # Locks the row until this transaction ends (the admin's change view is atomic), so two
            # concurrent saves are serialised and the second sees the first's version.
            stored = Project.objects.select_for_update(of=("self",)).filter(pk=self.instance.pk).order_by().values_list("version", flat=True).first()
            if stored != cleaned["version"]:
                raise ValidationError(StaleVersionError.message, code="stale")
        return cleaned


@admin.register(Project)
class ProjectAdmin(ImportAdminMixin, RegionScopedAdminMixin, ScopedHistoryAdmin):
    form = ProjectAdminForm
    list_display = [
        "code_or_key",
        "name",
        "city",
        "county",
        "stage",
        "light_display",
        "completion_display",
    ]
    list_display_links = ["code_or_key", "name"]
    list_select_related = ["city", "county"]
    list_filter = [
        filterset_list_filter("programme"),
        filterset_list_filter("batch"),
        filterset_list_filter("stage"),
        filterset_list_filter("status"),
        filterset_list_filter("city"),
        filterset_list_filter("county"),
        filterset_list_filter("action"),
        filterset_list_filter("industry"),
        filterset_list_filter("light"),
        YearListFilter,
    ]
    search_fields = list(ProjectFilterSet.SEARCH_FIELDS)
    show_full_result_count = False
    list_per_page = 50
    autocomplete_fields = ["city", "county", "cluster", "programmes", "actions", "industry"]
    readonly_fields = ["key", "created_at", "updated_at"]
    inlines = [AnnualPlanInline, MonthlyReportInline, ProblemInline]
    actions = ["mark_stalled", "mark_normal"]
    fieldsets = [
        (None, {"fields": ["key", "code", "name", "programmes", "batch", "actions", "industry", "cluster"]}),
        (_("区划"), {"fields": ["city", "county", "latitude", "longitude"]}),
        (_("建设"), {"fields": ["stage", "status", "owner", "scope", "start_year", "end_year",
                              "planned_start", "planned_end", "actual_start", "actual_end", "total_investment"]}),
        (_("责任与联系"), {"fields": ["responsible_unit", "contact", "phone", "remarks"]}),
        (None, {"fields": ["version", "created_at", "updated_at"]}),
    ]

    change_list_template = "admin/projects/project/change_list.html"

    def changelist_view(self, request, extra_context=None):
        # The admin's filter parameters are ProjectFilterSet's: the list page's export takes them as they are.
        params = {key: value for key, value in request.GET.items() if key in ProjectFilterSet.base_filters}
        export = {fmt: reverse("project_export") + "?" + urlencode({**params, "format": fmt}) for fmt in exporting.FORMATS}
        return super().changelist_view(request, {**(extra_context or {}), "export_links": export})

    import_kind = "projects"
    import_title = _("导入项目清单")
    import_permission = "projects.add_project"

    def import_params(self, request):
        year = request.POST.get("year") or request.GET.get("year")
        return {"year": int(year) if year and year.isdigit() else None}

    def import_template_view(self, request):
        year = ProjectFilterSet.selected_year(request.GET)
        return _xlsx_response(importing.template_workbook(year=year), f"project-list-template-{year}.xlsx")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user
        if "county" in form.base_fields and user.region_id and user.region.level == RegionLevel.COUNTY:
            # A county user's projects are their county's: a city-wide project would leave their sight.
            form.base_fields["county"].required = True
        return form

    def get_queryset(self, request):
        year = ProjectFilterSet.selected_year(request.GET)
        return super().get_queryset(request).with_progress(year=year, on=rules.today())

    def has_change_permission(self, request, obj=None):
        if obj is not None and not Project.objects.editable_by(request.user).filter(pk=obj.pk).exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not Project.objects.editable_by(request.user).filter(pk=obj.pk).exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("项目代码"), ordering="code")
    def code_or_key(self, obj):
        return obj.code or obj.key

    @admin.display(description=_("红黄绿灯"), ordering="light_reason")
    def light_display(self, obj):
        colours = {Light.GREEN: "#1a7f37", Light.YELLOW: "#b58100", Light.RED: "#cf222e", Light.NONE: "#6e7781"}
        reason = rules.describe_light(reason=obj.light_reason, project=obj, year=obj.progress_year, on=rules.today())
        return format_html(
            '<span title="{}" style="color:{};font-weight:600">● {}</span>',
            reason,
            colours[rules.light_of(obj.light_reason)],
            rules.light_of(obj.light_reason).label,
        )

    @admin.display(description=_("年度完成率"), ordering="completion_rate")
    def completion_display(self, obj):
        if obj.completion_rate is None:
            return "—"
        return f"{obj.completion_rate:.1f}%"

    def save_model(self, request, obj, form, change):
        if change:
            project_claim_version(project=obj, expected_version=form.cleaned_data["version"])
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is MonthlyReport:
            for report in formset.save(commit=False):  # only new or changed reports
                report.reported_by = request.user
                report.reported_at = timezone.now()
                report.save()
            for report in formset.deleted_objects:
                report.delete()
        else:
            formset.save()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        progress_refresh(projects=[form.instance.pk])
        # Defence in depth (NetBox's re-check): whatever the form allowed, the saved project must still
        # be the user's; if not, the whole change rolls back with the admin's transaction.
        if not Project.objects.editable_by(request.user).filter(pk=form.instance.pk).exists():
            raise PermissionDenied

    @transaction.atomic
    def _set_status(self, request, queryset, status):
        projects = list(
            Project.objects.editable_by(request.user).filter(pk__in=queryset.values("pk")).order_by().select_for_update(of=("self",))
        )
        for project in projects:
            project.status = status
            project.version += 1
        bulk_update_with_history(projects, Project, ["status", "version"], default_user=request.user)
        selectors.data_changed()  # bulk updates send no save signals
        self.message_user(
            request,
            ngettext("已更新 %(count)d 个项目。", "已更新 %(count)d 个项目。", len(projects)) % {"count": len(projects)},
            messages.SUCCESS,
        )

    @admin.action(description=_("标记为停缓建"), permissions=["change"])
    def mark_stalled(self, request, queryset):
        self._set_status(request, queryset, Status.STALLED)

    @admin.action(description=_("恢复为正常推进"), permissions=["change"])
    def mark_normal(self, request, queryset):
        self._set_status(request, queryset, Status.NORMAL)


class ProjectChildAdmin(RegionScopedAdminMixin, ScopedHistoryAdmin):
    """A read-only overview across projects; changes go through the project page, which holds the lock."""

    list_select_related = ["project", "project__city", "project__county"]
    search_fields = ["project__name", "project__code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AnnualPlan)
class AnnualPlanAdmin(ProjectChildAdmin):
    list_display = ["project", "year", "planned_investment", "completed_before_year"]
    list_filter = ["year"]


@admin.register(MonthlyReport)
class MonthlyReportAdmin(ImportAdminMixin, ProjectChildAdmin):
    import_kind = "progress"
    import_title = _("导入月度调度")
    import_permission = "projects.add_monthlyreport"
    change_list_template = "admin/projects/monthlyreport/change_list.html"

    def import_params(self, request):
        try:
            month = datetime.date.fromisoformat(f"{request.POST.get('month') or request.GET.get('month')}-01")
        except ValueError:
            raise ValueError(_("请选择填报月份（YYYY-MM）。")) from None
        if month > rules.month_start(rules.today()):
            raise ValueError(_("不能填报未来月份。"))
        return {"month": month}

    def import_template_view(self, request):
        try:
            month = self.import_params(request)["month"]
        except ValueError:
            month = rules.add_months(rules.month_start(rules.today()), -1)
        data = importing.progress_template_workbook(user=request.user, month=month)
        return _xlsx_response(data, f"progress-{month:%Y-%m}.xlsx")

    list_display = ["project", "month", "completed_investment", "reported_by", "reported_at", "late_display"]
    list_filter = ["month"]
    date_hierarchy = "month"

    @admin.display(description=_("逾期填报"), boolean=True)
    def late_display(self, obj):
        return obj.is_late


@admin.register(Problem)
class ProblemAdmin(ProjectChildAdmin):
    list_display = ["project", "category", "description", "responsible_unit", "raised_on", "status", "resolved_on"]
    list_filter = ["status", "category"]
    search_fields = ProjectChildAdmin.search_fields + ["description", "responsible_unit"]
