"""Mail that must arrive once: digests, reminders (催报) and notices of returned reports.

At least once, and exactly once wherever the app can tell. A delivery is recorded (one row per
recipient, kind, period and key) before its task is queued; an attempt claims it (its token and a
lease) before sending; only a sent mail ends it. An attempt that dies (worker killed, Redis emptied)
leaves a lease that runs out; the catch-up task then queues the delivery again, and a redelivered task,
holding the same token, takes its own claim over at once. The one window left: the mail server accepted
a message but its "250" never reached us; that mail may arrive twice (README, "Background work").

Only the attempt that holds a delivery (its token, status 发送中) writes what became of it: an attempt
that lost its claim, or an operator's re-run meeting a worker's scheduled retry, changes nothing. A
transient failure (the cache, the broker or the database away, SMTP 4xx, no connection) is retried; only
a permanent one (SMTP 5xx, an address refused) is final. Once the mail server has accepted a message,
"sent" is written on a fresh connection if need be, and failing that by a later attempt that only records
it: what was accepted is never sent again.

What a delivery says is built when it is sent, by the renderer its capability registered for its kind (renders_mail).
"""

import datetime
import logging
import smtplib
import time
import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from projects.domain import rules
from projects.models import DeliveryStatus, DigestDelivery

logger = logging.getLogger(__name__)

# "Sent" is tried this many times, on a fresh database connection each time (pausing 0.5 s, then 1 s),
# before the task retries only the recording.
RECORD_ATTEMPTS = 3
RECORD_PAUSE_SECONDS = 0.5


def _service_errors():
    """The errors of the services a delivery leans on besides SMTP and the database: Redis (the cache)
    and the broker. Each means "away for now"."""
    from kombu.exceptions import OperationalError as BrokerError

    errors = [BrokerError]
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is in requirements.txt
        pass
    else:
        errors.append(redis.exceptions.RedisError)
    return tuple(errors)


def is_transient(error):
    """Whether trying again later may succeed. Transient: SMTP 4xx, the mail server gone or unreachable,
    the cache (Redis), the broker or the database away. Permanent: SMTP 5xx (the message or an address
    refused), a client and server that cannot agree (no STARTTLS, no login method), and anything else,
    a bug included: retrying would give the same answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return not 500 <= error.smtp_code < 600
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPException):  # before OSError, of which it is a subclass
        return False
    return isinstance(error, (OSError, OperationalError, InterfaceError, *_service_errors()))


class SentNotRecorded(Exception):
    """The mail server accepted the message but "sent" could not be written: the caller retries only the
    recording (deliver_digest does), never the sending."""

    def __init__(self, delivery_id, *, subject, recipient, sent_at, error):
        super().__init__(f"mail {delivery_id} was accepted by the mail server but not yet recorded as sent: {error}")
        self.delivery_id, self.subject, self.recipient, self.sent_at = delivery_id, subject, recipient, sent_at


class Outcome:
    """What one attempt at a delivery came to (besides a transient error, which is raised)."""

    SENT = "sent"  # this attempt sent it
    ALREADY_SENT = "already sent"
    HELD = "held"  # another live attempt holds it: not done, and not this attempt's to report as done
    FAILED = "failed"  # failed for good earlier; only an operator's re-run tries again
    CANCELLED = "cancelled"  # nothing to send any more (unsubscribed, or the reports came in)


# How a recorded delivery reaches a worker: the Celery face registers its task here when the app starts
# (ProjectsConfig.ready), so that a capability's page queues mail without importing the face.
_enqueue = None


def enqueue_set(enqueue_delivery):
    global _enqueue
    _enqueue = enqueue_delivery


def enqueue(delivery_id):
    """Queue a recorded delivery for a worker (tasks.enqueue_delivery: a refusing broker is logged, never raised)."""
    _enqueue(delivery_id)


# kind -> the function that turns a delivery of that kind into (subject, text, html), or None when there is
# nothing to send any more; a renderer may add a fourth element, the attachments [(filename, bytes, mimetype)].
# Each capability registers its own mails (renders_mail) when it is imported; ProjectsConfig.ready imports
# them all, so every process that sends knows every kind.
RENDERERS = {}


def renders_mail(*kinds):
    """Decorator: the function renders deliveries of these MailKinds."""
    def register(render):
        for kind in kinds:
            RENDERERS[kind] = render
        return render
    return register


def _renderer(kind):
    return RENDERERS[kind]


def _seconds_from_now(seconds):
    return timezone.now() + datetime.timedelta(seconds=seconds)


def deliveries_record(rows, *, enqueue):
    """Record deliveries (dicts of user, kind, period_start, period_end and optionally key, due_on or other
    fields: a status other than pending records one not to send) unless
    recorded already, and once committed `enqueue(delivery_id)` every one of them still to send.
    Returns the number queued."""
    if not rows:
        return 0
    lease = _seconds_from_now(settings.DIGEST_QUEUE_GRACE_SECONDS)
    with transaction.atomic():
        DigestDelivery.objects.bulk_create(
            [DigestDelivery(**{"recipient": row["user"].email, "lease_until": lease, **row}) for row in rows],
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

    One conditional UPDATE, so of two attempts only one wins. Claimable: pending; retrying under this
    token, under none, or past its lease (its retry was lost); sending under a lease that ran out (its attempt died) or under this very token (this task was redelivered
    after its worker process was killed); failed, for an operator's re-run.
    """
    now = timezone.now()
    expired = Q(lease_until__lt=now) | Q(lease_until__isnull=True)
    claimable = (
        Q(status=DeliveryStatus.PENDING)
        # A scheduled retry is its attempt's (the task keeps its id on a retry): another attempt takes
        # it only when nobody holds it, or once its lease has run out (the retry was lost).
        | (Q(status=DeliveryStatus.RETRYING) & (expired | Q(claim_token=token) | Q(claim_token="")))
        | (Q(status=DeliveryStatus.SENDING) & (expired | Q(claim_token=token)))
    )
    if retry_failed:
        claimable |= Q(status=DeliveryStatus.FAILED)
    claimed = DigestDelivery.objects.filter(claimable, pk=delivery.pk).update(
        status=DeliveryStatus.SENDING,
        claim_token=token,
        claimed_at=now,
        lease_until=now + datetime.timedelta(seconds=settings.DIGEST_CLAIM_SECONDS),
        attempts=F("attempts") + 1,
    )
    # Its own columns only: the user it goes to is kept (a refresh of everything drops it, a query per mail).
    delivery.refresh_from_db(fields=[field.attname for field in delivery._meta.concrete_fields if not field.is_relation])
    if claimed:
        return None
    return {
        DeliveryStatus.SENT: Outcome.ALREADY_SENT,
        DeliveryStatus.FAILED: Outcome.FAILED,
        DeliveryStatus.CANCELLED: Outcome.CANCELLED,
    }.get(delivery.status, Outcome.HELD)


def _owned(delivery_id, token):
    """The delivery, if this attempt (`token`) still holds it: only then does it write what came of it."""
    return DigestDelivery.objects.filter(pk=delivery_id, claim_token=token, status=DeliveryStatus.SENDING)


def delivery_send(*, delivery, token=None, final_attempt=True, retry_failed=False, retry_countdown=None):
    """Build and send the delivery unless it was sent; returns an Outcome.

    A failure is raised again for the caller, after it is written on the delivery, if this attempt still
    holds it. A transient one (is_transient) leaves it RETRYING: an attempt that retries itself (the
    Celery task passes `retry_countdown`, the seconds until its retry) keeps it, leased until that retry
    plus the claim time, unless this is its final attempt (then FAILED); an attempt that cannot (an
    operator's re-run) leaves it to any worker, and the catch-up queues it after DIGEST_RETRY_COUNTDOWN.
    A permanent one is final: FAILED. Accepted by the mail server but not recordable as sent: raises
    SentNotRecorded (see delivery_record_sent). An operator's re-run (send_digests) passes retry_failed.
    """
    token = token or f"call-{uuid.uuid4()}"
    outcome = delivery_claim(delivery=delivery, token=token, retry_failed=retry_failed)
    if outcome is not None:
        return outcome
    subject = ""
    try:
        content = _renderer(delivery.kind)(delivery)
        if content is None:
            _owned(delivery.pk, token).update(status=DeliveryStatus.CANCELLED, lease_until=None)
            return Outcome.CANCELLED
        subject, text, html, *attachments = content
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [delivery.user.email])
        message.attach_alternative(html, "text/html")
        for filename, data, mimetype in (attachments[0] if attachments else ()):
            message.attach(filename, data, mimetype)
        message.send(fail_silently=False)
    except Exception as error:
        _record_failure(delivery, token=token, error=error, subject=subject, final_attempt=final_attempt,
                        retry_countdown=retry_countdown)
        raise
    delivery_record_sent(delivery.pk, token=token, subject=subject, recipient=delivery.user.email, sent_at=timezone.now())
    return Outcome.SENT


def _record_failure(delivery, *, token, error, subject, final_attempt, retry_countdown):
    if not is_transient(error):
        fields = {"status": DeliveryStatus.FAILED, "lease_until": None}
    elif retry_countdown is None:  # this attempt cannot retry: any worker may, the catch-up queues it
        fields = {"status": DeliveryStatus.RETRYING, "claim_token": "",
                  "lease_until": _seconds_from_now(settings.DIGEST_RETRY_COUNTDOWN)}
    elif final_attempt:
        fields = {"status": DeliveryStatus.FAILED, "lease_until": None}
    else:
        fields = {"status": DeliveryStatus.RETRYING,
                  "lease_until": _seconds_from_now(retry_countdown + settings.DIGEST_CLAIM_SECONDS)}
    # A database error here goes up to the task, which retries: its retry holds the same token.
    written = _owned(delivery.pk, token).update(error=f"{type(error).__name__}: {error}", subject=subject, **fields)
    if written:
        logger.warning("mail %s to %s: %s (%s)", delivery.pk, delivery.user.email, error, fields["status"])
    else:
        logger.warning("mail %s to %s: %s; this attempt no longer holds it, its state is left as it is",
                       delivery.pk, delivery.user.email, error)


def _fresh_connection():
    """Drop the database connection so that the next query opens a new one (not inside a caller's
    transaction, which this cannot replace)."""
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except DatabaseError:
        pass


def delivery_record_sent(delivery_id, *, token, subject, recipient, sent_at):
    """Record that the mail server accepted the delivery. The mail is out, so this must not be lost: the
    write is tried RECORD_ATTEMPTS times on a fresh connection, then SentNotRecorded is raised for the
    caller to retry the recording alone. It marks the delivery sent whoever holds it now (an attempt that
    took it over meanwhile then writes nothing more)."""
    fields = {"status": DeliveryStatus.SENT, "sent_at": sent_at, "subject": subject, "error": "", "lease_until": None,
              "claim_token": token}
    if recipient:
        fields["recipient"] = recipient
    last_error = None
    for attempt in range(RECORD_ATTEMPTS):
        if attempt:
            _fresh_connection()
            time.sleep(RECORD_PAUSE_SECONDS * 2 ** (attempt - 1))
        try:
            DigestDelivery.objects.filter(pk=delivery_id).exclude(status=DeliveryStatus.SENT).update(**fields)
            return
        except (OperationalError, InterfaceError) as error:
            last_error = error
            logger.warning("mail %s was accepted by the mail server; recording it as sent failed: %s", delivery_id, error)
    raise SentNotRecorded(delivery_id, subject=subject, recipient=recipient, sent_at=sent_at, error=last_error) from last_error


def one_line_subject(subject):
    """A subject is one line whatever a region, project or programme name holds (no header injection)."""
    return " ".join(subject.split())[:190]
