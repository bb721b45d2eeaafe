"""Celery tasks: thin wrappers that call the digest services (see digests.py)."""

import datetime
import json

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import digests, rules
from .choices import DigestFrequency
from .models import DigestSubscription


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DIGEST_MAX_RETRIES,
)
def deliver_digest(self, subscription_id, frequency, period_start):
    """Send one recipient's digest for the period starting `period_start` (ISO date), at most once."""
    subscription = DigestSubscription.objects.select_related("user", "user__region").filter(pk=subscription_id).first()
    if subscription is None:
        return "gone"
    period = digests.period_from_start(frequency, datetime.date.fromisoformat(period_start))
    final = self.request.retries >= self.max_retries
    try:
        status = digests.digest_deliver(subscription=subscription, period=period, final_attempt=final)
    except digests.TRANSIENT_MAIL_ERRORS as error:
        if final:
            raise
        # Exponential backoff, always below the broker's visibility timeout so Redis does not hand the
        # waiting task to a second worker.
        countdown = min(60 * 2**self.request.retries, settings.DIGEST_RETRY_MAX_COUNTDOWN)
        raise self.retry(exc=error, countdown=countdown)
    return status or "skipped"


@shared_task
def dispatch_digests(frequency, run_date=None):
    """Beat's entry point: enqueue the digests of the period that `run_date` (default: today) reports on."""
    run_date = datetime.date.fromisoformat(run_date) if run_date else rules.today()
    period, count = digests.digests_dispatch(frequency=frequency, run_date=run_date)
    return f"{frequency} {period.label}: {count} queued"


@shared_task
def catch_up_digests():
    """Hourly: send what a missed scheduled run left unsent (e.g. Redis was down at 08:30).

    For each schedule that has run, the digests of the period that run was for are enqueued for every
    subscriber who has no delivery record yet; recorded ones are left to their own retries.
    """
    from django_celery_beat.models import PeriodicTask

    results = []
    for task in PeriodicTask.objects.filter(task="projects.tasks.dispatch_digests", enabled=True, last_run_at__isnull=False):
        frequency = json.loads(task.kwargs or "{}").get("frequency")
        if frequency not in DigestFrequency.values:
            continue
        run_date = timezone.localtime(task.last_run_at).date()
        period, count = digests.digests_dispatch(frequency=frequency, run_date=run_date, only_missing=True)
        results.append(f"{frequency} {period.label}: {count} queued")
    return results


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_import_batch(batch_id, apply):
    """Preview or apply a large uploaded list on a worker (see importing.batch_run)."""
    from . import importing
    from .models import ImportBatch

    batch = ImportBatch.objects.select_related("user").get(pk=batch_id)
    if batch.status in (ImportBatch.Status.APPLIED, ImportBatch.Status.FAILED):
        return "already done"  # a redelivered task must not run an applied import again
    try:
        return importing.batch_run(batch, apply=apply).summary
    except Exception as error:  # recorded on the batch, shown on its page
        return f"failed: {error}"
