"""Upload → preview → confirm, for any admin that imports a workbook."""

import hashlib

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from projects import importing, tasks
from projects.audit.services import audit_batch_confirmed
from projects.domain import rules
from projects.domain.access import person_scope_q
from projects.importing import exporting
from projects.models import HeaderSynonym, ImportBatch

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
        """Upload a file; it is checked (here, or on a worker when large) and its preview shown."""
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
            try:
                importing.batch_start(batch, apply=False, enqueue=tasks.enqueue_import)
            except importing.ImportFileError as error:
                batch.delete()
                context["file_error"] = str(error)
                return TemplateResponse(request, "admin/projects/import.html", context)
            return redirect(context["confirm_name"], batch.pk)
        return TemplateResponse(request, "admin/projects/import.html", context)

    def import_confirm_view(self, request, batch_id):
        """GET: the batch's progress, preview or result. POST: apply exactly the previewed file, or
        start again a check or import whose run died. The owner never gets a bare error page: a POST
        that cannot apply says why."""
        batch = ImportBatch.objects.filter(pk=batch_id, user=request.user, kind=self.import_kind).first()
        if batch is None or not request.user.has_perm(self.import_permission):
            raise Http404
        context = self._import_context(request)
        if request.method == "POST":
            apply = batch.status != ImportBatch.Status.CHECKING
            try:
                started = importing.batch_start(batch, apply=apply, enqueue=tasks.enqueue_import)
            except Exception as error:  # whatever failed, the user is told it failed, never "finished"
                self.message_user(request, _("导入失败：%(error)s") % {"error": error}, messages.ERROR)
                return redirect(context["confirm_name"], batch.pk)
            audit_batch_confirmed(request, batch, apply=apply, started=started)  # issue 22: every import confirm
            if started is False:
                batch.refresh_from_db()
                self.message_user(request, self._not_started_message(batch), messages.WARNING)
            elif isinstance(started, importing.ImportResult) and apply:
                self.message_user(request, _("导入完成：%(summary)s") % {"summary": started.localized_summary}, messages.SUCCESS)
                return redirect(context["changelist_url"])
            return redirect(context["confirm_name"], batch.pk)
        batch.stalled = importing.batch_is_stalled(batch)
        batch.can_reconfirm = importing.batch_can_reconfirm(batch)
        batch.outcome = importing.describe(batch.result or {})
        return TemplateResponse(request, "admin/projects/import.html", {**context, "batch": batch})

    @staticmethod
    def _not_started_message(batch):
        Status = ImportBatch.Status
        if batch.status == Status.APPLIED:
            return _("该文件已经导入：%(summary)s") % {"summary": importing.describe(batch.result or {})}
        if batch.status in (Status.CHECKING, Status.APPLYING):
            return _("该文件正在后台处理，请稍候。")
        if (batch.result or {}).get("errors"):
            return _("文件中有错误，不能导入。请修改后重新上传。")
        return _("该文件不能再次导入，请重新上传。")


# --- Operator view: batches whose run died ------------------------------------------------------------


class StalledBatchFilter(admin.SimpleListFilter):
    title = _("需处理")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("stalled", _("处理已中断"))]

    def queryset(self, request, queryset):
        if self.value() == "stalled":
            return queryset.filter(pk__in=importing.stalled_batches().values("pk"))
        return queryset


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Uploaded lists: one's own, or everyone's for the province's user managers. Read-only, with an
    action to start again a check or import whose run died."""

    list_display = ["filename", "kind", "user", "status", "progress", "stalled_display", "created_at", "heartbeat_at",
                    "outcome_display"]
    list_filter = [StalledBatchFilter, "status", "kind"]
    list_select_related = ["user"]
    search_fields = ["filename", "user__username"]
    exclude = ["data", "preview_summary", "result_summary"]
    # The stored summaries are the machine's (compared between preview and apply); people read `outcome_display`.
    readonly_fields = [
        field.name for field in ImportBatch._meta.fields if field.name not in ("data", "preview_summary", "result_summary")
    ] + ["outcome_display"]
    actions = ["restart"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data").filter(person_scope_q(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("结果"))
    def outcome_display(self, obj):
        return importing.describe(obj.result) if obj.result else ""

    @admin.display(description=_("已中断"), boolean=True)
    def stalled_display(self, obj):
        return importing.batch_is_stalled(obj)

    @admin.action(description=_("重新开始已中断的检查或导入"), permissions=["view"])
    def restart(self, request, queryset):
        restarted = importing.batches_restart(queryset.filter(pk__in=importing.stalled_batches().values("pk")),
                                              enqueue=tasks.enqueue_import)
        self.message_user(
            request,
            _("已重新开始 %(count)d 个批次；其余批次未中断，未改变。") % {"count": len(restarted)},
            messages.SUCCESS if restarted else messages.WARNING,
        )


@admin.register(HeaderSynonym)
class HeaderSynonymAdmin(admin.ModelAdmin):
    """Headings the province teaches the import (beside the built-in ones)."""

    list_display = ["text", "column"]
    list_filter = ["column"]
    search_fields = ["text"]
