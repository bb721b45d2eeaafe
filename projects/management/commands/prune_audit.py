"""manage.py prune_audit: drop audit events older than AUDIT_RETENTION_DAYS."""

from django.conf import settings
from django.core.management.base import BaseCommand

from projects.audit.services import audit_prune


class Command(BaseCommand):
    help = (
        "Remove security audit events older than AUDIT_RETENTION_DAYS (default 180); the beat task "
        "安全审计日志清理 does it each night."
    )

    def handle(self, *args, **options):
        count = audit_prune()
        self.stdout.write(f"removed {count} audit events older than {settings.AUDIT_RETENTION_DAYS} days")
