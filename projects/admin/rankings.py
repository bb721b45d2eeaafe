"""The ranking's weights (排名权重, issue 28): one row per indicator, set by the province; weight 0 shows an
indicator without scoring it. Kept by the province's administrators (the rows are seeded, so no adding or
deleting here: an indicator without a row weighs 0)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from projects.domain.access import user_role
from projects.domain.choices import Role
from projects.models.leaders import RankingWeight


def _province_admin(request):
    return request.user.is_active and request.user.is_staff and user_role(request.user) == Role.PROVINCE_ADMIN


@admin.register(RankingWeight)
class RankingWeightAdmin(SimpleHistoryAdmin):
    list_display = ["indicator", "weight"]
    list_editable = ["weight"]
    fields = ["indicator", "weight"]

    def get_readonly_fields(self, request, obj=None):
        return ["indicator"] if obj is not None else []

    def has_module_permission(self, request):
        return _province_admin(request)

    def has_view_permission(self, request, obj=None):
        return _province_admin(request)

    def has_change_permission(self, request, obj=None):
        return _province_admin(request)

    def has_add_permission(self, request):
        return _province_admin(request) and RankingWeight.objects.count() < len(RankingWeight._meta.get_field("indicator").choices)

    def has_delete_permission(self, request, obj=None):
        return False
