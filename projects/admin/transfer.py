"""Import and export of the province's tables in the admin, on django-import-export.

Rights follow the model's own: importing needs add and change, exporting view (a leader never sees an
import). Export is the changelist's queryset (the admin's scoping, filters and search): exactly its rows.
Files are read by our reader and written escaped (importing.formats); an upload waits for confirmation
in the cache (shared by every web process through Redis in production).
"""

from import_export.admin import ExportMixin, ImportExportMixin
from import_export.tmp_storages import CacheStorage

from ..importing.formats import FORMATS


class ExportRights:
    """Export: our formats (written escaped), for whoever may view the list."""

    export_formats = [fmt for fmt in FORMATS if fmt().can_export()]

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class TableExportMixin(ExportRights, ExportMixin):
    """Export only, for a list whose import is the batch import (imports.ImportAdminMixin): monthly reports."""


class TableTransferMixin(ExportRights, ImportExportMixin):
    import_formats = FORMATS
    tmp_storage_class = CacheStorage

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)
