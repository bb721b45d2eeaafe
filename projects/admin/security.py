"""Administrators remove a lost authenticator here (the user then enrols again at their next login).

django-otp's own device admins are replaced: they would show the secret keys and the recovery codes.
Devices are listed read-only for the accounts the administrator manages (access.person_scope_q), a
superuser's only to a superuser (issue 22: nobody else acts on a superuser)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from projects.domain.access import person_scope_q
from projects.security import services

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(TOTPDevice)
class TwoFactorDeviceAdmin(admin.ModelAdmin):
    """两步验证设备: who enrolled, when, last used; deleting one removes the user's recovery codes too."""

    # django-otp's fields have English labels only: each column is shown under a label of ours.
    list_display = ["username", "user_name", "enrolled", "enrolled_at", "last_used", "recovery_codes"]
    search_fields = ["user__username", "user__first_name", "user__email"]
    list_select_related = ["user"]
    fields = ["username", "user_name", "enrolled", "enrolled_at", "last_used", "recovery_codes"]
    readonly_fields = fields
    actions = ["delete_selected"]

    @admin.display(description=_("用户名"), ordering="user__username")
    def username(self, device):
        return device.user.username

    @admin.display(description=_("姓名或单位"))
    def user_name(self, device):
        return device.user.first_name

    @admin.display(description=_("已启用"), boolean=True)
    def enrolled(self, device):
        return device.confirmed

    @admin.display(description=_("绑定时间"), ordering="created_at")
    def enrolled_at(self, device):
        return device.created_at

    @admin.display(description=_("最近使用"), ordering="last_used_at")
    def last_used(self, device):
        return device.last_used_at

    @admin.display(description=_("剩余恢复码"))
    def recovery_codes(self, device):
        return services.recovery_codes_left(device.user)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).filter(person_scope_q(request.user))
        if not request.user.is_superuser:
            queryset = queryset.exclude(user__is_superuser=True)
        return queryset

    def has_add_permission(self, request):
        return False  # each user enrols themselves, on their own phone

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.two_factor_remove(user=obj.user)

    def delete_queryset(self, request, queryset):
        for device in queryset.select_related("user"):
            services.two_factor_remove(user=device.user)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("两步验证设备"), **(extra_context or {})})
