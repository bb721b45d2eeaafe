"""The action plans in the admin: plans with their actions, measures and targets."""

from django.contrib import admin

from actions.models import Action, ActionPlan, Measure, Target
from projects.admin.transfer import TableTransferMixin
from projects.importing.resources import ActionPlanResource, ActionResource, MeasureResource, TargetResource


class ActionInline(admin.TabularInline):
    model = Action
    extra = 0
    fields = ["number", "name", "name_en"]
    show_change_link = True


class MeasureInline(admin.TabularInline):
    model = Measure
    extra = 0
    fields = ["number", "title", "title_en", "text"]


class TargetInline(admin.TabularInline):
    model = Target
    extra = 0
    fields = ["indicator", "value", "unit", "year"]


@admin.register(ActionPlan)
class ActionPlanAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [ActionPlanResource]
    list_display = ["name", "code", "start_year", "end_year", "is_primary"]
    search_fields = ["name", "code"]
    inlines = [ActionInline]


@admin.register(Action)
class ActionAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [ActionResource]
    list_display = ["__str__", "plan", "name_en"]
    list_filter = ["plan"]
    list_select_related = ["plan"]
    search_fields = ["name", "name_en", "plan__name"]
    inlines = [MeasureInline, TargetInline]


@admin.register(Measure)
class MeasureAdmin(TableTransferMixin, admin.ModelAdmin):
    """Measures one by one under their action; here, the whole table for import and export."""

    resource_classes = [MeasureResource]
    list_display = ["number", "title", "action"]
    list_filter = ["action__plan"]
    list_select_related = ["action__plan"]
    search_fields = ["title", "text"]


@admin.register(Target)
class TargetAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [TargetResource]
    list_display = ["indicator", "value", "unit", "year", "action"]
    list_filter = ["action__plan", "year"]
    list_select_related = ["action__plan"]
    search_fields = ["indicator"]
