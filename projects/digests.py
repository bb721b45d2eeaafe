"""Status digests: which period is due, what a recipient's digest says, and sending it exactly once.

Content is built from aggregate queries over the recipient's scope (`Project.objects.visible_to`), so
the number of queries per digest does not grow with the number of projects in it.
"""

import datetime
import logging
import smtplib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from . import rules, selectors
from .choices import DigestFrequency, Light, ProblemStatus, Stage, Status
from .models import DeliveryStatus, DigestDelivery, DigestSubscription, Problem, Project

logger = logging.getLogger(__name__)

DIGEST_TITLES = {DigestFrequency.WEEKLY: "周报", DigestFrequency.MONTHLY: "月报"}

# Errors worth trying again later: the mail server refused for now, or could not be reached.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class Period:
    frequency: str
    start: datetime.date
    end: datetime.date

    @property
    def label(self):
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def period_for(frequency, run_date):
    """The period a digest sent on `run_date` reports on: the previous Monday–Sunday week, or the
    previous calendar month (sent after the monthly report deadline, so that month is complete)."""
    if frequency == DigestFrequency.WEEKLY:
        this_monday = run_date - datetime.timedelta(days=run_date.weekday())
        return Period(frequency, this_monday - datetime.timedelta(days=7), this_monday - datetime.timedelta(days=1))
    if frequency == DigestFrequency.MONTHLY:
        end = run_date.replace(day=1) - datetime.timedelta(days=1)
        return Period(frequency, end.replace(day=1), end)
    raise ValueError(f"unknown digest frequency: {frequency!r}")


def period_from_start(frequency, start):
    """The period that starts on `start` (what a task receives as its argument)."""
    if frequency == DigestFrequency.WEEKLY:
        return Period(frequency, start, start + datetime.timedelta(days=6))
    return period_for(frequency, rules.add_months(start, 1))


# --- Content ------------------------------------------------------------------------------------------


def subscription_projects(subscription):
    """The recipient's scope: their region, narrowed to the chosen programmes and actions."""
    projects = Project.objects.visible_to(subscription.user).exclude(status=Status.CANCELLED)
    programmes = [programme.pk for programme in subscription.programmes.all()]
    actions = [action.pk for action in subscription.actions.all()]
    if programmes:
        links = Project.programmes.through.objects.filter(project=OuterRef("pk"), programme__in=programmes)
        projects = projects.filter(Exists(links))
    if actions:
        links = Project.actions.through.objects.filter(project=OuterRef("pk"), action__in=actions)
        projects = projects.filter(Exists(links))
    return projects


def digest_context(subscription, period, *, since=None):
    """Everything a digest shows for `subscription` over `period`, judged at the period's end."""
    user = subscription.user
    on = period.end
    year = on.year
    progress = rules.time_progress(year=year, on=on)
    base = subscription_projects(subscription)
    projects = base.with_progress(year=year, on=on)
    since = since or period.start - datetime.timedelta(days=1)
    soon = on + datetime.timedelta(days=30)

    totals = selectors.scope_totals(projects, progress=progress)
    stage_rows = [(label, count) for _value, label, count in totals["stages"]]

    area_title, area_rows = selectors.area_breakdown(projects, user=user, progress=progress)
    action_rows = selectors.breakdown(
        projects.filter(actions__plan__is_primary=True),
        by="actions__number",
        label_field="actions__name",
        progress=progress,
    )

    limit = settings.DIGEST_LIST_LIMIT
    listed = projects.select_related("city", "county").order_by("city__code", "county__code", "name")
    flagged = {}
    for light in (Light.RED, Light.YELLOW):
        rows = list(listed.filter(rules.light_q(light))[:limit])
        flagged[light] = [_project_row(project, year, on) for project in rows]
    overdue = list(listed.filter(report_overdue=True, stage__in=[Stage.NEW_START, Stage.CONTINUING])[:limit])

    problem_age = settings.DIGEST_PROBLEM_AGE_DAYS
    old_problems = list(
        Problem.objects.filter(project__in=base.values("pk"))
        .exclude(status=ProblemStatus.RESOLVED)
        .filter(raised_on__lte=on - datetime.timedelta(days=problem_age))
        .select_related("project", "project__city", "project__county")
        .order_by("raised_on")[:limit]
    )
    for problem in old_problems:
        problem.days_open = (on - problem.raised_on).days
        problem.url = project_url(problem.project)

    events = base.select_related("city", "county").order_by("city__code", "county__code", "name")
    return {
        "subscription": subscription,
        "user": user,
        "scope_name": _scope_name(subscription),
        "period": period,
        "digest_title": DIGEST_TITLES[period.frequency],
        "year": year,
        "time_progress": progress,
        "totals": totals,
        "stage_rows": stage_rows,
        "area_title": area_title,
        "area_rows": area_rows,
        "action_rows": action_rows,
        "red_projects": flagged[Light.RED],
        "yellow_projects": flagged[Light.YELLOW],
        "overdue_projects": [_project_row(project, year, on) for project in overdue],
        "new_starts": [_event_row(p) for p in events.filter(actual_start__gt=since, actual_start__lte=on)[:limit]],
        "completions": [_event_row(p) for p in events.filter(actual_end__gt=since, actual_end__lte=on)[:limit]],
        "planned_starts": [
            _event_row(p) for p in events.filter(actual_start__isnull=True, planned_start__gt=on, planned_start__lte=soon)[:limit]
        ],
        "planned_completions": [
            _event_row(p) for p in events.filter(actual_end__isnull=True, planned_end__gt=on, planned_end__lte=soon)[:limit]
        ],
        "old_problems": old_problems,
        "problem_age": problem_age,
        "list_limit": limit,
        "site_url": settings.SITE_URL,
    }


def _scope_name(subscription):
    user = subscription.user
    name = user.region.name if user.region_id else "全省"
    narrowing = [p.name for p in subscription.programmes.all()] + [a.name for a in subscription.actions.all()]
    return f"{name}（{'、'.join(narrowing)}）" if narrowing else name


def project_url(project):
    """The project's page (not the admin: most digest readers never open it)."""
    return settings.SITE_URL + reverse("project_detail", args=[project.pk])


def _project_row(project, year, on):
    return {
        "project": project,
        "url": project_url(project),
        "reason": rules.describe_light(reason=project.light_reason, project=project, year=year, on=on),
    }


def _event_row(project):
    return {"project": project, "url": project_url(project)}


def digest_render(subscription, period, *, since=None):
    """(subject, plain text, HTML) of a digest, in Chinese."""
    with translation.override(settings.LANGUAGE_CODE):
        context = digest_context(subscription, period, since=since)
        subject = f"【重点项目{context['digest_title']}】{context['scope_name']} {period.label}"
        # A subject is one line whatever a region or programme name holds (no header injection).
        subject = " ".join(subject.split())[:190]
        text = render_to_string("projects/digest.txt", context)
        html = render_to_string("projects/digest.html", context)
    return subject, text, html


# --- Delivery -----------------------------------------------------------------------------------------
#
# At least once, and exactly once wherever the app can tell: a delivery is recorded before it is queued,
# an attempt claims it (a token and a lease) before sending, and only a sent mail ends it. An attempt
# that dies (worker killed, Redis emptied) leaves a lease that runs out; the catch-up task then queues
# the delivery again, and a redelivered task, holding the same token, takes its own claim over at once.
# The one window left: the mail server accepted a message but its "250" never reached us; that mail may
# arrive twice (README, "Background work").


class Outcome:
    """What one attempt at a delivery came to (besides a transient error, which is raised)."""

    SENT = "sent"  # this attempt sent it
    ALREADY_SENT = "already sent"
    HELD = "held"  # another live attempt holds it: look again when its lease ends
    FAILED = "failed"  # failed for good earlier; only an operator's re-run tries again
    GONE = "gone"  # the recipient unsubscribed or left: nothing to send


def due_subscriptions(frequency):
    return (
        DigestSubscription.objects.filter(frequency=frequency, is_active=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "user__region")
        .prefetch_related("programmes", "actions")
    )


def _seconds_from_now(seconds):
    return timezone.now() + datetime.timedelta(seconds=seconds)


def digests_dispatch(*, frequency, run_date, enqueue, only_missing=False):
    """Record a pending delivery for every due subscription of the period and, once the records are
    committed, `enqueue(delivery_id)` each one not yet sent. With only_missing, only subscriptions
    never recorded for the period (a scheduled run that did not happen). Returns (period, queued)."""
    period = period_for(frequency, run_date)
    subscriptions = list(due_subscriptions(frequency))
    if only_missing:
        recorded = set(
            DigestDelivery.objects.filter(frequency=frequency, period_start=period.start).values_list("user_id", flat=True)
        )
        subscriptions = [s for s in subscriptions if s.user_id not in recorded]
    lease = _seconds_from_now(settings.DIGEST_QUEUE_GRACE_SECONDS)
    with transaction.atomic():
        DigestDelivery.objects.bulk_create(
            [
                DigestDelivery(user=s.user, frequency=frequency, period_start=period.start, period_end=period.end,
                               recipient=s.user.email, lease_until=lease)
                for s in subscriptions
            ],
            ignore_conflicts=True,
        )
        queued = list(
            DigestDelivery.objects.filter(
                frequency=frequency,
                period_start=period.start,
                status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
                user__in=[s.user_id for s in subscriptions],
            ).values_list("pk", flat=True)
        )
        for delivery_id in queued:
            transaction.on_commit(lambda pk=delivery_id: enqueue(pk))
    return period, len(queued)


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
            logger.warning("digest %s to %s (%s) queued again", delivery.pk, delivery.recipient, delivery.get_status_display())
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
    }.get(delivery.status, Outcome.HELD)


def digest_deliver(*, subscription, period, token=None, final_attempt=True, retry_failed=False, retry_countdown=0):
    """Build and send one digest of `period` to the subscriber unless it was sent; returns an Outcome.

    A transient mail error leaves the delivery RETRYING, leased until `retry_countdown` seconds from now
    plus the claim time (FAILED on the final attempt), and is raised again for the caller (the Celery
    task) to schedule the retry. An operator's re-run (send_digests) passes retry_failed.
    """
    delivery, _created = DigestDelivery.objects.get_or_create(
        user=subscription.user,
        frequency=period.frequency,
        period_start=period.start,
        defaults={"period_end": period.end, "recipient": subscription.user.email},
    )
    return delivery_send(
        delivery=delivery, subscription=subscription, token=token or f"call-{uuid.uuid4()}",
        final_attempt=final_attempt, retry_failed=retry_failed, retry_countdown=retry_countdown,
    )


def delivery_send(*, delivery, token, subscription=None, final_attempt=True, retry_failed=False, retry_countdown=0):
    """Send the delivery (see digest_deliver); the subscription is looked up when not given."""
    if subscription is None:
        subscription = due_subscriptions(delivery.frequency).filter(user=delivery.user_id).first()
        if subscription is None:
            DigestDelivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENT).update(
                status=DeliveryStatus.FAILED, error="订阅已取消或收件人已停用", lease_until=None
            )
            return Outcome.GONE
    outcome = delivery_claim(delivery=delivery, token=token, retry_failed=retry_failed)
    if outcome is not None:
        return outcome
    period = period_from_start(delivery.frequency, delivery.period_start)
    previous = (
        DigestDelivery.objects.filter(user=subscription.user, frequency=period.frequency, status=DeliveryStatus.SENT,
                                      period_end__lt=period.start)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    subject = ""
    try:
        subject, text, html = digest_render(subscription, period, since=previous)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [subscription.user.email])
        message.attach_alternative(html, "text/html")
        message.send(fail_silently=False)
    except Exception as error:
        transient = isinstance(error, TRANSIENT_MAIL_ERRORS)
        status = DeliveryStatus.RETRYING if transient and not final_attempt else DeliveryStatus.FAILED
        lease = _seconds_from_now(retry_countdown + settings.DIGEST_CLAIM_SECONDS) if status == DeliveryStatus.RETRYING else None
        DigestDelivery.objects.filter(pk=delivery.pk).update(
            status=status, error=f"{type(error).__name__}: {error}", subject=subject, lease_until=lease
        )
        logger.warning("digest %s to %s: %s (%s)", delivery.pk, subscription.user.email, error, status)
        raise
    DigestDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), subject=subject, error="", recipient=subscription.user.email,
        lease_until=None,
    )
    return Outcome.SENT


def subscriptions_set(*, user, frequencies, programmes, actions):
    """Make the user's subscriptions exactly `frequencies`, each narrowed to the given programmes/actions."""
    with transaction.atomic():
        DigestSubscription.objects.filter(user=user).exclude(frequency__in=frequencies).update(is_active=False)
        for frequency in frequencies:
            subscription, _created = DigestSubscription.objects.update_or_create(
                user=user, frequency=frequency, defaults={"is_active": True}
            )
            subscription.programmes.set(programmes)
            subscription.actions.set(actions)
