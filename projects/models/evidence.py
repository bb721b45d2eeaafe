"""Evidence (issue 26): site photos (现场照片) attached to a project's report for a month, and documents
(批复, 合同, 整改材料 …) any project may carry.

The files live in the "evidence" storage (settings.STORAGES: the local file system by default, any
S3-compatible store by settings); rows keep the storage name, never a public URL: files are served only
through projects.evidence.views, which checks that the reader may see the project. Written only by
projects.evidence.services, which validates, re-encodes and extracts what a file says about itself.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models.projects import Project, ProjectChildQuerySet
from projects.models.users import User


class DocumentKind(models.TextChoices):
    APPROVAL = "approval", _("批复")
    CONTRACT = "contract", _("合同")
    RECTIFICATION = "rectification", _("整改材料")
    OTHER = "other", _("其他")


class StoredFile(models.Model):
    """What every stored file keeps: its name in the evidence storage, its size, who uploaded it and when."""

    file_name = models.CharField(
        verbose_name=_("文件"),
        max_length=255,
    )
    size = models.PositiveIntegerField(
        verbose_name=_("大小（字节）"),
        default=0,
    )
    uploaded_by = models.ForeignKey(
        User,
        verbose_name=_("上传人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(
        verbose_name=_("上传时间"),
        default=timezone.now,
    )

    class Meta:
        abstract = True


class ReportPhoto(StoredFile):
    """A site photo of a project for a reported month, re-encoded without its EXIF block; the time and place
    the camera recorded are kept as fields, the checks (projects.evidence.checks) read them."""

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="photos",
    )
    # The report's month (its first day), not a key to the report: a photo may be taken and uploaded
    # before the figure is filled in, and a report returned and submitted again keeps its photos.
    month = models.DateField(
        verbose_name=_("月份"),
    )
    thumbnail_name = models.CharField(
        verbose_name=_("缩略图"),
        max_length=255,
    )
    original_name = models.CharField(
        verbose_name=_("原文件名"),
        max_length=255,
        blank=True,
    )
    # SHA-256 of the decoded pixels: the same picture uploaded again (even with its EXIF stripped or
    # changed) has the same hash, which is what the duplicate check looks for.
    content_hash = models.CharField(
        verbose_name=_("内容指纹"),
        max_length=64,
        db_index=True,
    )
    width = models.PositiveIntegerField(
        verbose_name=_("宽"),
        default=0,
    )
    height = models.PositiveIntegerField(
        verbose_name=_("高"),
        default=0,
    )
    taken_at = models.DateTimeField(
        verbose_name=_("拍摄时间"),
        null=True,
        blank=True,
    )
    latitude = models.DecimalField(
        verbose_name=_("纬度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
    )
    longitude = models.DecimalField(
        verbose_name=_("经度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
    )

    objects = ProjectChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("现场照片")
        verbose_name_plural = _("现场照片")
        ordering = ["project", "month", "uploaded_at", "pk"]
        indexes = [models.Index(fields=["project", "month"], name="photo_project_month")]

    def __str__(self):
        return f"{self.project_id} {self.month:%Y-%m} {self.original_name}"


class ProjectDocument(StoredFile):
    """A document a project carries (批复, 合同, 整改材料, 其他): a PDF, an Office file or an image."""

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="documents",
    )
    kind = models.CharField(
        verbose_name=_("类别"),
        max_length=20,
        choices=DocumentKind.choices,
        default=DocumentKind.OTHER,
    )
    original_name = models.CharField(
        verbose_name=_("原文件名"),
        max_length=255,
    )
    content_type = models.CharField(
        verbose_name=_("文件类型"),
        max_length=100,
    )
    content_hash = models.CharField(
        verbose_name=_("内容指纹"),
        max_length=64,
    )

    objects = ProjectChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("项目文件")
        verbose_name_plural = _("项目文件")
        ordering = ["project", "-uploaded_at", "-pk"]

    def __str__(self):
        return self.original_name
