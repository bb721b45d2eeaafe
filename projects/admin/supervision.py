"""Supervision items (督办事项) and the node catalogue (项目节点类型) in the admin. Items are read here,
scoped like every project's rows; they are opened, answered and closed on the supervision pages, through
projects.supervision, so that each step is the acting level's and escalation keeps its timeline."""

from django.contrib import admin

from ..models import MilestoneKind, SupervisionItem, SupervisionStep
from .common import ReadOnlyInline, RegionScopedAdminMixin, ScopedHistoryAdmin


@admin.register(MilestoneKind)
class MilestoneKindAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]


class SupervisionStepInline(ReadOnlyInline):
    model = SupervisionStep
    fields = ["at", "kind", "level", "user", "text"]


@admin.register(SupervisionItem)
class SupervisionItemAdmin(RegionScopedAdminMixin, ScopedHistoryAdmin):
    list_display = ["project", "cause", "level", "opened_on", "due_on", "status", "closed_on"]
    list_filter = ["status", "level", "cause"]
    list_select_related = ["project"]
    search_fields = ["project__name", "project__code", "description"]
    date_hierarchy = "opened_on"
    inlines = [SupervisionStepInline]
    readonly_fields = ["project", "cause", "problem", "report_month", "description", "level", "status", "opened_on",
                       "due_on", "opened_by", "closed_on", "result"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
