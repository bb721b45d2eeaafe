"""manage.py send_digests: record and queue the digests of a period (what the beat task does), for an operator."""

import datetime
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from projects.domain import rules
from projects.domain.choices import DigestFrequency
from projects.mail import delivery, digests
from projects.models import DeliveryStatus, DigestDelivery


class Command(BaseCommand):
    help = (
        "Send the weekly or monthly digests due (or print them with --dry-run); never sends one twice. "
        "Exits 1 naming every digest it could not finish."
    )

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
            DigestDelivery.objects.filter(kind=frequency, period_start=period.start, status=DeliveryStatus.SENT)
            .values_list("user_id", flat=True)
        )
        token = f"send_digests-{uuid.uuid4()}"  # this run's claim on the deliveries it sends
        counts = {"sent": 0, "skipped": 0}
        unfinished = []  # (email, why)
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
                outcome = digests.digest_deliver(subscription=subscription, period=period, token=token, retry_failed=True)
            except Exception as error:  # recorded on the delivery; the run goes on with the others
                later = " (transient: left to a worker, the catch-up queues it)" if delivery.is_transient(error) else ""
                unfinished.append((email, f"failed: {error}{later}"))
                continue
            if outcome == delivery.Outcome.SENT:
                counts["sent"] += 1
                self.stdout.write(f"sent to {email}")
            elif outcome == delivery.Outcome.ALREADY_SENT:
                counts["skipped"] += 1
            else:  # another attempt is sending it right now: not done, and not ours to report as done
                unfinished.append((email, self._held_reason(subscription, period)))
        verb = "would send" if dry_run else "sent"
        self.stdout.write(
            f"{frequency} {period.label}: {verb} {counts['sent']}, skipped {counts['skipped']}, not finished {len(unfinished)}"
        )
        for email, why in unfinished:
            self.stderr.write(f"not finished: {email}: {why}")
        if unfinished:
            raise CommandError(
                f"{len(unfinished)} digest(s) not finished: {', '.join(email for email, _why in unfinished)}; "
                "see the delivery records in the admin and run again"
            )

    @staticmethod
    def _held_reason(subscription, period):
        record = DigestDelivery.objects.get(user=subscription.user, kind=period.frequency, period_start=period.start, key="")
        until = timezone.localtime(record.lease_until).strftime("%H:%M") if record.lease_until else "?"
        if record.status == DeliveryStatus.RETRYING:  # a worker's retry is scheduled: it is that attempt's
            return (f"waiting for a retry by a worker (held until {until}; last error: {record.error[:120]}); "
                    "run again after that if it is not sent")
        return f"being sent by another worker (claim held until {until}); run again after that if it is not sent"
