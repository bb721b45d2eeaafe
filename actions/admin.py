from django.contrib import admin

from .models import Action, ActionPlan, Measure, Target


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
class ActionPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "start_year", "end_year", "is_primary"]
    search_fields = ["name", "code"]
    inlines = [ActionInline]


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan", "name_en"]
    list_filter = ["plan"]
    list_select_related = ["plan"]
    search_fields = ["name", "name_en", "plan__name"]
    inlines = [MeasureInline, TargetInline]
