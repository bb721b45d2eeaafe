"""The audit trail in the admin (安全审计日志): the province's to read, filter and export; nobody edits it."""

import json

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from projects.admin.common import ReadOnlyAdminMixin, filterset_list_filter
from projects.admin.transfer import TableExportMixin
from projects.audit.filtersets import AuditEventFilterSet
from projects.audit.messages import describe
from projects.domain.access import may_audit
from projects.models import AuditEvent


class AuditEventResource(resources.ModelResource):
    """The export: one row per event, worded in the exporter's language, parameters as JSON."""

    at = fields.Field(column_name=_("时间"))
    code = fields.Field(column_name=_("事件"))
    message = fields.Field(column_name=_("内容"))
    actor = fields.Field(column_name=_("操作人"))
    username = fields.Field(attribute="username", column_name=_("用户名"))
    ip_address = fields.Field(attribute="ip_address", column_name=_("IP 地址"))
    target = fields.Field(attribute="target", column_name=_("对象"))
    params = fields.Field(column_name=_("参数"))

    class Meta:
        model = AuditEvent
        fields = ("at", "code", "message", "actor", "username", "ip_address", "target", "params")
        export_order = fields

    def dehydrate_at(self, event):
        return timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S")

    def dehydrate_code(self, event):
        return str(event.get_code_display())

    def dehydrate_message(self, event):
        return describe(event)

    def dehydrate_actor(self, event):
        return str(event.actor) if event.actor_id else ""

    def dehydrate_params(self, event):
        return json.dumps(event.params, ensure_ascii=False, sort_keys=True)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, TableExportMixin, admin.ModelAdmin):
    """Read-only. Seen by the province (may_audit) only; the export is the filtered rows, and is itself
    an audited export."""

    resource_classes = [AuditEventResource]
    # The login name and the target are in the sentence (and the detail, the export and the search): the list
    # keeps to what fits a phone's width.
    list_display = ["at_display", "code", "message", "actor", "ip_address"]
    list_filter = [filterset_list_filter(name, AuditEventFilterSet) for name in ("code", "actor", "period")]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    search_fields = ["username", "ip_address", "target"]
    fields = ["at", "code", "message", "actor", "username", "ip_address", "target_type", "target_id", "target", "params_display"]
    readonly_fields = fields
    list_per_page = 100

    @admin.display(description=_("时间"), ordering="at")
    def at_display(self, obj):
        return timezone.localtime(obj.at).strftime("%Y-%m-%d %H:%M:%S")  # the same in both languages, and short

    @admin.display(description=_("内容"))
    def message(self, obj):
        return describe(obj)

    @admin.display(description=_("参数"))
    def params_display(self, obj):
        return json.dumps(obj.params, ensure_ascii=False, sort_keys=True, indent=1)

    def has_view_permission(self, request, obj=None):
        return may_audit(request.user)

