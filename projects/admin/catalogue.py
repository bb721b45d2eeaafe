"""Regions and the catalogues."""


from django.contrib import admin

from projects.admin.transfer import TableTransferMixin
from projects.importing.resources import (
    BatchResource,
    ClusterResource,
    IndustryResource,
    ProgrammeResource,
    RegionResource,
)
from projects.models import Batch, Cluster, Industry, Programme, Region
from projects.shared.filtersets import county_choices

# --- Reference data ----------------------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [RegionResource]  # the thresholds; the divisions come from the official list
    list_display = ["code", "name", "level", "parent", "reporting_city", "is_reporting_unit", "layout"]
    list_filter = ["level", "is_reporting_unit", "layout"]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "reporting_city"]
    autocomplete_fields = ["parent", "reporting_city"]

    def get_queryset(self, request):
        # Also the source of the region autocomplete, so it must be scoped like everything else.
        return super().get_queryset(request).visible_to(request.user)


@admin.register(Cluster)
class ClusterAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [ClusterResource]
    list_display = ["name", "county", "industry"]
    search_fields = ["name", "county__name"]
    list_select_related = ["county", "industry"]
    autocomplete_fields = ["county", "industry"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "county":
            kwargs["queryset"] = county_choices(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Industry)
class IndustryAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [IndustryResource]
    list_display = ["name", "name_en", "category", "parent", "order"]
    list_filter = ["category"]
    search_fields = ["name", "name_en"]


@admin.register(Programme)
class ProgrammeAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [ProgrammeResource]
    list_display = ["name", "code", "name_en", "order"]
    search_fields = ["name", "code"]


@admin.register(Batch)
class BatchAdmin(TableTransferMixin, admin.ModelAdmin):
    resource_classes = [BatchResource]
    list_display = ["name", "code", "name_en", "order"]
    search_fields = ["name", "code"]
