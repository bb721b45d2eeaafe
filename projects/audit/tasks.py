"""The audit trail's beat task (registered by hebei_projects/celery.py's autodiscovery of this package)."""

from celery import shared_task

from projects.audit.services import audit_prune


@shared_task(name="projects.audit.tasks.prune_audit")
def prune_audit():
    """Daily (beat schedule 安全审计日志清理, created by load_reference_data): remove events past
    AUDIT_RETENTION_DAYS."""
    return audit_prune()
