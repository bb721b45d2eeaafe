import datetime
import hashlib

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import urlencode
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper
from simple_history.utils import bulk_update_with_history

from . import digests, exporting, importing, rules, selectors, tasks
from .access import ROLE_GROUP_NAMES, person_scope_q
from .choices import Light, RegionLevel, Status
from .filtersets import ProjectFilterSet, city_choices, cluster_choices, county_choices
from .models import (
    AnnualPlan,
    Batch,
    Cluster,
    DigestDelivery,
    DigestSubscription,
    ImportBatch,
    Industry,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
    User,
)
from .services import StaleVersionError, progress_refresh, project_claim_version

admin.site.site_header = _("河北省重点项目调度平台")
admin.site.site_title = _("重点项目调度")
admin.site.index_title = _("管理")


# --- List filters that delegate to ProjectFilterSet --------------------------------------------------


class FilterSetListFilter(admin.SimpleListFilter):
    """An admin sidebar filter whose choices and filtering come from ProjectFilterSet's filter of the same
    name, so the admin, the list page and the export agree on what a parameter means (and on scoping)."""

    filterset_class = ProjectFilterSet

    def lookups(self, request, model_admin):
        field = self.filterset_class(request=request).form.fields[self.parameter_name]
        return [(str(value), label) for value, label in field.choices if value != ""]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        filterset = self.filterset_class({self.parameter_name: self.value()}, queryset=queryset, request=request)
        if not filterset.is_valid():
            # An id outside the user's region is as unknown as one that does not exist.
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs


def filterset_list_filter(name):
    title = ProjectFilterSet.base_filters[name].label
    return type(f"{name.title()}ListFilter", (FilterSetListFilter,), {"parameter_name": name, "title": title})


class YearListFilter(FilterSetListFilter):
    parameter_name = "year"
    title = _("年度")

    def lookups(self, request, model_admin):
        years = AnnualPlan.objects.visible_to(request.user).order_by("-year").values_list("year", flat=True).distinct()
        return [(str(year), str(year)) for year in years[:10]]


# --- Shared behaviour for region-bound admins --------------------------------------------------------


class ReadableHistoryContextHelper(HistoricalRecordContextHelper):
    """History shows 续建 → 竣工投产, not the stored codes continuing → completed."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """History for region-bound objects: only of visible objects (else 404, as if missing), read-only.

    Reverting is off: it would write an old version past the optimistic lock without the user seeing
    what changed since; an old version is shown for reading.
    """

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContextHelper(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    def _ensure_visible(self, request, object_id):
        if not self.model.objects.visible_to(request.user).filter(pk=object_id).exists():
            raise Http404


class RegionScopedAdminMixin:
    """Every queryset, choice list and permission of an admin goes through the one visibility rule."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Also for autocomplete fields, whose form field otherwise validates against every row (a leak).
        choices = {
            "city": city_choices,
            "county": county_choices,
            "cluster": cluster_choices,
        }
        if db_field.name in choices:
            kwargs["queryset"] = choices[db_field.name](request)
        elif db_field.related_model is Project:
            kwargs["queryset"] = Project.objects.editable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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


# --- Imports: upload, preview, confirm ----------------------------------------------------------------


def _xlsx_response(data, filename):
    response = HttpResponse(data, content_type=exporting.CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ImportAdminMixin:
    """Upload → preview → confirm for an admin (importing.batch_run does the work, in one transaction).

    The uploaded bytes are kept (ImportBatch) between preview and confirm, so confirm applies exactly
    the previewed file; large files are checked and applied by a Celery worker while the batch's page
    shows the progress.
    """

    import_kind = import_title = import_permission = None

    def get_urls(self):
        view = self.admin_site.admin_view
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("import/", view(self.import_view), name=f"{name}_import"),
            path("import/<int:batch_id>/", view(self.import_confirm_view), name=f"{name}_import_confirm"),
            path("import/template.xlsx", view(self.import_template_view), name=f"{name}_import_template"),
        ] + super().get_urls()

    def _import_context(self, request, **extra):
        name = f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}"
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": self.import_title,
            "import_kind": self.import_kind,
            "import_url": reverse(f"{name}_import"),
            "template_url": reverse(f"{name}_import_template"),
            "changelist_url": reverse(f"{name}_changelist"),
            "confirm_name": f"{name}_import_confirm",
            "today_month": rules.add_months(rules.month_start(rules.today()), -1),
            **extra,
        }

    def import_view(self, request):
        """Upload a file; it is checked (inline, or on a worker when large) and its preview shown."""
        if not request.user.has_perm(self.import_permission):
            raise PermissionDenied
        context = self._import_context(request)
        if request.method == "POST" and request.FILES.get("file"):
            upload = request.FILES["file"]
            try:
                if upload.size > settings.IMPORT_MAX_BYTES:
                    raise importing.ImportFileError(
                        _("文件超过 %(limit)d MB 的上限。") % {"limit": settings.IMPORT_MAX_BYTES // 2**20}
                    )
                params = self.import_params(request)
            except (importing.ImportFileError, ValueError) as error:
                context["file_error"] = str(error)
                return TemplateResponse(request, "admin/projects/import.html", context)
            data = upload.read()
            batch = ImportBatch.objects.create(
                user=request.user, kind=self.import_kind, filename=upload.name[:200], data=data,
                sha256=hashlib.sha256(data).hexdigest(), year=params.get("year"), month=params.get("month"),
                status=ImportBatch.Status.CHECKING,
            )
            if importing.runs_in_background(data, upload.name):
                transaction.on_commit(lambda: tasks.run_import_batch.delay(batch.pk, False))
            else:
                try:
                    importing.batch_run(batch, apply=False)
                except importing.ImportFileError as error:
                    batch.delete()
                    context["file_error"] = str(error)
                    return TemplateResponse(request, "admin/projects/import.html", context)
            return redirect(context["confirm_name"], batch.pk)
        return TemplateResponse(request, "admin/projects/import.html", context)

    def import_confirm_view(self, request, batch_id):
        """GET: the batch's progress, preview or result. POST: apply exactly the previewed file."""
        batch = ImportBatch.objects.filter(pk=batch_id, user=request.user, kind=self.import_kind).first()
        if batch is None or not request.user.has_perm(self.import_permission):
            raise Http404
        context = self._import_context(request, batch=batch)
        if request.method == "POST":
            claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEWED, result__errors=[]).update(
                status=ImportBatch.Status.APPLYING, progress=0
            )
            if not claimed:
                raise Http404  # not previewed cleanly, or already applied
            if importing.runs_in_background(bytes(batch.data), batch.filename):
                transaction.on_commit(lambda: tasks.run_import_batch.delay(batch.pk, True))
                return redirect(context["confirm_name"], batch.pk)
            try:
                result = importing.batch_run(batch, apply=True)
            except Exception as error:  # whatever failed, the user is told it failed, never "finished"
                self.message_user(request, _("导入失败：%(error)s") % {"error": error}, messages.ERROR)
                return redirect(context["confirm_name"], batch.pk)
            self.message_user(request, _("导入完成：%(summary)s") % {"summary": result.summary}, messages.SUCCESS)
            return redirect(context["changelist_url"])
        return TemplateResponse(request, "admin/projects/import.html", context)


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


# --- Reference data ----------------------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "reporting_city", "is_reporting_unit", "layout"]
    list_filter = ["level", "is_reporting_unit", "layout"]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "reporting_city"]
    autocomplete_fields = ["parent", "reporting_city"]

    def get_queryset(self, request):
        # Also the source of the region autocomplete, so it must be scoped like everything else.
        return super().get_queryset(request).visible_to(request.user)


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "county", "industry"]
    search_fields = ["name", "county__name"]
    list_select_related = ["county", "industry"]
    autocomplete_fields = ["county", "industry"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "county":
            kwargs["queryset"] = county_choices(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "category", "parent", "order"]
    list_filter = ["category"]
    search_fields = ["name", "name_en"]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "name_en", "order"]
    search_fields = ["name", "code"]


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "name_en", "order"]
    search_fields = ["name", "code"]


# --- Digests -----------------------------------------------------------------------------------------


class PersonScopedAdminMixin:
    """Subscriptions and deliveries: a user's own; all of them for the province's user managers."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(person_scope_q(request.user, prefix=""))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(PersonScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "user_region", "frequency", "is_active", "preview_link"]
    list_filter = ["frequency", "is_active"]
    list_select_related = ["user", "user__region"]
    search_fields = ["user__username", "user__email", "user__first_name"]
    filter_horizontal = ["programmes", "actions"]

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="projects_digestsubscription_preview",
            )
        ]
        return urls + super().get_urls()

    @admin.display(description=_("所属区划"), ordering="user__region__code")
    def user_region(self, obj):
        return obj.user.region or "—"

    @admin.display(description=_("预览"))
    def preview_link(self, obj):
        url = reverse("admin:projects_digestsubscription_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("预览"))

    def preview_view(self, request, object_id):
        """The digest this subscriber would receive for a run on ?date= (default today)."""
        subscription = self.get_queryset(request).filter(pk=object_id).first()
        if subscription is None or not self.has_view_permission(request, subscription):
            raise Http404
        try:
            run_date = datetime.date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else rules.today()
        except ValueError:
            return HttpResponseBadRequest(_("参数 date 应为 YYYY-MM-DD 格式的日期。"))
        period = digests.period_for(subscription.frequency, run_date)
        subject, _text, html = digests.digest_render(subscription, period)
        banner = format_html(
            '<div style="font:14px sans-serif;background:#fff8c5;padding:8px 16px;border-bottom:1px solid #d4a72c">'
            '{}：{} · {}<form method="get" style="display:inline;margin-left:16px">'
            '<input type="date" name="date" value="{}"> <button type="submit">{}</button></form></div>',
            _("预览"), subscription.user.email, subject, run_date.isoformat(), _("按此日期预览"),
        )
        return HttpResponse(banner + html)


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(PersonScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "frequency", "period_start", "period_end", "status", "attempts", "sent_at", "error_short"]
    list_filter = ["status", "frequency", "period_start"]
    list_select_related = ["user"]
    search_fields = ["user__username", "recipient", "subject", "error"]
    readonly_fields = [field.name for field in DigestDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("错误"))
    def error_short(self, obj):
        return obj.error[:80]


# --- Users -------------------------------------------------------------------------------------------


class DigestSubscriptionInline(admin.TabularInline):
    model = DigestSubscription
    extra = 0
    filter_horizontal = ["programmes", "actions"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "last_name", "first_name", "email", "region", "role_display", "is_active"]
    list_filter = ["is_active", "groups", "region__level"]
    list_select_related = ["region"]
    search_fields = ["username", "first_name", "last_name", "email", "region__name"]
    autocomplete_fields = ["region"]
    inlines = [DigestSubscriptionInline]
    superuser_fieldset = (_("超级用户"), {"fields": ["is_superuser", "user_permissions"], "classes": ["collapse"]})
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("个人信息"), {"fields": ["last_name", "first_name", "email", "phone"]}),
        (_("区划与角色"), {"fields": ["region", "is_active", "groups"]}),
        superuser_fieldset,
        (_("重要日期"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "password1", "password2", "region", "groups", "email"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not request.user.is_superuser:
            # Only a superuser may make superusers or grant permissions outside the roles.
            fieldsets = [fieldset for fieldset in fieldsets if fieldset is not self.superuser_fieldset]
        return fieldsets

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLE_GROUP_NAMES.values())
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.is_staff = True  # every user of this tracker works in the admin
        super().save_model(request, obj, form, change)

    @admin.display(description=_("角色"))
    def role_display(self, obj):
        role = obj.role
        return role.label if role else "—"


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    filter_horizontal = ["permissions"]

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
