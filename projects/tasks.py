"""Celery tasks: thin wrappers that call the services (digests.py, reporting.py, importing/) and enqueue their work.

Services never import this module; they take an `enqueue` callable instead.
"""

import datetime
import json
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import delivery, digests, importing, reporting, rules
from .choices import DigestFrequency
from .models import DigestDelivery

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


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DIGEST_MAX_RETRIES,
)
def deliver_digest(self, delivery_id):
    """Send one recorded delivery unless it was sent. The task id is the attempt's claim token: a task
    redelivered after its worker process was killed takes over the claim it left."""
    record = DigestDelivery.objects.select_related("user").filter(pk=delivery_id).first()
    if record is None:
        return delivery.Outcome.CANCELLED
    final = self.request.retries >= self.max_retries
    # Exponential backoff, always below the broker's visibility timeout so that Redis does not hand the
    # waiting task to a second worker.
    countdown = min(60 * 2**self.request.retries, settings.DIGEST_RETRY_MAX_COUNTDOWN)
    try:
        outcome = delivery.delivery_send(
            delivery=record, token=self.request.id or "eager", final_attempt=final, retry_countdown=countdown
        )
    except delivery.TRANSIENT_MAIL_ERRORS as error:
        if final:
            raise
        raise self.retry(exc=error, countdown=countdown)
    # HELD: another attempt is sending it. Not done, and not this task's to report as done: if that
    # attempt dies, its lease runs out and the catch-up task queues the delivery again.
    return outcome


enqueue_delivery = _safely(deliver_digest.delay)


@shared_task
def dispatch_digests(frequency, run_date=None):
    """Beat's entry point, every morning: enqueue the digests of the periods due on `run_date` (default:
    today) on China's working-day calendar; nothing on other days."""
    run_date = datetime.date.fromisoformat(run_date) if run_date else rules.today()
    results = []
    for period in digests.periods_due(frequency, run_date):
        count = digests.digests_dispatch(frequency=frequency, period=period, enqueue=enqueue_delivery)
        results.append(f"{frequency} {period.label}: {count} queued")
    return results or f"{frequency}: not a sending day"


@shared_task
def send_report_reminders(run_date=None):
    """Beat's entry point, every morning: the reminders (催报) due on `run_date` (default: today)."""
    run_date = datetime.date.fromisoformat(run_date) if run_date else rules.today()
    return {kind: count for kind, count in reporting.reminders_dispatch(on=run_date, enqueue=enqueue_delivery).items()}


def _ran_today(task):
    return task.last_run_at is not None and timezone.localtime(task.last_run_at).date() == rules.today()


@shared_task
def catch_up_digests():
    """Every quarter hour: send what was lost on the way.

    - When a digest or reminder schedule ran today, what it was to send today is sent to everyone who
      has no delivery record yet (the run itself never reached a worker, e.g. Redis was down).
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
            count = digests.digests_dispatch(frequency=frequency, period=period, only_missing=True, enqueue=enqueue_delivery)
            results.append(f"{frequency} {period.label}: {count} queued")
    reminders = PeriodicTask.objects.filter(task="projects.tasks.send_report_reminders", enabled=True)
    if any(_ran_today(task) for task in reminders):
        for kind, count in reporting.reminders_dispatch(on=today, enqueue=enqueue_delivery).items():
            results.append(f"{kind}: {count} queued")
    requeued = delivery.deliveries_requeue(delivery.unfinished_deliveries(), enqueue=enqueue_delivery)
    if requeued:
        results.append(f"{len(requeued)} unfinished queued again")
    return results


@shared_task
def refresh_lights():
    """Beat's entry point, just after midnight: judge every project's light for the new day (rules.lights_refresh)."""
    return f"{rules.lights_refresh()} lights judged"


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
    from . import supervision

    return str(supervision.supervision_run(enqueue=enqueue_delivery))
