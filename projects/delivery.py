"""Mail that must arrive once: digests, reminders (催报) and notices of returned reports.

At least once, and exactly once wherever the app can tell. A delivery is recorded (one row per
recipient, kind, period and key) before its task is queued; an attempt claims it (its token and a
lease) before sending; only a sent mail ends it. An attempt that dies (worker killed, Redis emptied)
leaves a lease that runs out; the catch-up task then queues the delivery again, and a redelivered task,
holding the same token, takes its own claim over at once. The one window left: the mail server accepted
a message but its "250" never reached us; that mail may arrive twice (README, "Background work").

What a delivery says is built when it is sent, by the renderer of its kind (digests.py, reporting.py).
"""

import datetime
import logging
import smtplib
import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import rules
from .choices import MailKind
from .models import DeliveryStatus, DigestDelivery

logger = logging.getLogger(__name__)

# Errors worth trying again later: the mail server refused for now, or could not be reached.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)


class Outcome:
    """What one attempt at a delivery came to (besides a transient error, which is raised)."""

    SENT = "sent"  # this attempt sent it
    ALREADY_SENT = "already sent"
    HELD = "held"  # another live attempt holds it: not done, and not this attempt's to report as done
    FAILED = "failed"  # failed for good earlier; only an operator's re-run tries again
    CANCELLED = "cancelled"  # nothing to send any more (unsubscribed, or the reports came in)


def _renderer(kind):
    """The function that turns a delivery of `kind` into (subject, text, html), or None when there is
    nothing to send any more."""
    from . import digests, reporting, services, supervision

    if kind in (MailKind.WEEKLY, MailKind.MONTHLY):
        return digests.delivery_render
    if kind == MailKind.ACCOUNT_OPENED:
        return services.account_opened_render
    if kind == MailKind.SUPERVISION_ESCALATED:
        return supervision.escalation_render
    return reporting.delivery_render


def _seconds_from_now(seconds):
    return timezone.now() + datetime.timedelta(seconds=seconds)


def deliveries_record(rows, *, enqueue):
    """Record deliveries (dicts of user, kind, period_start, period_end and optionally key) unless
    recorded already, and once committed `enqueue(delivery_id)` every one of them still to send.
    Returns the number queued."""
    if not rows:
        return 0
    lease = _seconds_from_now(settings.DIGEST_QUEUE_GRACE_SECONDS)
    with transaction.atomic():
        DigestDelivery.objects.bulk_create(
            [DigestDelivery(recipient=row["user"].email, lease_until=lease, **row) for row in rows],
            ignore_conflicts=True,
        )
        wanted = {(row["user"].pk, row["kind"], row["period_start"], row.get("key", "")) for row in rows}
        candidates = DigestDelivery.objects.filter(
            user__in={row["user"].pk for row in rows},
            kind__in={row["kind"] for row in rows},
            period_start__in={row["period_start"] for row in rows},
            key__in={row.get("key", "") for row in rows},
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
        ).order_by().values_list("pk", "user_id", "kind", "period_start", "key")
        queued = [pk for pk, *identity in candidates if tuple(identity) in wanted]
        for delivery_id in queued:
            transaction.on_commit(lambda pk=delivery_id: enqueue(pk))
    return len(queued)


def recent_deliveries():
    """Deliveries of the periods the catch-up looks after (older news is not worth sending)."""
    recent = rules.today() - datetime.timedelta(days=settings.DIGEST_CATCH_UP_DAYS)
    return DigestDelivery.objects.filter(period_end__gte=recent)


def unfinished_deliveries(*, now=None):
    """Deliveries of recent periods that no live attempt answers for: pending or retrying past their
    lease (the queued task was lost), or sending past the claim's lease (the attempt died)."""
    now = now or timezone.now()
    return recent_deliveries().filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True),
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING],
    )


def deliveries_requeue(deliveries, *, enqueue):
    """Queue the given deliveries again (a lost or dead attempt, or a failed one an operator retries).

    Each is first put back to pending with a fresh lease by a conditional update, so that two catch-up
    runs at once queue it once. Returns the deliveries queued.
    """
    queued = []
    for delivery in deliveries:
        taken = DigestDelivery.objects.filter(
            pk=delivery.pk, status=delivery.status, lease_until=delivery.lease_until, claim_token=delivery.claim_token
        ).exclude(status=DeliveryStatus.SENT).update(
            status=DeliveryStatus.PENDING,
            claim_token="",
            lease_until=_seconds_from_now(settings.DIGEST_QUEUE_GRACE_SECONDS),
        )
        if taken:
            logger.warning("mail %s to %s (%s) queued again", delivery.pk, delivery.recipient, delivery.get_status_display())
            transaction.on_commit(lambda pk=delivery.pk: enqueue(pk))
            queued.append(delivery)
    return queued


def delivery_claim(*, delivery, token, retry_failed=False):
    """Take the delivery for this attempt (`token`), or return the Outcome that says why not.

    One conditional UPDATE, so of two attempts only one wins. Claimable: pending or retrying; sending
    under a lease that ran out (its attempt died) or under this very token (this task was redelivered
    after its worker process was killed); failed, for an operator's re-run.
    """
    now = timezone.now()
    retryable = [DeliveryStatus.PENDING, DeliveryStatus.RETRYING] + ([DeliveryStatus.FAILED] if retry_failed else [])
    orphaned = Q(lease_until__lt=now) | Q(lease_until__isnull=True) | Q(claim_token=token)
    claimable = Q(status__in=retryable) | (Q(status=DeliveryStatus.SENDING) & orphaned)
    claimed = DigestDelivery.objects.filter(claimable, pk=delivery.pk).update(
        status=DeliveryStatus.SENDING,
        claim_token=token,
        claimed_at=now,
        lease_until=now + datetime.timedelta(seconds=settings.DIGEST_CLAIM_SECONDS),
        attempts=F("attempts") + 1,
    )
    delivery.refresh_from_db()
    if claimed:
        return None
    return {
        DeliveryStatus.SENT: Outcome.ALREADY_SENT,
        DeliveryStatus.FAILED: Outcome.FAILED,
        DeliveryStatus.CANCELLED: Outcome.CANCELLED,
    }.get(delivery.status, Outcome.HELD)


def delivery_send(*, delivery, token=None, final_attempt=True, retry_failed=False, retry_countdown=0):
    """Build and send the delivery unless it was sent; returns an Outcome.

    A transient mail error leaves the delivery RETRYING, leased until `retry_countdown` seconds from now
    plus the claim time (FAILED on the final attempt), and is raised again for the caller (the Celery
    task) to schedule the retry. An operator's re-run (send_digests) passes retry_failed.
    """
    token = token or f"call-{uuid.uuid4()}"
    outcome = delivery_claim(delivery=delivery, token=token, retry_failed=retry_failed)
    if outcome is not None:
        return outcome
    subject = ""
    try:
        content = _renderer(delivery.kind)(delivery)
        if content is None:
            DigestDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.CANCELLED, lease_until=None)
            return Outcome.CANCELLED
        subject, text, html = content
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [delivery.user.email])
        message.attach_alternative(html, "text/html")
        message.send(fail_silently=False)
    except Exception as error:
        transient = isinstance(error, TRANSIENT_MAIL_ERRORS)
        status = DeliveryStatus.RETRYING if transient and not final_attempt else DeliveryStatus.FAILED
        lease = _seconds_from_now(retry_countdown + settings.DIGEST_CLAIM_SECONDS) if status == DeliveryStatus.RETRYING else None
        DigestDelivery.objects.filter(pk=delivery.pk).update(
            status=status, error=f"{type(error).__name__}: {error}", subject=subject, lease_until=lease
        )
        logger.warning("mail %s to %s: %s (%s)", delivery.pk, delivery.user.email, error, status)
        raise
    DigestDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), subject=subject, error="", recipient=delivery.user.email,
        lease_until=None,
    )
    return Outcome.SENT


def one_line_subject(subject):
    """A subject is one line whatever a region, project or programme name holds (no header injection)."""
    return " ".join(subject.split())[:190]
