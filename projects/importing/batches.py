"""Uploaded lists between preview and confirmation: checked and applied here or on a worker, recoverable."""

import datetime
import hashlib
import uuid

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.importing.progress import import_progress
from projects.importing.project_import import import_projects
from projects.importing.reading import count_rows
from projects.importing.results import ImportFileError, describe
from projects.models import ImportBatch

# --- Import batches: preview and apply, inline or on a worker -------------------------------------------

def runs_in_background(data, filename):
    return count_rows(data, filename) > settings.IMPORT_BACKGROUND_ROWS


class Superseded(Exception):
    """Another run took this batch over (this one was presumed dead): its work is rolled back."""


def batch_is_stalled(batch, *, now=None):
    """A check or import whose run has not reported for IMPORT_HEARTBEAT_STALE_SECONDS has died."""
    if batch.status not in (ImportBatch.Status.CHECKING, ImportBatch.Status.APPLYING):
        return False
    last = batch.heartbeat_at or batch.created_at
    return last < (now or timezone.now()) - datetime.timedelta(seconds=settings.IMPORT_HEARTBEAT_STALE_SECONDS)


def stalled_batches(*, now=None):
    stale = (now or timezone.now()) - datetime.timedelta(seconds=settings.IMPORT_HEARTBEAT_STALE_SECONDS)
    return ImportBatch.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale),
        status__in=[ImportBatch.Status.CHECKING, ImportBatch.Status.APPLYING],
    )


def batch_can_reconfirm(batch):
    """Whether the owner may confirm again: a clean preview whose run died or failed before applying
    (the file is kept until it is applied)."""
    clean_preview = bool(batch.preview_summary) and not (batch.result or {}).get("errors")
    stopped = batch.status == ImportBatch.Status.FAILED or batch_is_stalled(batch)
    return clean_preview and stopped and bool(batch.data)


def batch_start(batch, *, apply, enqueue):
    """(Re)start a batch's check or import: in this process when the file is small, else by
    `enqueue(batch_id, apply)` on a worker. The status moves first by a conditional update, so two
    confirms at once (or a confirm and a recovery) start it once. Returns the result when it ran here,
    True when it was queued, False when it was not startable."""
    Status = ImportBatch.Status
    target = Status.APPLYING if apply else Status.CHECKING
    startable = Q(status=Status.PREVIEWED, result__errors=[]) if apply else Q(status=Status.CHECKING, claim_token="")
    if (apply and batch_can_reconfirm(batch)) or batch_is_stalled(batch):
        # Exactly the state this caller saw: of two restarts at once, one moves it.
        startable = Q(status=batch.status, heartbeat_at=batch.heartbeat_at)
    started = ImportBatch.objects.filter(startable, pk=batch.pk).update(
        status=target, progress=0, claim_token="", heartbeat_at=timezone.now(), error=""
    )
    if not started:
        return False
    if runs_in_background(bytes(batch.data), batch.filename):
        transaction.on_commit(lambda: enqueue(batch.pk, apply))
        return True
    return batch_run_claimed(batch.pk, apply=apply, token=f"web-{uuid.uuid4()}")


def batches_restart(batches, *, enqueue):
    """Start again every stalled batch given (an operator's action or recover_background_work): a check
    is checked again; an import is applied again, which writes only if the outcome is still the one
    previewed. Returns the batches restarted."""
    restarted = []
    for batch in batches:
        apply = batch.status == ImportBatch.Status.APPLYING
        try:
            if batch_start(batch, apply=apply, enqueue=enqueue) is not False:
                restarted.append(batch)
        except Exception:  # recorded on the batch as failed, shown on its page
            restarted.append(batch)
    return restarted


def batch_run_claimed(batch_id, *, apply, token):
    """Run a started batch as the attempt `token`, unless another live attempt holds it or it is done.

    A redelivered task (same token) or a run started after the holder stopped reporting takes it over.
    """
    Status = ImportBatch.Status
    stale = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_HEARTBEAT_STALE_SECONDS)
    claimable = Q(claim_token=token) | Q(claim_token="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
    claimed = ImportBatch.objects.filter(claimable, pk=batch_id, status=Status.APPLYING if apply else Status.CHECKING).update(
        claim_token=token, heartbeat_at=timezone.now()
    )
    if not claimed:
        status = ImportBatch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
        running = Status.APPLYING if apply else Status.CHECKING
        return "held by another run" if status == running else "already done"
    batch = ImportBatch.objects.select_related("user").get(pk=batch_id)
    try:
        return batch_run(batch, apply=apply, token=token)
    except Superseded:
        return "superseded by another run"


def _progress_writer(batch_id, token):
    """(write(progress), close): progress and heartbeat where other connections see them at once.

    On PostgreSQL through a connection of its own, since the import's transaction hides its own writes
    until it ends; SQLite allows one writer at a time, so there through the import's connection (the
    embedded default runs tasks in-process, and nobody watches from elsewhere).
    """
    if connection.vendor != "postgresql":
        def write(progress):
            ImportBatch.objects.filter(pk=batch_id, claim_token=token).update(progress=progress, heartbeat_at=timezone.now())
        return write, lambda: None
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    table = side.ops.quote_name(ImportBatch._meta.db_table)

    def write(progress):
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET progress = %s, heartbeat_at = %s WHERE id = %s AND claim_token = %s",
                [progress, timezone.now(), batch_id, token],
            )

    return write, side.close


def batch_run(batch, *, apply, token):
    """Check (apply=False) or apply an ImportBatch as the attempt `token`, recording progress, result
    and status on it. Returns the ImportResult; failures end in status FAILED.

    Applying imports exactly the stored bytes, and nothing if the outcome now differs from the
    preview (the data changed meanwhile) or a project it writes was changed since the preview (the
    versions the preview read, kept in `result`, are compared under the import's locks). The batch's
    final status is written in the import's own transaction, and only while this attempt still holds
    it: applied exactly once, or not at all.
    """
    Status = ImportBatch.Status
    write_progress, close = _progress_writer(batch.pk, token)

    def report(done, total):
        write_progress(0 if not total else min(99, int(done * 100 / total)))

    data = bytes(batch.data)
    try:
        if hashlib.sha256(data).hexdigest() != batch.sha256:
            raise ImportFileError(_("文件内容与预览时不一致。"))
        with transaction.atomic():
            if batch.kind == "progress":
                result = import_progress(data, batch.filename, user=batch.user, month=batch.month, dry_run=not apply, progress=report)
            else:
                # A confirm compares the versions its preview read: a project changed since refuses it.
                result = import_projects(data, batch.filename, user=batch.user, year=batch.year, dry_run=not apply, progress=report,
                                         preview=batch.result if apply else None)
            if apply and (result.errors or result.summary != batch.preview_summary):
                transaction.set_rollback(True)
                raise ImportFileError(
                    _("数据在预览之后发生了变化（预览：%(preview)s；现在：%(now)s），未导入任何内容，请重新上传预览。")
                    % {"preview": describe(batch.result or {}), "now": result.localized_summary}
                )
            fields = {"progress": 100, "result": result.to_dict(), "claim_token": "", "heartbeat_at": timezone.now()}
            if apply:
                fields.update(status=Status.APPLIED, result_summary=result.summary, data=b"")
            else:
                fields.update(status=Status.PREVIEWED, preview_summary=result.summary, year=result.year)
                if batch.kind != "progress":
                    fields["result"].update(result.preview_record())  # what the confirm compares
            mine = ImportBatch.objects.filter(pk=batch.pk, claim_token=token, status=batch.status)
            if not mine.update(**fields):
                transaction.set_rollback(True)
                raise Superseded
    except Superseded:
        raise
    except Exception as error:  # whatever failed is recorded and shown as a failure, never as done
        ImportBatch.objects.filter(pk=batch.pk, claim_token=token).update(
            status=Status.FAILED, error=str(error), progress=100, claim_token=""
        )
        batch.refresh_from_db()
        raise
    finally:
        close()
    batch.refresh_from_db()
    return result
