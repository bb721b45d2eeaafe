"""The admin site that refuses a session still owing its second factor."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class TwoFactorAdminSite(admin.AdminSite):
    """The admin site (django-otp's OTPAdminSite asks every user for a code; this one asks exactly those
    services.verification_pending names: who enrolled, and the roles that must)."""

    def has_permission(self, request):
        from projects.security import services

        return super().has_permission(request) and services.verification_pending(request.user) is None

    def get_app_list(self, request, app_label=None):
        # django-otp's models have English names only: shown in the admin's words.
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            if app["app_label"] == "otp_totp":
                app["name"] = _("两步验证")
                for model in app["models"]:
                    model["name"] = _("两步验证设备")
        return app_list
