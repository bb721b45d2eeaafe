"""Action plans (the eight special actions and later plans' sets): actions, their measures and targets."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.domain.names import local_name


class ActionPlan(models.Model):
    """A plan that defines a numbered set of actions (the 14th Five-Year "eight actions", the 2023 "six actions")."""

    code = models.SlugField(
        verbose_name=_("代码"),
        max_length=40,
        unique=True,
    )
    name = models.CharField(
        verbose_name=_("名称"),
        max_length=200,
    )
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=200,
        blank=True,
    )
    start_year = models.PositiveSmallIntegerField(
        verbose_name=_("起始年份"),
    )
    end_year = models.PositiveSmallIntegerField(
        verbose_name=_("结束年份"),
    )
    is_primary = models.BooleanField(
        verbose_name=_("默认行动方案"),
        default=False,
        help_text=_("导入时按编号识别的行动属于默认方案。"),
    )
    source = models.CharField(
        verbose_name=_("来源"),
        max_length=300,
        blank=True,
    )

    class Meta:
        verbose_name = _("行动方案")
        verbose_name_plural = _("行动方案")
        ordering = ["-is_primary", "start_year", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_primary"],
                condition=models.Q(is_primary=True),
                name="actions_single_primary_plan",
            )
        ]

    def __str__(self):
        return local_name(self)


class Action(models.Model):
    """One numbered action of a plan (e.g. 1 产业创新能力提升行动); projects are tagged with actions."""

    plan = models.ForeignKey(
        ActionPlan,
        verbose_name=_("行动方案"),
        on_delete=models.PROTECT,
        related_name="actions",
    )
    number = models.PositiveSmallIntegerField(
        verbose_name=_("编号"),
    )
    name = models.CharField(
        verbose_name=_("名称"),
        max_length=100,
    )
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=200,
        blank=True,
    )
    summary = models.TextField(
        verbose_name=_("概述"),
        blank=True,
    )

    class Meta:
        verbose_name = _("专项行动")
        verbose_name_plural = _("专项行动")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="actions_action_unique_number"),
            models.UniqueConstraint(fields=["plan", "name"], name="actions_action_unique_name"),
        ]

    def __str__(self):
        return f"{self.number}. {local_name(self)}"


class Measure(models.Model):
    """A measure (举措) listed under an action in the plan's text."""

    action = models.ForeignKey(
        Action,
        verbose_name=_("专项行动"),
        on_delete=models.CASCADE,
        related_name="measures",
    )
    number = models.PositiveSmallIntegerField(
        verbose_name=_("序号"),
    )
    title = models.CharField(
        verbose_name=_("举措"),
        max_length=200,
    )
    title_en = models.CharField(
        verbose_name=_("英文"),
        max_length=300,
        blank=True,
    )
    text = models.TextField(
        verbose_name=_("内容"),
        blank=True,
    )

    class Meta:
        verbose_name = _("举措")
        verbose_name_plural = _("举措")
        ordering = ["action", "number"]
        constraints = [
            models.UniqueConstraint(fields=["action", "number"], name="actions_measure_unique_number"),
        ]

    def __str__(self):
        return self.title


class Target(models.Model):
    """A quantified target of an action (e.g. 2023: 10,000 industrial projects)."""

    action = models.ForeignKey(
        Action,
        verbose_name=_("专项行动"),
        on_delete=models.CASCADE,
        related_name="targets",
    )
    indicator = models.CharField(
        verbose_name=_("指标"),
        max_length=200,
    )
    value = models.DecimalField(
        verbose_name=_("目标值"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
    )
    unit = models.CharField(
        verbose_name=_("单位"),
        max_length=20,
        blank=True,
    )
    year = models.PositiveSmallIntegerField(
        verbose_name=_("目标年份"),
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        ordering = ["action", "year", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["action", "indicator", "year"], name="actions_target_unique"),
        ]

    def __str__(self):
        return self.indicator


def plans_current_first(plans, year):
    """Action plans in the order a chooser lists them: the one in force in `year` first (the primary one
    when several are), then the others, newest first."""
    def key(plan):
        in_force = (plan.start_year or 0) <= year <= (plan.end_year or 9999)
        return (not in_force, not plan.is_primary, -(plan.start_year or 0), plan.pk)

    return sorted(plans, key=key)


def grouped_action_choices(actions, year):
    """[(plan name, [(action pk, "N. name"), ...]), ...] for a <select> with one group per plan."""
    by_plan = {}
    for action in actions:
        by_plan.setdefault(action.plan, []).append(action)
    return [
        (str(plan), [(action.pk, str(action)) for action in sorted(by_plan[plan], key=lambda a: a.number)])
        for plan in plans_current_first(by_plan, year)
    ]
