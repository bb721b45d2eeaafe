"""Uploaded lists between preview and confirmation."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.domain.template import HEADERS
from projects.models.users import User


class ImportBatch(models.Model):
    """An uploaded list between its preview and its confirmation: the bytes previewed are the bytes applied."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("正在检查")
        PREVIEWED = "previewed", _("已预览")
        APPLYING = "applying", _("正在导入")
        APPLIED = "applied", _("已导入")
        FAILED = "failed", _("导入失败")

    user = models.ForeignKey(
        User,
        verbose_name=_("导入人"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    filename = models.CharField(
        verbose_name=_("文件名"),
        max_length=200,
    )
    data = models.BinaryField(
        verbose_name=_("文件内容"),
    )
    kind = models.CharField(
        verbose_name=_("类型"),
        max_length=10,
        choices=[("projects", _("项目清单")), ("progress", _("月度调度"))],
        default="projects",
    )
    sha256 = models.CharField(
        verbose_name=_("校验值"),
        max_length=64,
    )
    year = models.PositiveSmallIntegerField(
        verbose_name=_("年度"),
        null=True,
        blank=True,
    )
    month = models.DateField(
        verbose_name=_("月份"),
        null=True,
        blank=True,
    )
    status = models.CharField(
        verbose_name=_("状态"),
        max_length=10,
        choices=Status.choices,
        default=Status.PREVIEWED,
    )
    progress = models.PositiveSmallIntegerField(
        verbose_name=_("进度（%）"),
        default=0,
    )
    result = models.JSONField(
        verbose_name=_("结果明细"),
        null=True,
        blank=True,
    )
    preview_summary = models.CharField(
        verbose_name=_("预览结果"),
        max_length=200,
        blank=True,
    )
    result_summary = models.CharField(
        verbose_name=_("导入结果"),
        max_length=200,
        blank=True,
    )
    error = models.TextField(
        verbose_name=_("错误"),
        blank=True,
    )
    # The run (Celery task id, or the web request's id) checking or applying the file, and when it
    # last reported: a run silent for longer than IMPORT_HEARTBEAT_STALE_SECONDS has died.
    claim_token = models.CharField(
        verbose_name=_("处理标识"),
        max_length=64,
        blank=True,
    )
    heartbeat_at = models.DateTimeField(
        verbose_name=_("最近进度时间"),
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("上传时间"),
        auto_now_add=True,
    )

    class Meta:
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename


def header_column_choices():
    """The template's columns, by their canonical headings (read when the form is built)."""
    return [(key, chinese) for key, (chinese, _alias) in HEADERS.items()]


class HeaderSynonym(models.Model):
    """A heading a city's or county's list uses for one of the template's columns, added by the province
    so that the import recognises it (the built-in ones are in importing/headers.py)."""

    text = models.CharField(
        verbose_name=_("列名"),
        max_length=60,
        unique=True,
        help_text=_("清单中出现的列名，如“县（市、区）”；比较时忽略空格、全半角和括号中的单位。"),
    )
    column = models.CharField(
        verbose_name=_("对应模板列"),
        max_length=30,
        choices=header_column_choices,
    )

    class Meta:
        verbose_name = _("表头同义词")
        verbose_name_plural = _("表头同义词")
        ordering = ["column", "text"]

    def __str__(self):
        return f"{self.text} → {self.get_column_display()}"
