import datetime

from django.core.management.base import BaseCommand, CommandError

from projects import digests, rules
from projects.choices import DigestFrequency
from projects.models import DeliveryStatus, DigestDelivery


class Command(BaseCommand):
    help = "Send the weekly or monthly digests due (or print them with --dry-run); never sends one twice."

    def add_arguments(self, parser):
        parser.add_argument("--frequency", required=True, choices=DigestFrequency.values)
        parser.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing, record nothing")
        parser.add_argument("--date", help="the run date YYYY-MM-DD (default: today); the digests cover the period before it")

    def handle(self, *args, frequency, dry_run, date, **options):
        try:
            run_date = datetime.date.fromisoformat(date) if date else rules.today()
        except ValueError:
            raise CommandError(f"--date: “{date}” is not a date in the form YYYY-MM-DD")
        period = digests.period_for(frequency, run_date)
        sent_already = set(
            DigestDelivery.objects.filter(frequency=frequency, period_start=period.start, status=DeliveryStatus.SENT)
            .values_list("user_id", flat=True)
        )
        counts = {"sent": 0, "skipped": 0, "failed": 0}
        for subscription in digests.due_subscriptions(frequency):
            email = subscription.user.email
            if subscription.user_id in sent_already:
                counts["skipped"] += 1
                continue
            if dry_run:
                subject, _text, _html = digests.digest_render(subscription, period)
                self.stdout.write(f"would send to {email}: {subject}")
                counts["sent"] += 1
                continue
            try:
                status = digests.digest_deliver(subscription=subscription, period=period, retry_failed=True)
            except Exception as error:  # recorded on the delivery; the run goes on with the others
                counts["failed"] += 1
                self.stderr.write(f"failed for {email}: {error}")
                continue
            counts["sent" if status == DeliveryStatus.SENT else "skipped"] += 1
            if status == DeliveryStatus.SENT:
                self.stdout.write(f"sent to {email}")
        verb = "would send" if dry_run else "sent"
        self.stdout.write(f"{frequency} {period.label}: {verb} {counts['sent']}, skipped {counts['skipped']}, failed {counts['failed']}")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} digest(s) failed; see the delivery records in the admin")
