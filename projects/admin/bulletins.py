"""The monthly bulletins (调度通报, issue 28) in the admin: read only, as generated (who, when, from which data),
scoped to the regions the reader sees; the file is downloaded from the bulletins page, which checks the scope."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from projects.admin.common import ReadOnlyAdminMixin
from projects.bulletin import reads, services
from projects.models import Bulletin


@admin.register(Bulletin)
class BulletinAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "region", "year", "month", "generated_by", "generated_at", "data_version",
                    "reports_counted", "size", "download"]
    list_filter = ["year", "month"]
    search_fields = ["number", "region__name"]
    date_hierarchy = "generated_at"
    list_select_related = ["region", "generated_by"]

    @admin.display(description=_("下载"))
    def download(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("bulletin_file", args=[obj.pk]), _("下载 .docx"))

    def get_queryset(self, request):
        return services.kept_bulletins(request.user)

    def has_module_permission(self, request):
        return reads.may_read(request.user)

    def has_view_permission(self, request, obj=None):
        return reads.may_read(request.user)
