from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = _("重点项目")

    def ready(self):
        from projects import signals  # noqa: F401  (connects the receivers)
        from projects.audit import signals as audit_signals  # noqa: F401  (the security audit trail's receivers)
