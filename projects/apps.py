"""The projects app: what Django runs once its models are loaded."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = _("重点项目")

    def ready(self):
        # Imported here, not at the top: Django loads this module before the models exist.
        from projects import (
            signals,  # noqa: F401  (connects the receivers)
            tasks,
        )
        from projects.accounts import services as accounts  # noqa: F401  (registers its mail)
        from projects.audit import signals as audit_signals  # noqa: F401  (the security audit trail's receivers)
        from projects.dispatch import mail as report_mail  # noqa: F401  (registers its mails)
        from projects.domain import workdays
        from projects.inbox import signals as inbox_signals  # noqa: F401  (keeps the 待办 count on write)
        from projects.mail import delivery, digests  # noqa: F401  (digests registers its mails)
        from projects.models import WorkdayOverride
        from projects.supervision import services as supervision  # noqa: F401  (registers its mail)

        # Capabilities queue mail through delivery.enqueue without importing the Celery face.
        delivery.enqueue_set(tasks.enqueue_delivery)
        # The domain core imports no model: the working-day calendar reads the province's overrides here.
        workdays.overrides_reader_set(lambda: WorkdayOverride.objects.values_list("date", "is_workday"))
