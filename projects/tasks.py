"""Celery tasks: thin wrappers that call into the capabilities (mail/, dispatch/, supervision/, importing/) and enqueue their work.

Services never import this module; they take an `enqueue` callable instead.
"""

import datetime
import json
import logging

from celery import shared_task, signals
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import importing
from projects.bulletin import services as bulletins
from projects.dispatch.reminders import reminders_dispatch, reminders_due
from projects.domain import rules
from projects.domain.choices import DigestFrequency, MailKind
from projects.mail import delivery, digests
from projects.models import DeliveryStatus, DigestDelivery
from projects.shared import lights, summaries
from projects.supervision import services as supervision

logger = logging.getLogger(__name__)


def _safely(send):
    """Queue a task; when the broker cannot take it, say so and go on: the work is recorded in the
    database, and the catch-up task or recover_background_work queues it again."""
    def enqueue(*args):
        try:
            send(*args)
        except Exception as error:  # the broker is down: nothing is lost, the record stays pending
            logger.error("could not queue %s%s: %s", getattr(send, "__name__", send), args, error)

    return enqueue


def retry_countdown(retries):
    """Seconds until the next attempt: DIGEST_RETRY_COUNTDOWN doubling, always below the broker's
    visibility timeout so that Redis does not hand the waiting task to a second worker."""
    return min(settings.DIGEST_RETRY_COUNTDOWN * 2**retries, settings.DIGEST_RETRY_MAX_COUNTDOWN)


# A delivery the mail server accepted but that could not be recorded as sent: its recording (only) is
# retried every DIGEST_RETRY_COUNTDOWN this many times, well within the claim's lease (DIGEST_CLAIM_SECONDS).
RECORD_RETRIES = 30


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DIGEST_MAX_RETRIES,
)
def deliver_digest(self, delivery_id, accepted=None):
    """Send one recorded delivery unless it was sent. The task id is the attempt's claim token: a task
    redelivered after its worker process was killed, or retried, holds the claim it left.

    A transient failure (the cache, broker or database away, SMTP 4xx) is retried with backoff; a
    permanent one is final. `accepted` (set by this task only): the mail server took the message but
    "sent" could not be written; this attempt only records it."""
    token = self.request.id or "eager"
    if accepted is not None:
        return _record_accepted(self, delivery_id, token, accepted)
    final = self.request.retries >= self.max_retries
    countdown = retry_countdown(self.request.retries)
    try:
        record = DigestDelivery.objects.select_related("user").filter(pk=delivery_id).first()
        if record is None:
            return delivery.Outcome.CANCELLED
        outcome = delivery.delivery_send(delivery=record, token=token, final_attempt=final, retry_countdown=countdown)
    except delivery.SentNotRecorded as error:
        raise _retry_recording(self, error, tries=0)
    except Exception as error:
        if final or not delivery.is_transient(error):
            raise
        raise self.retry(exc=error, countdown=countdown)
    # HELD: another attempt is sending it. Not done, and not this task's to report as done: if that
    # attempt dies, its lease runs out and the catch-up task queues the delivery again.
    return outcome


def _retry_recording(task, error, *, tries):
    accepted = {"subject": error.subject, "recipient": error.recipient, "sent_at": error.sent_at.isoformat(),
                "tries": tries + 1}
    if tries >= RECORD_RETRIES:
        logger.error("mail %s was sent but could not be recorded as sent: giving up", error.delivery_id)
        return error
    return task.retry(args=(error.delivery_id,), kwargs={"accepted": accepted}, exc=error,
                      countdown=settings.DIGEST_RETRY_COUNTDOWN, max_retries=task.request.retries + 1)


def _record_accepted(task, delivery_id, token, accepted):
    try:
        delivery.delivery_record_sent(
            delivery_id, token=token, subject=accepted["subject"], recipient=accepted["recipient"],
            sent_at=datetime.datetime.fromisoformat(accepted["sent_at"]),
        )
    except delivery.SentNotRecorded as error:
        raise _retry_recording(task, error, tries=accepted.get("tries", 0))
    return delivery.Outcome.SENT


enqueue_delivery = _safely(deliver_digest.delay)

# The beat tasks that work on "today", and where their run date goes among their arguments.
RUN_DATE_POSITION = {"projects.tasks.dispatch_digests": 1, "projects.tasks.send_report_reminders": 0,
                     "projects.tasks.generate_bulletins": 0}


@signals.before_task_publish.connect
def stamp_run_date(sender=None, body=None, **_kwargs):
    """A dispatch queued without a run date (beat's, every morning) is that day's dispatch, whenever a
    worker gets to run it: the day is written into the message as it is queued."""
    position = RUN_DATE_POSITION.get(sender)
    if position is None or not isinstance(body, (tuple, list)) or len(body) < 2 or not isinstance(body[1], dict):
        return
    args, kwargs = body[0], body[1]
    if len(args or ()) <= position and not kwargs.get("run_date"):
        kwargs["run_date"] = rules.today().isoformat()


@shared_task
def dispatch_digests(frequency, run_date=None):
    """Beat's entry point, every morning: enqueue the digests of the periods due on `run_date` (the day
    beat queued it, stamp_run_date; else today) on China's working-day calendar; nothing on other days.
    Run on a later day (no worker all the send day), it still dispatches that day's periods: late."""
    run_date = datetime.date.fromisoformat(run_date) if run_date else rules.today()
    late = " (late)" if run_date < rules.today() else ""
    results = []
    for period in digests.periods_due(frequency, run_date):
        count = _digests_dispatch(frequency, period)
        results.append(f"{frequency} {period.label}: {count} queued{late}")
    return results or f"{frequency}: not a sending day"


def _digests_dispatch(frequency, period, **options):
    """Record and queue `period`'s digests (digests.digests_dispatch); a monthly one after the month's bulletins,
    which it attaches, on every path: the day's dispatch, the catch-up of a lost run and of a missed day."""
    if frequency == DigestFrequency.MONTHLY:
        _bulletins_before_digest(period.start)
    return digests.digests_dispatch(frequency=frequency, period=period, enqueue=enqueue_delivery, **options)


@shared_task
def send_report_reminders(run_date=None):
    """Beat's entry point, every morning: the reminders (催报) due on `run_date` (the day beat queued
    it; else today)."""
    run_date = datetime.date.fromisoformat(run_date) if run_date else rules.today()
    return {kind: count for kind, count in reminders_dispatch(on=run_date, enqueue=enqueue_delivery).items()}


def _ran_today(task):
    return task.last_run_at is not None and timezone.localtime(task.last_run_at).date() == rules.today()


@shared_task
def catch_up_digests():
    """Every quarter hour: send what was lost on the way.

    - When a digest or reminder schedule ran today, what it was to send today is sent to everyone who
      has no delivery record yet (the run itself never reached a worker, e.g. Redis was down).
    - A send day of the last DIGEST_CATCH_UP_DAYS that passed with nothing recorded (no worker or no
      beat all day) is made up for: late (missed_days_catch_up).
    - Every recorded delivery of a recent period that no live attempt answers for (queued message
      lost, worker killed while sending, retry lost with an emptied Redis) is queued again.
    """
    from django_celery_beat.models import PeriodicTask

    results = []
    today = rules.today()
    for task in PeriodicTask.objects.filter(task="projects.tasks.dispatch_digests", enabled=True):
        frequency = json.loads(task.kwargs or "{}").get("frequency")
        if frequency not in DigestFrequency.values or not _ran_today(task):
            continue
        for period in digests.periods_due(frequency, today):
            count = _digests_dispatch(frequency, period, only_missing=True)
            results.append(f"{frequency} {period.label}: {count} queued")
    reminders = PeriodicTask.objects.filter(task="projects.tasks.send_report_reminders", enabled=True)
    if any(_ran_today(task) for task in reminders):
        for kind, count in reminders_dispatch(on=today, enqueue=enqueue_delivery).items():
            results.append(f"{kind}: {count} queued")
    results += missed_days_catch_up(today=today)
    requeued = delivery.deliveries_requeue(delivery.unfinished_deliveries(), enqueue=enqueue_delivery)
    if requeued:
        results.append(f"{len(requeued)} unfinished queued again")
    return results


REMINDER_KINDS = (MailKind.REPORT_REMINDER, MailKind.REPORT_DUE, MailKind.REPORT_MISSING)


def missed_days_catch_up(*, today, dry_run=False):
    """Record and queue, late, what was due on a day of the last DIGEST_CATCH_UP_DAYS before `today` and
    never dispatched (the worker, or beat, down all that day): a digest period with no delivery recorded
    (digests.periods_missed), a reminder day with none of its kind and month. Only schedules switched on
    are caught up, and only after a first dispatch of their kind (a new installation does not receive
    the last weeks' digests). A reminder that would be wrong if late (the deadline's "今日截止" after the
    deadline, or "将于…截止" once the deadline has come) is recorded as not sent, with the reason.
    Returns one line per day caught up; with dry_run, what would be, changing nothing."""
    from django_celery_beat.models import PeriodicTask

    results = []
    schedules = PeriodicTask.objects.filter(enabled=True)
    frequencies = {
        json.loads(task.kwargs or "{}").get("frequency")
        for task in schedules.filter(task="projects.tasks.dispatch_digests")
    } & set(DigestFrequency.values)
    for frequency in sorted(frequencies):
        for period in digests.periods_missed(frequency, today):
            due = digests.send_day(period)
            if dry_run:
                results.append(f"{frequency} {period.label} (due {due}): nothing recorded, would be sent late")
                continue
            count = _digests_dispatch(frequency, period)
            if count:  # none: nobody subscribes (asked again next time)
                results.append(f"{frequency} {period.label} (due {due}, late): {count} queued")
    if not schedules.filter(task="projects.tasks.send_report_reminders").exists():
        return _logged(results)
    reminders = DigestDelivery.objects.filter(kind__in=REMINDER_KINDS)
    first_month = reminders.order_by("period_start").values_list("period_start", flat=True).first()
    if first_month is None:
        return _logged(results)
    earliest = today - datetime.timedelta(days=settings.DIGEST_CATCH_UP_DAYS)
    recorded = set(reminders.filter(period_start__gte=earliest - datetime.timedelta(days=62))
                   .values_list("kind", "period_start").distinct())
    day = earliest
    while day < today:
        for kind, month in reminders_due(day):
            if month < first_month or (kind, month) in recorded:
                continue
            deadline = rules.report_deadline(month)
            out_of_date = kind == MailKind.REPORT_DUE or (kind == MailKind.REPORT_REMINDER and today >= deadline)
            if dry_run:
                results.append(f"{kind} {month:%Y-%m} (due {day}): {'would be recorded as not sent' if out_of_date else 'late'}")
            elif out_of_date:
                reminders_dispatch(on=day, enqueue=enqueue_delivery, status=DeliveryStatus.CANCELLED,
                                             lease_until=None, error=_("错过发送日 %(day)s，补发时已过时，未发送。") % {"day": day})
                if DigestDelivery.objects.filter(kind=kind, period_start=month).exists():
                    results.append(f"{kind} {month:%Y-%m} (due {day}): missed, not sent (out of date); recorded")
            else:
                count = reminders_dispatch(on=day, enqueue=enqueue_delivery).get(kind, 0)
                if count:  # none: no report was missing (asked again next time)
                    results.append(f"{kind} {month:%Y-%m} (due {day}, late): {count} queued")
        day += datetime.timedelta(days=1)
    return _logged(results)


def _logged(results):
    for line in results:
        logger.warning("missed send day caught up: %s", line)
    return results


@shared_task
def refresh_lights():
    """Beat's entry point, just after midnight: judge every project's light for the new day (lights.lights_refresh),
    then sum the province's dashboard anew for the morning's first reader."""
    judged = lights.lights_refresh()
    _dashboard_warm()
    return f"{judged} lights judged"


def _dashboard_warm():
    try:
        summaries.dashboard_warm()
    except Exception:  # a cold dashboard is slower, not wrong
        logger.exception("the dashboard could not be summed in advance")


enqueue_lights_refresh = _safely(refresh_lights.delay)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_import_batch(self, batch_id, apply):
    """Check (apply=False) or apply an uploaded list on a worker (see importing.batch_run). The task id
    is the run's claim token: a task redelivered after its worker process was killed resumes the run."""
    try:
        result = importing.batch_run_claimed(batch_id, apply=apply, token=self.request.id or "eager")
    except Exception as error:  # recorded on the batch, shown on its page
        return f"failed: {error}"
    return getattr(result, "summary", result)  # a string either way: results travel as JSON


enqueue_import = _safely(run_import_batch.delay)


@shared_task
def run_supervision():
    """Beat's entry point after the lights (督办每日处理): open, close and escalate supervision items."""
    outcome = supervision.supervision_run(enqueue=enqueue_delivery)
    _dashboard_warm()  # the run moved every version when it opened, closed or escalated items
    return str(outcome)


def _bulletins_before_digest(month):
    """The monthly digest carries the month's bulletin (调度通报): made here first if the 07:30 run has not
    (bulletin.services.bulletins_ensure makes each scope's once). A failure leaves the digest without it."""
    try:
        bulletins.bulletins_ensure(month)
    except Exception:  # the digest matters more than its attachment
        logger.exception("the bulletins of %s could not be generated before the monthly digest", month)


@shared_task
def generate_bulletins(run_date=None):
    """Beat's entry point, every morning (07:30, before the monthly digest's 08:30): on the first working day
    after a month's report deadline, the province's and each city's bulletin of that month, once each (a
    re-run generates nothing); nothing on other days."""
    run_date = datetime.date.fromisoformat(run_date) if run_date else rules.today()
    made = bulletins.bulletins_due(run_date)
    if not made:
        return "not a bulletin day"
    return [f"{month:%Y-%m}: {count} generated" for month, count in made.items()]
