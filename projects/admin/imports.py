"""Upload → preview → confirm, for any admin that imports a workbook."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .. import exporting, importing, rules, tasks
from ..models import ImportBatch

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
