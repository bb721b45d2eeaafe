from django.core.management.base import BaseCommand

from projects import digests, importing, tasks
from projects.models import DeliveryStatus


class Command(BaseCommand):
    help = (
        "Queue again what background work lost (for cron, and what the admin's 需处理 filters show): digest "
        "deliveries no live attempt answers for, and checks or imports whose run died. Failed digests are "
        "listed, not resent: send_digests or the admin's action sends them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be queued again; change nothing")

    def handle(self, *args, dry_run, **options):
        deliveries = list(digests.unfinished_deliveries().select_related("user"))
        batches = list(importing.stalled_batches().select_related("user"))
        if not dry_run:
            deliveries = digests.deliveries_requeue(deliveries, enqueue=tasks.enqueue_delivery)
            batches = importing.batches_restart(batches, enqueue=tasks.enqueue_import)
        verb = "would queue again" if dry_run else "queued again"
        for delivery in deliveries:
            self.stdout.write(f"{verb}: digest {delivery} to {delivery.recipient} ({delivery.get_status_display()})")
        for batch in batches:
            self.stdout.write(f"{verb}: import batch {batch.pk} {batch.filename} of {batch.user} ({batch.get_status_display()})")
        failed = digests.recent_deliveries().filter(status=DeliveryStatus.FAILED).select_related("user")
        for delivery in failed:
            self.stdout.write(f"failed for good: digest {delivery} to {delivery.recipient}: {delivery.error[:200]}")
        self.stdout.write(f"{verb} {len(deliveries)} digest(s) and {len(batches)} import(s); {len(failed)} digest(s) failed")
