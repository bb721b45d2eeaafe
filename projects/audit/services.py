"""Recording and pruning the audit trail. Every event goes through `audit_record`."""

import datetime

from django.conf import settings
from django.utils import timezone

from projects.models import AuditEvent, MonthlyReport, Project

Code = AuditEvent.Code

# Parameters of a filter that say how a list is shown, not which rows: left out of an export's record.
_NOT_FILTERS = {"format", "o", "p", "page", "page_size", "_changelist_filters", "resource", "csrfmiddlewaretoken"}


def current_request():
    """The request being served in this thread, if any: simple-history's middleware keeps it (for the
    history's user), so model signals — a token saved, a password set — know who acted and from where."""
    from simple_history.models import HistoricalRecords

    return getattr(HistoricalRecords.context, "request", None)


def client_ip(request):
    """The caller's address as the lockout reads it (django-axes: AXES_PROXY_COUNT behind a proxy)."""
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    try:
        return get_client_ip_address(request) or None
    except Exception:  # an address the helper cannot parse is recorded as none, never a failed request
        return request.META.get("REMOTE_ADDR") or None


def audit_record(*, code, request=None, actor=None, username=None, target=None, params=None):
    """Record one event. `request` defaults to the one being served; `actor` to its logged-in user;
    `username` to the actor's; `target` is a model instance (kept as its type, id and name at the time).
    Written in the caller's transaction: an action rolled back leaves no event claiming it happened."""
    request = request if request is not None else current_request()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    if username is None:
        username = actor.get_username() if actor is not None else ""
    fields = {}
    if target is not None:
        fields = {"target_type": target._meta.label_lower, "target_id": str(target.pk), "target": str(target)[:200]}
    return AuditEvent.objects.create(
        code=code, actor=actor, username=username[:150], ip_address=client_ip(request), params=params or {}, **fields,
    )


def export_filters(query):
    """What filtered an export, from the request's query: {parameter: [values]} (as a QueryDict lists them)."""
    return {key: query.getlist(key) for key in sorted(query) if key not in _NOT_FILTERS and any(query.getlist(key))}


def audit_export(request, *, model, rows, fmt):
    """An export: who (the request's user and address), what (the table), which filter, how many rows."""
    return audit_record(code=Code.EXPORT, request=request, params={
        "table": model._meta.label_lower, "format": fmt, "rows": rows, "filters": export_filters(request.GET),
    })


def audit_import_confirmed(request, *, model, file, counts, skipped=0, errors=0, batch=None):
    """A confirmed import: the table, the file and what it does (created, updated, unchanged rows)."""
    params = {"table": model._meta.label_lower, "file": file, "counts": counts, "skipped": skipped, "errors": errors}
    if batch is not None:
        params["batch"] = batch.pk
    return audit_record(code=Code.IMPORT_CONFIRMED, request=request, params=params)


def audit_batch_confirmed(request, batch, *, apply=True, started=True):
    """The confirm of an uploaded list (ImportBatch) that started its import (here or on a worker): the
    counts are its preview's, which is what a confirm applies or nothing. A re-check of a stalled preview
    (apply=False) and a confirm that could not start (already imported, running) are not confirms."""
    if not apply or started is False:
        return None
    result = batch.result or {}
    return audit_import_confirmed(
        request, model=MonthlyReport if batch.kind == "progress" else Project, file=batch.filename,
        counts=result.get("counts", {}), skipped=result.get("skipped", 0), errors=len(result.get("errors", ())), batch=batch,
    )


def audit_prune(*, now=None):
    """Remove the events older than AUDIT_RETENTION_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _by_model = AuditEvent.objects.filter(at__lt=cutoff).delete()
    return deleted
