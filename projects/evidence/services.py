"""The writers of evidence (issue 26): a site photo for a project's month, a document for a project. Each
checks that the user may edit the project, validates and re-encodes the file (projects.evidence.files),
stores the clean copy in the "evidence" storage and records who uploaded it when."""

import datetime
import hashlib
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.evidence import files
from projects.models import DocumentKind, Project, ProjectDocument, ReportPhoto, User

STORAGE_ALIAS = "evidence"


def evidence_storage():
    """The storage evidence lives in: STORAGES["evidence"] (the local file system under var/media by
    default, an S3-compatible bucket by settings). Looked up at each use, so a test's settings apply."""
    return storages[STORAGE_ALIAS]


def _check_may_edit(user, project):
    if not Project.objects.editable_by(user).filter(pk=project.pk).exists():
        raise PermissionDenied


def _store(storage, name, data, saved):
    stored = storage.save(name, ContentFile(data))
    saved.append(stored)
    return stored


def _stored_atomically(write):
    """Run `write(storage, saved)` in a transaction; when it fails, remove the files it stored (no orphans in the bucket)."""
    saved = []
    storage = evidence_storage()
    try:
        with transaction.atomic():
            return write(storage, saved)
    except BaseException:
        for name in saved:
            storage.delete(name)
        raise


def photo_upload(*, user: User, project: Project, month: datetime.date, upload) -> ReportPhoto:
    """Attach a site photo to the project's report of `month` (its first day). Raises ValidationError
    (a refused file, with a message that names it) or PermissionDenied."""
    _check_may_edit(user, project)
    month = month.replace(day=1)
    if month > timezone.localdate().replace(day=1):
        raise ValidationError(_("不能为未来的月份上传照片"), code="future_month")
    data = files.read_upload(upload, limit=settings.EVIDENCE_MAX_PHOTO_BYTES)
    image = files.clean_image(data, name=upload.name)
    stem = f"photos/{project.pk}/{month:%Y-%m}/{uuid.uuid4().hex}"

    def write(storage, saved):
        return ReportPhoto.objects.create(
            project=project, month=month,
            file_name=_store(storage, f"{stem}.jpg", image.data, saved),
            thumbnail_name=_store(storage, f"{stem}-thumb.jpg", image.thumbnail, saved),
            original_name=(upload.name or "")[:255], content_hash=image.content_hash, size=len(image.data),
            width=image.width, height=image.height, taken_at=image.taken_at,
            latitude=image.latitude, longitude=image.longitude, uploaded_by=user,
        )

    return _stored_atomically(write)


def document_upload(*, user: User, project: Project, kind: str, upload) -> ProjectDocument:
    """Attach a document (PDF, docx, xlsx or an image) of a kind (批复/合同/整改材料/其他) to a project.
    Images are re-encoded like photos (no EXIF in the stored file). Raises ValidationError or
    PermissionDenied."""
    _check_may_edit(user, project)
    if kind not in DocumentKind.values:
        raise ValidationError(_("请选择文件类别"), code="kind")
    name = upload.name or ""
    extension = files.extension_of(name)
    if extension in files.MACRO_EXTENSIONS:
        raise ValidationError(_("“%(name)s”：不接受含宏或旧格式的 Office 文件，请另存为 docx/xlsx"),
                              code="macro", params={"name": name})
    if extension not in {"pdf", *files.OFFICE_TYPES, *files.IMAGE_EXTENSIONS}:
        raise ValidationError(_("“%(name)s”：只接受 PDF、Word（docx）、Excel（xlsx）和图片"),
                              code="type", params={"name": name})
    data = files.read_upload(upload, limit=settings.EVIDENCE_MAX_DOCUMENT_BYTES)
    if extension == "pdf":
        content_type = files.clean_pdf(data, name=name)
    elif extension in files.OFFICE_TYPES:
        content_type = files.clean_office(data, name=name, extension=extension)
    else:
        image = files.clean_image(data, name=name, keep_format=True)
        data, content_type = image.data, image.content_type
        extension = "jpg" if image.format == "jpeg" else image.format
    content_hash = hashlib.sha256(data).hexdigest()

    def write(storage, saved):
        return ProjectDocument.objects.create(
            project=project, kind=kind,
            file_name=_store(storage, f"documents/{project.pk}/{uuid.uuid4().hex}.{extension}", data, saved),
            original_name=name[:255], content_type=content_type, content_hash=content_hash, size=len(data),
            uploaded_by=user,
        )

    return _stored_atomically(write)
