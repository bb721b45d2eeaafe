"""The province's additions to China's working-day calendar (SPEC §2: deadlines move off rest days)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkdayOverride(models.Model):
    """One day whose status the province sets by hand: a 调休 working day on a weekend, or a rest day.

    The State Council announces next year's 法定节假日 and 调休 each November, before a release of the
    calendar package knows them; an override wins over the package (see projects.domain.workdays).
    """

    date = models.DateField(
        verbose_name=_("日期"),
        unique=True,
    )
    is_workday = models.BooleanField(
        verbose_name=_("上班"),
        default=False,
        help_text=_("勾选：该日为调休上班日（通常是周末）；不勾选：该日放假休息。"),
    )
    note = models.CharField(
        verbose_name=_("说明"),
        max_length=50,
        blank=True,
        help_text=_("例如“2027年春节”。"),
    )

    class Meta:
        verbose_name = _("节假日调休")
        verbose_name_plural = _("节假日调休")
        ordering = ["date"]

    def __str__(self):
        kind = _("上班") if self.is_workday else _("休息")
        return f"{self.date:%Y-%m-%d} {kind}"
