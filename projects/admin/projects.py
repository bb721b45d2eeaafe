"""Projects, edited with their plans, reports, problems and nodes."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from projects import importing
from projects.admin.common import (
    KeptChangeListMixin,
    RegionScopedAdminMixin,
    ScopedHistoryAdmin,
    YearListFilter,
    filterset_list_filter,
)
from projects.admin.imports import ImportAdminMixin, _xlsx_response
from projects.admin.report_rows import ONE_LINE, LockedRowsFormSetMixin, MonthField
from projects.dispatch.reports import (
    EntryStatus,
    ReportEntry,
    reports_delete,
    reports_prepare,
    reports_submit,
)
from projects.domain import rules
from projects.domain.access import may_edit_project, phone_masked, scope_key
from projects.domain.choices import Light, RegionLevel, Status
from projects.importing import exporting
from projects.models import (
    INVESTMENT_FIELDS,
    PROJECT_ORDER,
    AnnualPlan,
    Milestone,
    MilestoneKind,
    MonthlyReport,
    Problem,
    Project,
)
from projects.shared import lights, locks
from projects.shared.editing import StaleVersionError, progress_refresh, project_claim_version
from projects.shared.filtersets import ProjectFilterSet
from projects.shared.paginators import CachedCountPaginator
from projects.shared.versions import projects_changed, versioned_key


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


class MonthlyReportFormSet(LockedRowsFormSetMixin, forms.BaseInlineFormSet):
    """Reports edited in the project's form go through reporting like every other writer: only changed
    rows are written, approved ones are locked, checks that fire want a note. Validation asks the same
    service what saving would do, so the errors appear on their rows."""

    request_user = None

    def changed_entries(self):
        pairs = []
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form) or not hasattr(form, "cleaned_data"):
                continue
            data = form.cleaned_data
            if not data.get("month") or data.get("completed_investment") is None:
                continue
            pairs.append((form, ReportEntry(
                project=self.instance, month=data["month"].replace(day=1), completed_investment=data["completed_investment"],
                image_progress=data.get("image_progress") or "", note=data.get("note") or "",
            )))
        return pairs

    def clean(self):
        super().clean()
        for form in self.forms:
            stored = form.instance
            if stored.pk and "month" in form.changed_data:
                form.add_error("month", _("已填报的月份不能修改；请删除该行后新增。"))
        # Django passes over the errors of a form marked for deletion: a locked report's refusal is the
        # formset's, so nothing of the change is saved and the page says why.
        locked = [form.instance for form in self.deleted_forms if form.instance.pk and form.instance.is_locked]
        if locked:
            raise forms.ValidationError(
                _("%(months)s 的月报已审核，已锁定，不能删除；如需修改，请审核人撤销审核。") % {
                    "months": "、".join(f"{report.month:%Y-%m}" for report in locked)},
                code="locked")
        if self.instance.pk is None:
            return  # a new project: its reports are checked when saved
        pairs = self.changed_entries()
        outcomes = reports_prepare(user=self.request_user, entries=[entry for _form, entry in pairs])
        for (form, _entry), outcome in zip(pairs, outcomes):
            if outcome.status == EntryStatus.REFUSED:
                form.add_error(None, outcome.message)
            elif outcome.status == EntryStatus.NEEDS_NOTE:
                form.add_error("note", "；".join(warning.message for warning in outcome.warnings) + "。" +
                               _("请核对；如确认无误，请填写（或更新）说明后再次保存。"))


class MonthlyReportInline(ProjectChildInline):
    model = MonthlyReport
    formset = MonthlyReportFormSet
    formfield_overrides = {
        models.TextField: {"widget": ONE_LINE},
        models.DecimalField: {"widget": forms.NumberInput(attrs={"style": "width: 8em"})},
    }

    class Media:
        css = {"all": ["projects/admin.css"]}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "month":
            return MonthField(label=db_field.verbose_name, required=True)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
    fields = ["month", "completed_investment", "image_progress", "note", "review_status", "reported_by", "reported_at"]
    readonly_fields = ["review_status", "reported_by", "reported_at"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"request_user": request.user})


class ProblemInline(ProjectChildInline):
    model = Problem
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}
    fields = ["category", "description", "responsible_unit", "raised_on", "status", "resolution", "resolved_on"]


class MilestoneInline(ProjectChildInline):
    """The project's nodes (项目节点), typed in place; late ones are flagged on the list and the page."""

    model = Milestone
    fields = ["kind", "planned_on", "actual_on"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            kwargs["queryset"] = MilestoneKind.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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
class ProjectAdmin(KeptChangeListMixin, ImportAdminMixin, RegionScopedAdminMixin, ScopedHistoryAdmin):
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
        filterset_list_filter("nodes_late"), filterset_list_filter("investment_stage"), filterset_list_filter("investor_source"),
        YearListFilter,
    ]
    search_fields = list(ProjectFilterSet.SEARCH_FIELDS)
    show_full_result_count = False
    list_per_page = 50
    paginator = CachedCountPaginator
    autocomplete_fields = ["city", "county", "cluster", "programmes", "actions", "industry"]
    readonly_fields = ["key", "created_at", "updated_at", "investment_stage_label"]
    inlines = [AnnualPlanInline, MilestoneInline, MonthlyReportInline, ProblemInline]
    actions = ["mark_stalled", "mark_normal"]
    fieldsets = [
        (None, {"fields": ["key", "code", "name", "programmes", "batch", "actions", "industry", "cluster"]}),
        (_("区划"), {"fields": ["city", "county", "latitude", "longitude"]}),
        (_("建设"), {"fields": ["stage", "status", "owner", "scope", "start_year", "end_year",
                              "planned_start", "planned_end", "actual_start", "actual_end", "total_investment"]}),
        (_("责任与联系"), {"fields": ["responsible_unit", "contracting_leader", "contracting_leader_name", "contact", "phone",
                                 "remarks"]}),
        (_("招商引资"), {"fields": [*INVESTMENT_FIELDS, "investment_stage_label"], "classes": ["collapse"]}),  # issue 25
        (None, {"fields": ["version", "created_at", "updated_at"]}),
    ]

    change_list_template = "admin/projects/project/change_list.html"

    def changelist_extra_context(self, request):
        # The admin's filter parameters are ProjectFilterSet's: the list page's export takes them as they are.
        params = {key: value for key, value in request.GET.items() if key in ProjectFilterSet.base_filters}
        export = {fmt: reverse("project_export") + "?" + urlencode({**params, "format": fmt}) for fmt in exporting.FORMATS}
        # Rendering 50 rows of the admin's templates costs six times their query (issue 24): the rendered rows
        # are kept under the data versions of the user's scope, with all they depend on, for every user of it.
        rows_key = versioned_key("admin-project-rows", scope_key(request.user), sorted(request.GET.lists()),
                                 self.has_change_permission(request), get_language(), rules.today(), user=request.user)
        return {"export_links": export, "rows_key": rows_key}

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        # Counted under the scope's versions, or the places' when the page's filters choose by place alone: a report
        # then leaves its count kept, as the list page's.
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, user=request.user,
                              by_place=self._filtered_by_place(request))

    def rows_chosen_by_place(self, request, changelist):
        # Ordered by the columns a page chosen by place may be (ProjectFilterSet.PLACE_SORTS', the default order, the
        # key) or by a region (its id, or the regions' own order, which a change of the catalogue moves every version of).
        sorts = ProjectFilterSet.base_filters["sort"].param_map
        placing = {*PROJECT_ORDER, "pk", "city", "county", *(sorts[param] for param in ProjectFilterSet.PLACE_SORTS)}
        ordering = changelist.get_ordering(request, changelist.root_queryset)
        return self._filtered_by_place(request) and all(
            isinstance(field, str) and field.lstrip("-") in placing for field in ordering)

    def _filtered_by_place(self, request):
        """Whether the page's filters and search choose its rows by place alone (ProjectFilterSet.counts_by_place): its
        parameters are the FilterSet's place filters, the page and the order. Read once a request (the paginator and
        the kept page both ask)."""
        if "_filtered_by_place" not in request.__dict__:
            names = set(request.GET) - {PAGE_VAR, ORDER_VAR}
            by_place = names <= set(ProjectFilterSet.PLACE_FILTERS)
            if by_place:
                filterset = ProjectFilterSet({name: request.GET[name] for name in names}, request=request)
                by_place = filterset.is_valid() and filterset.counts_by_place()
            request._filtered_by_place = by_place
        return request._filtered_by_place

    import_kind = "projects"
    import_title = _("导入项目清单")
    import_permission = "projects.add_project"

    def import_params(self, request):
        year = request.POST.get("year") or request.GET.get("year")
        return {"year": int(year) if year and year.isdigit() else None}

    def import_template_view(self, request):
        year = ProjectFilterSet.selected_year(request.GET)
        return _xlsx_response(importing.template_workbook(year=year), f"project-list-template-{year}.xlsx")

    # --- The contact number in full only for those who may edit the project (issue 22) ----------------

    def _phone_visible(self, request, obj):
        cache = request.__dict__.setdefault("_phone_visible", {})
        if obj.pk not in cache:
            cache[obj.pk] = may_edit_project(request.user, obj)
        return cache[obj.pk]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self._phone_visible(request, obj):
            return fieldsets
        return [(name, {**options, "fields": ["phone_masked" if field == "phone" else field for field in options["fields"]]})
                for name, options in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "phone_masked"]

    @admin.display(description=_("联系电话"))
    def phone_masked(self, obj):
        return phone_masked(obj.phone) or "-"

    def get_historical_record_context_helper(self, request, historical_record):
        helper = super().get_historical_record_context_helper(request, historical_record)
        if not self._phone_visible(request, historical_record.instance):
            helper.masked_fields = ("phone",)
        return helper

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user
        if "county" in form.base_fields and user.region_id and user.region.level == RegionLevel.COUNTY:
            # A county user's projects are their county's: a city-wide project would leave their sight.
            form.base_fields["county"].required = True
        return form

    def get_queryset(self, request):
        year = ProjectFilterSet.selected_year(request.GET)
        return lights.annotate_progress(super().get_queryset(request), year=year, on=rules.today())

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
        if formset.model is not MonthlyReport:
            formset.save()
            return
        outcomes = reports_submit(user=request.user, entries=[entry for _form, entry in formset.changed_entries()])
        for outcome in outcomes:
            if outcome.status in (EntryStatus.REFUSED, EntryStatus.NEEDS_NOTE):
                reasons = "；".join([outcome.message] + [warning.message for warning in outcome.warnings])
                self.message_user(request, f"{outcome.entry.month:%Y-%m}：{reasons}", messages.WARNING)
        reports_delete(user=request.user, reports=[f.instance for f in formset.deleted_forms if f.instance.pk])
        # What the admin's change message ("added/changed/deleted …") reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        progress_refresh(projects=[form.instance.pk])
        # Defence in depth (NetBox's re-check): whatever the form allowed, the saved project must still
        # be the user's; if not, the whole change rolls back with the admin's transaction.
        if not Project.objects.editable_by(request.user).filter(pk=form.instance.pk).exists():
            raise PermissionDenied

    @transaction.atomic
    def _set_status(self, request, queryset, status):
        # Locked by id like every writer (locks.py); a project already in that status is not written.
        chosen = Project.objects.editable_by(request.user).filter(pk__in=queryset.values("pk")).values_list("pk", flat=True)
        locks.projects_lock(chosen)
        projects = list(Project.objects.filter(pk__in=list(chosen)).exclude(status=status).order_by("pk"))
        for project in projects:
            project.status = status
            project.version += 1
        bulk_update_with_history(projects, Project, ["status", "version"], default_user=request.user)
        lights.lights_refresh(projects=[project.pk for project in projects])  # a status moves the light
        projects_changed([project.pk for project in projects])  # bulk updates send no save signals
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
