"""The monthly dispatch cycle (月度调度): reports, their review, and the problems raised with them."""

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.domain import rules
from projects.domain.access import project_scope_q, review_scope_q
from projects.domain.choices import COUNTED_REVIEW_STATUSES, ProblemCategory, ProblemStatus, ReviewAction, ReviewStatus
from projects.domain.figures import CheckWarning, money_constraints
from projects.models.catalogue import money_field
from projects.models.projects import Project, ProjectChildQuerySet
from projects.models.users import User


class MonthlyReportQuerySet(ProjectChildQuerySet):
    def reviewable_by(self, user, *, may_review=None):
        """The reports whose review falls to this user (see access.review_scope_q)."""
        return self.filter(review_scope_q(user, may_review=may_review))

    def counted(self):
        """Reports that count: their figure is in the totals and their month counts as reported."""
        return self.filter(review_status__in=COUNTED_REVIEW_STATUSES)


class MonthlyReport(models.Model):
    """The monthly progress report (月度调度): one per project per month.

    Written only through projects.reporting, which stamps, checks and reviews it: a save that changes
    nothing is not a save (no stamp, no version, no history row).
    """

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="reports",
    )
    month = models.DateField(
        verbose_name=_("月份"),
        help_text=_("该月第一天。"),
    )
    completed_investment = money_field(
        _("本月完成投资（万元）"),
    )
    # 招商引资 items report the funds that arrived this month (实际到位资金) beside completed investment;
    # blank for projects that do not (issue 25).
    funds_in_place = money_field(
        _("本月实际到位资金（万元）"),
        null=True,
        blank=True,
    )
    image_progress = models.TextField(
        verbose_name=_("形象进度"),
        blank=True,
    )
    note = models.TextField(
        verbose_name=_("说明"),
        blank=True,
        help_text=_("填报人对数据校验提示的说明。"),
    )
    # The checks that fired when the figure was saved and the editor confirmed with a note: a list of
    # {"code", "params", "figure"} (figures.CheckWarning), worded in the reader's language when shown; the
    # note confirms exactly these (a changed figure asks again).
    warnings = models.JSONField(
        verbose_name=_("校验提示"),
        default=list,
        blank=True,
        editable=False,
    )
    reported_by = models.ForeignKey(
        User,
        verbose_name=_("填报人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reported_at = models.DateTimeField(
        verbose_name=_("填报时间"),
        default=timezone.now,
        editable=False,
    )
    review_status = models.CharField(
        verbose_name=_("审核状态"),
        max_length=10,
        choices=ReviewStatus.choices,
        default=ReviewStatus.SUBMITTED,
        editable=False,
    )
    reviewed_by = models.ForeignKey(
        User,
        verbose_name=_("审核人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(
        verbose_name=_("审核时间"),
        null=True,
        blank=True,
        editable=False,
    )
    review_reason = models.TextField(
        verbose_name=_("退回原因"),
        blank=True,
        editable=False,
    )
    # Optimistic lock per row: a form names the version it was loaded with, and a row that changed
    # since (another editor, a review) is refused for that row only.
    version = models.PositiveIntegerField(
        verbose_name=_("版本"),
        default=1,
        editable=False,
    )

    history = HistoricalRecords(excluded_fields=["version"])
    objects = MonthlyReportQuerySet.as_manager()

    @property
    def check_warnings(self):
        """The stored warnings, each worded in the reader's language."""
        return [CheckWarning.from_stored(stored) for stored in self.warnings or ()]

    class Meta:
        verbose_name = _("月度调度")
        verbose_name_plural = _("月度调度")
        ordering = ["project", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["project", "month"], name="projects_report_unique_month"),
            *money_constraints("projects_report", "completed_investment", "funds_in_place"),
        ]
        indexes = [
            models.Index(fields=["month", "review_status"]),
            # The reports awaiting someone (to review, to report again): the inbox and its menu count read them
            # per project after every write in a scope; a few percent of the reports, looked up without the rest.
            models.Index(fields=["project", "month", "review_status"], name="projects_report_pending",
                         condition=models.Q(review_status__in=[ReviewStatus.SUBMITTED, ReviewStatus.RETURNED])),
            # The returned reports of the months the report page offers, counted for a scope's menu without their rows.
            models.Index(fields=["month", "project"], name="projects_report_returned",
                         condition=models.Q(review_status=ReviewStatus.RETURNED)),
        ]
        permissions = [("review_monthlyreport", _("可以审核月度调度"))]

    def __str__(self):
        return self.month.strftime("%Y-%m") if self.month else ""

    def clean(self):
        if self.month:
            # Whatever day a form sends, a report is for a month.
            self.month = self.month.replace(day=1)
            if self.month > datetime.date.today().replace(day=1):
                raise ValidationError({"month": _("不能填报未来月份。")})

    @property
    def is_late(self):
        return rules.report_is_late(month=self.month, reported_at=self.reported_at)

    @property
    def is_locked(self):
        """Approved: nobody changes it until its reviewer reopens it."""
        return self.review_status == ReviewStatus.APPROVED


class ReportTransitionQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(project_scope_q(user, "report__project__"))


class ReportTransition(models.Model):
    """One step of a report's review, kept for good: who, when, what and why (the review's history)."""

    report = models.ForeignKey(
        MonthlyReport,
        verbose_name=_("月度调度"),
        on_delete=models.CASCADE,
        related_name="transitions",
    )
    action = models.CharField(
        verbose_name=_("操作"),
        max_length=10,
        choices=ReviewAction.choices,
    )
    from_status = models.CharField(
        verbose_name=_("原状态"),
        max_length=10,
        choices=ReviewStatus.choices,
        blank=True,
    )
    to_status = models.CharField(
        verbose_name=_("新状态"),
        max_length=10,
        choices=ReviewStatus.choices,
    )
    user = models.ForeignKey(
        User,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    at = models.DateTimeField(
        verbose_name=_("时间"),
        default=timezone.now,
    )
    reason = models.TextField(
        verbose_name=_("原因"),
        blank=True,
    )

    objects = ReportTransitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("审核记录")
        verbose_name_plural = _("审核记录")
        ordering = ["report", "at", "pk"]

    def __str__(self):
        return f"{self.report} · {self.get_action_display()}"


class Problem(models.Model):
    """A problem that needs coordination (问题协调), tracked until resolved."""

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="problems",
    )
    category = models.CharField(
        verbose_name=_("问题类别"),
        max_length=20,
        choices=ProblemCategory.choices,
        default=ProblemCategory.OTHER,
    )
    description = models.TextField(
        verbose_name=_("问题描述"),
    )
    responsible_unit = models.CharField(
        verbose_name=_("责任单位"),
        max_length=200,
        blank=True,
    )
    raised_on = models.DateField(
        verbose_name=_("提出日期"),
        default=datetime.date.today,
    )
    status = models.CharField(
        verbose_name=_("状态"),
        max_length=20,
        choices=ProblemStatus.choices,
        default=ProblemStatus.OPEN,
    )
    resolution = models.TextField(
        verbose_name=_("解决情况"),
        blank=True,
    )
    resolved_on = models.DateField(
        verbose_name=_("解决日期"),
        null=True,
        blank=True,
    )

    history = HistoricalRecords()
    objects = ProjectChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("问题协调")
        verbose_name_plural = _("问题协调")
        ordering = ["project", "-raised_on"]
        indexes = [models.Index(fields=["status", "raised_on"])]

    def __str__(self):
        return self.description[:40]

    def clean(self):
        if self.status == ProblemStatus.RESOLVED and not self.resolved_on:
            self.resolved_on = datetime.date.today()
        if self.resolved_on and self.raised_on and self.resolved_on < self.raised_on:
            raise ValidationError({"resolved_on": _("解决日期早于提出日期。")})
