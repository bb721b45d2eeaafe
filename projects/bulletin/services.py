"""Generating and keeping the monthly bulletins (调度通报): every generation is kept, the .docx in the
"bulletins" storage (STORAGES: the file system under MEDIA_ROOT by default, an S3-compatible bucket by
settings; never a public URL, views.bulletin_file serves it) and a Bulletin row saying who generated it (none:
the beat task), when, from which data (the data versions and the reports counted), its size and SHA-256."""

import hashlib
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone, translation

from projects.bulletin import content, reads
from projects.domain import rules
from projects.mail import digests
from projects.models import Bulletin, Region

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "bulletins"
DOCX_TYPE = digests.DOCX_TYPE
# Two runs at once (the 07:30 task and the monthly digest's dispatch) generate a scope's bulletin once.
GENERATING_SECONDS = 600


def bulletin_storage():
    """The storage bulletins live in, looked up at each use so that a test's settings apply."""
    return storages[STORAGE_ALIAS]


def bulletin_generate(*, region, month, user=None, language=None):
    """Generate and keep `region`'s bulletin of `month` (any day of it), in `language` (the requester's;
    default the site's, Chinese). `user` None: the beat task. Returns the Bulletin."""
    month = rules.month_start(month)
    with translation.override(language or settings.LANGUAGE_CODE):
        figures = reads.bulletin_figures(region, month)
        now = timezone.now()
        data = content.bulletin_document(figures, issued_on=timezone.localdate(now))
        download_name = content.file_name(region, month)
        number = content.bulletin_number(month)
    storage = bulletin_storage()
    # The name ends in the download name, so the file keeps it wherever it is read from (the digest's attachment).
    stored = storage.save(f"{region.code}/{month:%Y-%m}/{uuid.uuid4().hex}/{download_name}", ContentFile(data))
    try:
        with transaction.atomic():
            return Bulletin.objects.create(
                region=region, year=month.year, month=month.month, number=number[:40], file_name=stored,
                size=len(data), sha256=hashlib.sha256(data).hexdigest(), data_version=figures.data_version[:200],
                reports_counted=figures.reports_counted, generated_by=user, generated_at=now,
            )
    except BaseException:
        storage.delete(stored)  # no file without its row
        raise


def bulletin_bytes(bulletin):
    with bulletin_storage().open(bulletin.file_name, "rb") as handle:
        return handle.read()


def download_name(bulletin):
    return bulletin.file_name.rsplit("/", 1)[-1]


def bulletins_ensure(month):
    """The beat task's bulletins of `month`: the province's and each city-level unit's, generated once each (a
    scope that has one the task generated is left; an operator's by hand do not count). Returns those made."""
    month = rules.month_start(month)
    made = []
    for region in reads.bulletin_scopes():
        kept = Bulletin.objects.filter(region=region, year=month.year, month=month.month, generated_by__isnull=True)
        lock = f"projects:bulletin:generating:{region.pk}:{month:%Y-%m}"
        if kept.exists() or not cache.add(lock, 1, timeout=GENERATING_SECONDS):
            continue
        try:
            if not kept.exists():  # made by a run that finished while this one looked
                made.append(bulletin_generate(region=region, month=month))
        finally:
            cache.delete(lock)
    return made


def bulletins_due(on):
    """Generate the bulletins due on day `on` (the first working day after a month's report deadline):
    {month: number made}; empty on other days."""
    return {month: len(bulletins_ensure(month)) for month in reads.months_due(on)}


def kept_bulletins(user):
    """The bulletins of the scopes `user` may see (Region.objects.visible_to), newest first."""
    if not reads.may_read(user):
        return Bulletin.objects.none()
    return (Bulletin.objects.filter(region__in=Region.objects.visible_to(user))
            .select_related("region", "generated_by").order_by("-year", "-month", "-generated_at", "-pk"))
