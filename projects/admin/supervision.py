"""Supervision items (督办事项) and the node catalogue (项目节点类型) in the admin. Items are read here,
scoped like every project's rows; they are opened, answered and closed on the supervision pages, through
projects.supervision, so that each step is the acting level's and escalation keeps its timeline."""

from django.contrib import admin

from projects.admin.common import ReadOnlyInline
from projects.admin.project_rows import ProjectChildAdmin
from projects.models import MilestoneKind, SupervisionItem, SupervisionStep


@admin.register(MilestoneKind)
class MilestoneKindAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]


class SupervisionStepInline(ReadOnlyInline):
    model = SupervisionStep
    fields = ["at", "kind", "level", "user", "text"]


@admin.register(SupervisionItem)
class SupervisionItemAdmin(ProjectChildAdmin):
    list_display = ["project", "cause", "level", "opened_on", "due_on", "status", "closed_on"]
    list_filter = ["status", "level", "cause"]
    search_fields = ProjectChildAdmin.search_fields + ["description"]
    date_hierarchy = "opened_on"
    inlines = [SupervisionStepInline]
    fields = ["project", "cause", "problem", "report_month", "description", "level", "status", "opened_on", "due_on",
              "escalated_on", "opened_by", "closed_on", "result"]
