"""What leaders read (issue 28): the weights of the monthly ranking's composite score, set by the province,
and the monthly bulletins (调度通报) kept as generated: the .docx, who generated it, when, from which data."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.domain.choices import RankingIndicator
from projects.models.catalogue import Region
from projects.models.users import User


class RankingWeight(models.Model):
    """One indicator's weight in the composite score; weight 0 leaves the indicator shown but not scored."""

    indicator = models.CharField(
        verbose_name=_("指标"),
        max_length=30,
        choices=RankingIndicator.choices,
        unique=True,
    )
    weight = models.PositiveSmallIntegerField(
        verbose_name=_("权重"),
        default=0,
        help_text=_("各指标权重之和不必为 100，综合得分按权重占比折算。"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("排名权重")
        verbose_name_plural = _("排名权重")
        ordering = ["indicator"]

    def __str__(self):
        return f"{self.get_indicator_display()}: {self.weight}"


class Bulletin(models.Model):
    """A monthly bulletin (调度通报) of one scope (the province or a city) for one month, as generated.
    Every generation is kept; the newest of a scope and month is the one mailed and offered."""

    region = models.ForeignKey(
        Region,
        verbose_name=_("范围"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    year = models.PositiveSmallIntegerField(
        verbose_name=_("年度"),
    )
    month = models.PositiveSmallIntegerField(
        verbose_name=_("月份"),
    )
    number = models.CharField(
        verbose_name=_("期号"),
        max_length=40,
    )
    file_name = models.CharField(
        verbose_name=_("文件"),
        max_length=255,
    )
    size = models.PositiveIntegerField(
        verbose_name=_("大小（字节）"),
        default=0,
    )
    sha256 = models.CharField(
        verbose_name=_("SHA-256"),
        max_length=64,
        blank=True,
    )
    # What the figures were read from: the data versions at generation and the newest counted report.
    data_version = models.CharField(
        verbose_name=_("数据版本"),
        max_length=200,
        blank=True,
    )
    reports_counted = models.PositiveIntegerField(
        verbose_name=_("计入的月报数"),
        default=0,
    )
    generated_by = models.ForeignKey(
        User,
        verbose_name=_("生成人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("空表示由定时任务生成。"),
    )
    generated_at = models.DateTimeField(
        verbose_name=_("生成时间"),
        default=timezone.now,
    )

    class Meta:
        verbose_name = _("调度通报")
        verbose_name_plural = _("调度通报")
        ordering = ["-year", "-month", "-generated_at"]
        indexes = [models.Index(fields=["region", "year", "month", "generated_at"], name="bulletin_scope_month")]

    def __str__(self):
        return f"{self.number} ({self.year}-{self.month:02d})"
