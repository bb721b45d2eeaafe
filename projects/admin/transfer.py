"""Import and export of the province's tables in the admin, on django-import-export.

Rights follow the model's own: importing needs add and change, exporting view (a leader never sees an
import). Export is the changelist's queryset (the admin's scoping, filters and search): exactly its rows.
Files are read by our reader and written escaped (importing.formats); an upload waits for confirmation
in the cache (shared by every web process through Redis in production).
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.results import RowResult
from import_export.tmp_storages import CacheStorage

from projects.audit.services import audit_export, audit_import_confirmed
from projects.importing.formats import FORMATS


class ExportRights:
    """Export: our formats (written escaped), for whoever may view the list; every export is audited
    (who, which table, which filter, how many rows: issue 22)."""

    export_formats = [fmt for fmt in FORMATS if fmt().can_export()]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        form = kwargs.get("export_form")
        try:
            fmt = self.get_export_formats()[int(form.cleaned_data["format"])]().get_extension()
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            fmt = ""
        audit_export(request, model=self.model, rows=len(data), fmt=fmt)
        return data


class TableExportMixin(ExportRights, ExportMixin):
    """Export only, for a list whose import is the batch import (imports.ImportAdminMixin): monthly reports."""


class UploadLost(Exception):
    """The upload waiting for confirmation is gone from the cache (Redis emptied, restarted or away)."""


class UploadStorage(CacheStorage):
    """The cache's copy of an upload; a copy that is gone says so instead of reading as an empty file."""

    def read(self):
        data = super().read()
        if data is None:
            raise UploadLost
        return data


class TableTransferMixin(ExportRights, ImportExportMixin):
    import_formats = FORMATS
    tmp_storage_class = UploadStorage

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except UploadLost:
            self.message_user(request, _("上传的文件在确认前已失效（缓存已清空或暂不可用），未导入任何内容；请重新上传。"),
                              messages.ERROR)
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_import")

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def process_result(self, result, request):
        """After a confirmed import: audited with the file and what it did (issue 22)."""
        totals = result.totals
        audit_import_confirmed(
            request, model=self.model, file=request.POST.get("original_file_name", ""),
            counts={"created": totals.get(RowResult.IMPORT_TYPE_NEW, 0), "updated": totals.get(RowResult.IMPORT_TYPE_UPDATE, 0),
                    "unchanged": totals.get(RowResult.IMPORT_TYPE_SKIP, 0)},
            errors=totals.get(RowResult.IMPORT_TYPE_ERROR, 0) + totals.get(RowResult.IMPORT_TYPE_INVALID, 0),
        )
        return super().process_result(result, request)
