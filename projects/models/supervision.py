"""What happens when a project falls behind: supervision items (督办事项) that go to whoever must act and
escalate when not handled, and the project's milestones (项目节点), whose lateness warns early."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.domain import rules
from projects.domain.choices import SupervisionCause, SupervisionLevel, SupervisionStatus, SupervisionStepKind
from projects.domain.names import local_name
from projects.models.evidence import ProjectDocument
from projects.models.projects import Project, ProjectChildQuerySet
from projects.models.reporting import Problem
from projects.models.users import User


class MilestoneKind(models.Model):
    """A standard node of a project's life (立项/备案, 用地 ... 投产): catalogue data the province keeps."""

    name = models.CharField(
        verbose_name=_("名称"),
        max_length=30,
        unique=True,
    )
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=60,
        blank=True,
    )
    order = models.PositiveSmallIntegerField(
        verbose_name=_("顺序"),
        default=0,
    )
    is_active = models.BooleanField(
        verbose_name=_("启用"),
        default=True,
        help_text=_("停用的节点不再出现在表单和导入模板中，已填的日期保留。"),
    )

    class Meta:
        verbose_name = _("项目节点类型")
        verbose_name_plural = _("项目节点类型")
        ordering = ["order", "pk"]

    def __str__(self):
        return local_name(self)


class Milestone(models.Model):
    """One node of one project: when it is planned and when it was done. Late: past its planned date
    without an actual date (rules.milestone_is_late)."""

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="milestones",
    )
    kind = models.ForeignKey(
        MilestoneKind,
        verbose_name=_("节点"),
        on_delete=models.PROTECT,
        related_name="milestones",
    )
    planned_on = models.DateField(
        verbose_name=_("计划日期"),
        null=True,
        blank=True,
    )
    actual_on = models.DateField(
        verbose_name=_("实际日期"),
        null=True,
        blank=True,
    )

    history = HistoricalRecords()
    objects = ProjectChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("项目节点")
        verbose_name_plural = _("项目节点")
        ordering = ["project", "kind__order"]
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="milestone_once_per_project")]
        indexes = [
            models.Index(fields=["planned_on"], condition=models.Q(actual_on__isnull=True), name="milestone_pending"),
            # Whether a project has a late node (项目节点滞后: the dashboard's count, the list's second light), read
            # from its pending nodes alone, not from all of its nodes' rows (a county's count 58 -> 18 ms).
            models.Index(fields=["project", "planned_on"], condition=models.Q(actual_on__isnull=True),
                         name="milestone_pending_project"),
        ]

    def __str__(self):
        return f"{self.project} · {self.kind}"

    def clean(self):
        # A node is done when it happened: a date still to come is a plan (the admin's inline, the project
        # page and services.milestones_save all come through here).
        if self.actual_on and self.actual_on > rules.today():
            raise ValidationError({"actual_on": _("实际日期 %(date)s 晚于今天，尚未发生的节点请只填计划日期") % {
                "date": self.actual_on.isoformat()}})


# Not yet closed: with the acting level, or awaiting its sign-off (issue 27). The daily run opens no second
# automatic item for a cause while one of these stands.
UNFINISHED = [SupervisionStatus.OPEN, SupervisionStatus.SIGNOFF]


def overdue_q(on):
    """Items with the acting level past their limit on `on` (an item awaiting sign-off waits on the signer,
    not on the acting level): what every 逾期 count and filter counts."""
    return models.Q(status=SupervisionStatus.OPEN, due_on__lt=on)


def awaiting_signoff_q():
    """Items whose acting level asked to close them and that await sign-off (销号, issue 27)."""
    return models.Q(status=SupervisionStatus.SIGNOFF)


def extension_asked_q():
    """Open items whose acting level asked for more time, awaiting a decision (延期申请, issue 27)."""
    return models.Q(status=SupervisionStatus.OPEN, extension_due_on__isnull=False)


def signed_off_q(level):
    """Items `level` signs off (销号) and decides extensions of (issue 27; projects.supervision.signoff's
    signer_level in SQL): the city a county's items unless the province issued them, the province the rest.
    None for a level that signs off nothing."""
    county, city, province, leader = (SupervisionLevel.COUNTY, SupervisionLevel.CITY, SupervisionLevel.PROVINCE,
                                      SupervisionLevel.LEADER)
    if level == city:
        return models.Q(level=county) & ~models.Q(issuer_level=province)
    if level == province:
        return models.Q(level__in=[city, province, leader]) | models.Q(level=county, issuer_level=province)
    return None


class SupervisionItemQuerySet(ProjectChildQuerySet):
    def open(self):
        """Items not yet closed (with the acting level or awaiting sign-off): what the counts call open."""
        return self.filter(status__in=UNFINISHED)

    def signed_off_by(self, level):
        """Items `level` signs off (销号) and decides extensions of (signed_off_q)."""
        where = signed_off_q(level)
        return self.none() if where is None else self.filter(where)

    def overdue(self, on):
        """Items with the acting level past their limit (an item awaiting sign-off waits on the signer)."""
        return self.filter(overdue_q(on))


class SupervisionItem(models.Model):
    """A supervision item (督办事项): a project's cause for action, the level that must act, and by when.

    Opened by the daily run (a red light, a problem open too long, a report overdue) or by hand; handled
    by that level's responses; escalated a level when its time limit (in working days) passes; closed
    with a result. Written only through projects.supervision."""

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="supervision_items",
    )
    cause = models.CharField(
        verbose_name=_("督办原因"),
        max_length=20,
        choices=SupervisionCause.choices,
    )
    problem = models.ForeignKey(
        Problem,
        verbose_name=_("问题"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="supervision_items",
    )
    report_month = models.DateField(
        verbose_name=_("逾期月份"),
        null=True,
        blank=True,
    )
    description = models.TextField(
        verbose_name=_("督办事项"),
    )
    level = models.CharField(
        verbose_name=_("办理层级"),
        max_length=10,
        choices=SupervisionLevel.choices,
    )
    status = models.CharField(
        verbose_name=_("状态"),
        max_length=10,
        choices=SupervisionStatus.choices,
        default=SupervisionStatus.OPEN,
    )
    opened_on = models.DateField(
        verbose_name=_("督办日期"),
    )
    due_on = models.DateField(
        verbose_name=_("办理时限"),
    )
    escalated_on = models.DateField(
        verbose_name=_("最近升级日期"),
        null=True,
        blank=True,
    )
    opened_by = models.ForeignKey(
        User,
        verbose_name=_("督办人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_on = models.DateField(
        verbose_name=_("办结日期"),
        null=True,
        blank=True,
    )
    result = models.TextField(
        verbose_name=_("办结情况"),
        blank=True,
    )
    # Issue 27: who signs off a manual item (the level that issued it); automatic items: the level above.
    issuer_level = models.CharField(
        verbose_name=_("督办层级"),
        max_length=10,
        choices=SupervisionLevel.choices,
        blank=True,
    )
    extension_due_on = models.DateField(
        verbose_name=_("申请延期至"),
        null=True,
        blank=True,
    )
    extension_reason = models.TextField(
        verbose_name=_("延期理由"),
        blank=True,
    )
    # The working day of the last urge (催办): at most one a working day.
    urged_on = models.DateField(
        verbose_name=_("最近催办日期"),
        null=True,
        blank=True,
    )
    # Moves with every transition by hand: a form carries the version it was read at, and a transition
    # on a stale version is refused (two people at once: the second is told, never overwrites).
    version = models.PositiveIntegerField(
        verbose_name=_("版本"),
        default=0,
    )

    history = HistoricalRecords()
    objects = SupervisionItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("督办事项")
        verbose_name_plural = _("督办事项")
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="supervision_open_due"),
            models.Index(fields=["project", "cause", "status"], name="supervision_project_cause"),
            # The open items of a level (the 待办 count of its answerers), not a scan of every item; with their due
            # dates and ids, counted from the index alone (the province's 15,000 open items: no row read).
            models.Index(fields=["level", "status", "project"], include=["due_on", "id"], name="supervision_level_open"),
            # The items awaiting a sign-off or an extension's decision (the 待办 count of their deciders): a few
            # thousand of the province's items, counted from the index alone instead of a scan of every item.
            models.Index(fields=["level", "issuer_level", "project"], include=["status", "extension_due_on", "id"],
                         condition=awaiting_signoff_q() | extension_asked_q(), name="supervision_awaiting_decision"),
        ]
        # The daily run opens at most one item per cause and project (per problem for an old problem) while
        # it is open, whatever runs at once (two beats, beat and an operator's `supervise`): the database
        # refuses a second, and the run's INSERT passes over what is already there (ON CONFLICT DO NOTHING).
        # Items opened by hand are not limited.
        constraints = [
            models.UniqueConstraint(
                fields=["project", "cause"],
                condition=models.Q(status__in=UNFINISHED,
                                   cause__in=[SupervisionCause.RED_LIGHT, SupervisionCause.OVERDUE_REPORT]),
                name="supervision_open_once_per_cause",
            ),
            models.UniqueConstraint(
                fields=["problem"],
                condition=models.Q(status__in=UNFINISHED, cause=SupervisionCause.OLD_PROBLEM),
                name="supervision_open_once_per_problem",
            ),
        ]

    def __str__(self):
        return f"{self.project} · {self.get_cause_display()}"

    @property
    def is_open(self):
        """With the acting level (not awaiting sign-off, not closed)."""
        return self.status == SupervisionStatus.OPEN

    @property
    def is_unfinished(self):
        return self.status in UNFINISHED

    @property
    def signer_level(self):
        """Issue 27: the level that signs the item off (销号) and decides its extensions: the province for an item
        it issued by hand, the city for the other county items, the province for the rest (a 包联 leader is
        read-only; the province signs off its own level). signed_off_by is the same rule in SQL."""
        if self.level == SupervisionLevel.COUNTY and self.issuer_level != SupervisionLevel.PROVINCE:
            return SupervisionLevel.CITY
        return SupervisionLevel.PROVINCE

    @property
    def awaits_signoff(self):
        return self.status == SupervisionStatus.SIGNOFF


class SupervisionStep(models.Model):
    """One step of an item's timeline, kept for good: opened, a response (办理情况), escalated, closed."""

    item = models.ForeignKey(
        SupervisionItem,
        verbose_name=_("督办事项"),
        on_delete=models.CASCADE,
        related_name="steps",
    )
    kind = models.CharField(
        verbose_name=_("类型"),
        max_length=10,
        choices=SupervisionStepKind.choices,
    )
    level = models.CharField(
        verbose_name=_("层级"),
        max_length=10,
        choices=SupervisionLevel.choices,
    )
    at = models.DateTimeField(
        verbose_name=_("时间"),
        auto_now_add=True,
    )
    user = models.ForeignKey(
        User,
        verbose_name=_("办理人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(
        verbose_name=_("内容"),
        blank=True,
    )

    class Meta:
        verbose_name = _("督办过程")
        verbose_name_plural = _("督办过程")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"


class SupervisionAttachment(models.Model):
    """A document (整改材料) attached to a step of an item (issue 27): the file is a ProjectDocument of the
    item's project, stored, validated and served (access-checked) by projects.evidence."""

    step = models.ForeignKey(
        SupervisionStep,
        verbose_name=_("督办过程"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    document = models.ForeignKey(
        ProjectDocument,
        verbose_name=_("文件"),
        on_delete=models.CASCADE,
        related_name="supervision_attachments",
    )

    class Meta:
        verbose_name = _("督办附件")
        verbose_name_plural = _("督办附件")
        ordering = ["step", "pk"]

    def __str__(self):
        return str(self.document)
