"""The security app's configs: its own, and the admin config that installs the two-factor admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    """Account security (two-factor login, password reset). No models of its own: the devices are
    django-otp's."""

    default = True
    name = "projects.security"
    label = "security"
    verbose_name = _("账号安全")


class SecurityAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin (INSTALLED_APPS names it in admin's place), with the default site refusing a
    session that owes its second factor."""

    default = False
    default_site = "projects.security.sites.TwoFactorAdminSite"
