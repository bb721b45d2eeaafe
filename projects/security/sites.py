"""The admin site that refuses a session still owing its second factor."""

from django.contrib import admin
from django.core.cache import cache
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from projects.domain.access import SHOWN_PERMS_SECONDS, user_role


class TwoFactorAdminSite(admin.AdminSite):
    """The admin site (django-otp's OTPAdminSite asks every user for a code; this one asks exactly those
    services.verification_pending names: who enrolled, and the roles that must)."""

    def has_permission(self, request):
        from projects.security import services

        return super().has_permission(request) and services.verification_pending(request.user) is None

    def get_app_list(self, request, app_label=None):
        # Every admin page draws the app list (its nav sidebar), a hundred permission checks: kept per user (their
        # role, region and flags) and language for SHOWN_PERMS_SECONDS.
        if not request.user.is_authenticated:  # the login page: nothing to list
            return self._app_list(request, app_label)
        key = f"projects:admin-app-list:{self._app_list_key(request)}:{app_label}"
        app_list = cache.get(key)
        if app_list is None:
            app_list = self._app_list(request, app_label)
            for app in app_list:  # kept in the reader's language: the lazy names as text
                app["name"] = str(app["name"])
                for model in app["models"]:
                    model["name"] = str(model["name"])
            cache.set(key, app_list, SHOWN_PERMS_SECONDS)
        return app_list

    def each_context(self, request):
        # The nav sidebar's HTML is kept with the list it draws (templates/admin/nav_sidebar.html).
        context = super().each_context(request)
        if request.user.is_authenticated:
            context.update(nav_sidebar_key=self._app_list_key(request), shown_perms_seconds=SHOWN_PERMS_SECONDS)
        return context

    @staticmethod
    def _app_list_key(request):
        """What the app list depends on: the user, their role, region and flags, and the language."""
        user = request.user
        return ":".join(map(str, (user.pk, user_role(user), user.region_id, user.is_superuser, user.is_staff, get_language())))

    def _app_list(self, request, app_label):
        # django-otp's models have English names only: shown in the admin's words.
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            if app["app_label"] == "otp_totp":
                app["name"] = _("两步验证")
                for model in app["models"]:
                    model["name"] = _("两步验证设备")
        return app_list
