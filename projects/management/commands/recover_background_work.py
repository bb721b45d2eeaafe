"""manage.py recover_background_work: queue again the mails and imports a lost worker left unfinished."""

from django.core.management.base import BaseCommand

from projects import importing, tasks
from projects.domain import rules
from projects.mail import delivery
from projects.models import DeliveryStatus


class Command(BaseCommand):
    help = (
        "Queue again what background work lost (for cron, and what the admin's 需处理 filters show): digest "
        "deliveries no live attempt answers for, and checks or imports whose run died; record and queue, late, "
        "what a send day of the last DIGEST_CATCH_UP_DAYS missed. Failed digests are listed, not resent: "
        "send_digests or the admin's action sends them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be queued again; change nothing")

    def handle(self, *args, dry_run, **options):
        for line in tasks.missed_days_catch_up(today=rules.today(), dry_run=dry_run):
            self.stdout.write(f"{'would catch up' if dry_run else 'caught up'} a missed send day: {line}")
        mails = list(delivery.unfinished_deliveries().select_related("user"))
        batches = list(importing.stalled_batches().select_related("user"))
        if not dry_run:
            mails = delivery.deliveries_requeue(mails, enqueue=tasks.enqueue_delivery)
            batches = importing.batches_restart(batches, enqueue=tasks.enqueue_import)
        verb = "would queue again" if dry_run else "queued again"
        for mail in mails:
            self.stdout.write(f"{verb}: mail {mail} to {mail.recipient} ({mail.get_status_display()})")
        for batch in batches:
            self.stdout.write(f"{verb}: import batch {batch.pk} {batch.filename} of {batch.user} ({batch.get_status_display()})")
        failed = delivery.recent_deliveries().filter(status=DeliveryStatus.FAILED).select_related("user")
        for mail in failed:
            self.stdout.write(f"failed for good: mail {mail} to {mail.recipient}: {mail.error[:200]} "
                              "(resend: send_digests, or the admin's 重新发送)")
        self.stdout.write(f"{verb} {len(mails)} mail(s) and {len(batches)} import(s); {len(failed)} mail(s) failed")
