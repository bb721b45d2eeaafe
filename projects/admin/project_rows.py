"""A project's plans, reports and problems listed across projects: read-only overviews (changes go through the
project's page, which holds its lock), the monthly reports' import and review."""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from projects import importing, tasks
from projects.admin.common import ReadOnlyAdminMixin, ReadOnlyInline, RegionScopedAdminMixin, ScopedHistoryAdmin
from projects.admin.imports import ImportAdminMixin, _xlsx_response
from projects.admin.transfer import TableExportMixin
from projects.dispatch.reports import TRANSITIONS, reports_review
from projects.domain import rules
from projects.domain.choices import ReviewAction
from projects.importing.resources import AnnualPlanResource, MonthlyReportResource, ProblemResource
from projects.models import AnnualPlan, MonthlyReport, Problem, ReportTransition
from projects.shared.paginators import CachedCountPaginator


class ProjectChildAdmin(ReadOnlyAdminMixin, RegionScopedAdminMixin, ScopedHistoryAdmin):
    """A read-only overview across projects; changes go through the project page, which holds the lock."""

    list_select_related = ["project", "project__city", "project__county"]
    search_fields = ["project__name", "project__code"]
    show_full_result_count = False
    paginator = CachedCountPaginator


@admin.register(AnnualPlan)
class AnnualPlanAdmin(TableExportMixin, ProjectChildAdmin):
    resource_classes = [AnnualPlanResource]  # export only: the overview is read-only (no add or change)
    list_display = ["project", "year", "planned_investment", "completed_before_year"]
    list_filter = ["year"]


class ReportTransitionInline(ReadOnlyInline):
    """A report's review steps, read-only: who, when, what and why."""

    model = ReportTransition
    fields = ["at", "action", "from_status", "to_status", "user", "reason"]


@admin.register(MonthlyReport)
class MonthlyReportAdmin(ImportAdminMixin, TableExportMixin, ProjectChildAdmin):
    resource_classes = [MonthlyReportResource]
    import_kind = "progress"
    import_title = _("导入月度调度")
    import_permission = "projects.add_monthlyreport"
    import_export_change_list_template = "admin/projects/monthlyreport/change_list.html"  # the export button, then ours

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

    list_display = ["project", "month", "amount_display", "review_status", "warnings_display", "reported_by",
                    "reported_at", "late_display"]
    list_filter = ["review_status", "month"]
    list_select_related = ProjectChildAdmin.list_select_related + ["reported_by"]
    date_hierarchy = "month"
    inlines = [ReportTransitionInline]
    actions = ["approve_reports", "return_reports", "reopen_reports"]

    @admin.display(description=_("逾期填报"), boolean=True)
    def late_display(self, obj):
        return obj.is_late

    @admin.display(description=_("本月完成投资（万元）"), ordering="completed_investment")
    def amount_display(self, obj):
        # The version the reviewer sees, posted with an action: a report changed since is not reviewed.
        return format_html('{} <input type="hidden" name="version-{}" value="{}">', obj.completed_investment, obj.pk, obj.version)

    @admin.display(description=_("校验提示与说明"))
    def warnings_display(self, obj):
        shown = [warning.message for warning in obj.check_warnings] + ([_("说明：") + obj.note] if obj.note else [])
        return "；".join(shown) or "—"

    def has_review_permission(self, request):
        return request.user.has_perm("projects.review_monthlyreport")

    def _review(self, request, queryset, action):
        """Run a review action on the selected reports; one that needs a reason asks for it first."""
        _sources, _target, needs_reason = TRANSITIONS[action]
        reason = request.POST.get("reason", "")
        if needs_reason and "apply" not in request.POST:
            return TemplateResponse(request, "admin/projects/monthlyreport/review_reason.html", {
                **self.admin_site.each_context(request), "opts": self.model._meta, "reports": queryset,
                "action": request.POST.get("action"), "action_label": ReviewAction(action).label,
                "title": _("%(action)s月度调度") % {"action": ReviewAction(action).label},
            })
        seen = {pk: request.POST.get(f"version-{pk}", "") for pk in queryset.values_list("pk", flat=True)}
        versions = {pk: int(version) for pk, version in seen.items() if version.isdigit()}
        for pk in seen.keys() - versions.keys():
            self.message_user(request, _("月报 %(pk)s：页面未带版本，未审核；请刷新后重试。") % {"pk": pk}, messages.WARNING)
        try:
            result = reports_review(user=request.user, versions=versions, action=action, reason=reason,
                                              enqueue=tasks.enqueue_delivery)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return None
        self.message_user(request, _("已%(action)s %(count)d 份月报。") % {"action": ReviewAction(action).label, "count": len(result.done)},
                          messages.SUCCESS if result.done else messages.WARNING)
        for report, pk, why in result.skipped[:10]:
            self.message_user(request, f"{report.project.name if report else pk} {report or ''}：{why}", messages.WARNING)
        return None

    @admin.action(description=_("审核通过"), permissions=["review"])
    def approve_reports(self, request, queryset):
        return self._review(request, queryset, ReviewAction.APPROVE)

    @admin.action(description=_("退回（需填写原因）"), permissions=["review"])
    def return_reports(self, request, queryset):
        return self._review(request, queryset, ReviewAction.RETURN)

    @admin.action(description=_("撤销审核（需填写原因）"), permissions=["review"])
    def reopen_reports(self, request, queryset):
        return self._review(request, queryset, ReviewAction.REOPEN)


@admin.register(Problem)
class ProblemAdmin(TableExportMixin, ProjectChildAdmin):
    resource_classes = [ProblemResource]
    list_display = ["project", "category", "description", "responsible_unit", "raised_on", "status", "resolved_on"]
    list_filter = ["status", "category"]
    search_fields = ProjectChildAdmin.search_fields + ["description", "responsible_unit"]
