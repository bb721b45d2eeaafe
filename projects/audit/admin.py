"""The audit trail in the admin (安全审计日志): the province's to read, filter and export; nobody edits it."""

import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from ..access import may_audit
from ..admin.transfer import TableExportMixin
from ..models import AuditEvent
from .filtersets import AuditEventFilterSet


class AuditFilter(admin.SimpleListFilter):
    """A sidebar filter whose choices and meaning are AuditEventFilterSet's filter of the same name."""

    def lookups(self, request, model_admin):
        field = AuditEventFilterSet(request=request).form.fields[self.parameter_name]
        return [(str(value), str(label)) for value, label in field.choices if str(value) != ""]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        filterset = AuditEventFilterSet({self.parameter_name: self.value()}, queryset=queryset, request=request)
        if not filterset.is_valid():
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs


def audit_filter(name):
    title = AuditEventFilterSet.base_filters[name].label
    return type(f"Audit{name.title()}Filter", (AuditFilter,), {"parameter_name": name, "title": title})


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
        return event.message

    def dehydrate_actor(self, event):
        return str(event.actor) if event.actor_id else ""

    def dehydrate_params(self, event):
        return json.dumps(event.params, ensure_ascii=False, sort_keys=True)


@admin.register(AuditEvent)
class AuditEventAdmin(TableExportMixin, admin.ModelAdmin):
    """Read-only. Seen by the province (may_audit) only; the export is the filtered rows, and is itself
    an audited export."""

    resource_classes = [AuditEventResource]
    # The login name and the target are in the sentence (and the detail, the export and the search): the list
    # keeps to what fits a phone's width.
    list_display = ["at_display", "code", "message", "actor", "ip_address"]
    list_filter = [audit_filter("code"), audit_filter("actor"), audit_filter("period")]
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
        return obj.message

    @admin.display(description=_("参数"))
    def params_display(self, obj):
        return json.dumps(obj.params, ensure_ascii=False, sort_keys=True, indent=1)

    def has_view_permission(self, request, obj=None):
        return may_audit(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
