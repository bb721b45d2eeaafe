"""The monthly dispatch cycle (月度调度): what is reported, the checks a figure passes before it counts
(数据校验), and the review by the city-level unit (审核).

Every writer of monthly reports — the report page, the progress-workbook import, the admin, the API — goes
through `reports_submit`; every change of review status through `reports_review`. Those two are the
state machine: SUBMITTED (已报送) → APPROVED (已审核, locked) or RETURNED (已退回, counts as not reported);
a changed resubmission of a returned report is SUBMITTED again; a reviewer may reopen an approved one."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from projects.domain import rules
from projects.domain.choices import UNDER_CONSTRUCTION, MailKind, ProblemStatus, ReviewAction, ReviewStatus
from projects.domain.figures import CheckWarning, money_text
from projects.mail import delivery
from projects.models import AnnualPlan, MonthlyReport, Problem, Project, ReportTransition, User
from projects.shared import locks
from projects.shared.editing import progress_refresh
from projects.shared.versions import projects_changed

ZERO = Decimal(0)

# A path that does not carry funds in place (实际到位资金, issue 25) leaves the stored figure as it is.
KEEP = "keep"


# --- Entries and their checks ---------------------------------------------------------------------------


@dataclass
class ReportEntry:
    """One row of the report page, a progress workbook or the admin: what a project reports for a month."""

    project: Project
    month: datetime.date
    completed_investment: Decimal
    image_progress: str = ""
    problem: str = ""
    note: str = ""  # 说明: the editor's word on the checks that fired
    # The stored report's version the user saw (0: there was none); None: not checked (an import, whose
    # preview and confirm are compared as a whole instead).
    expected_version: int | None = None
    # The keys of the warnings the user was shown for this figure and confirms by resubmitting (the report
    # page and the API hand them back).
    confirmed: frozenset = frozenset()
    # Funds in place this month (万元, None: none reported); KEEP: this path does not carry them.
    funds_in_place: Decimal | None | str = KEEP

    def funds_for(self, report):
        """The funds in place to store: the entry's, or the stored report's when the entry keeps them."""
        if self.funds_in_place == KEEP:
            return report.funds_in_place if report is not None else None
        return self.funds_in_place

    def confirms(self, warnings, report):
        """The warnings not confirmed by a note written for them: a note typed with the figure (not the
        stored one, written for another figure) confirms that figure's warnings; a resubmission confirms
        those it was shown (`confirmed`); the stored report keeps the keys its note confirmed, so a warning
        stays confirmed while its figure does, and a changed figure asks again."""
        note = self.note.strip()
        if not note:
            return list(warnings)
        confirmed = set(self.confirmed)
        if report is not None:
            confirmed |= {CheckWarning.from_stored(kept).key for kept in report.warnings}
        if report is None or note != report.note:
            confirmed |= {warning.key for warning in warnings}
        return [warning for warning in warnings if warning.key not in confirmed]


class EntryStatus:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # not the user's, locked, or changed by someone else since the page was loaded
    NEEDS_NOTE = "needs_note"  # a check fired: confirm with a note (说明), or correct the figure


@dataclass
class EntryOutcome:
    entry: ReportEntry
    status: str
    message: str = ""
    warnings: list = field(default_factory=list)
    report: MonthlyReport | None = None  # the stored report (before saving), if any
    new_problem: bool = False
    code: str = ""  # why a row was refused: forbidden, future, stale, locked

    @property
    def saves_report(self):
        return self.status in (EntryStatus.CREATED, EntryStatus.UPDATED)

    @property
    def saves_anything(self):
        return self.saves_report or (self.new_problem and self.status == EntryStatus.UNCHANGED)


class _CheckContext:
    """What the checks need about a batch of entries, loaded in a fixed number of queries: the year's
    plans, and the counted reports of each project from two months before the earliest year's start."""

    def __init__(self, entries):
        project_ids = {entry.project.pk for entry in entries}
        years = {entry.month.year for entry in entries}
        self.plans = {
            (plan.project_id, plan.year): plan
            for plan in AnnualPlan.objects.filter(project_id__in=project_ids, year__in=years)
        }
        first = rules.add_months(datetime.date(min(years), 1, 1), -(settings.REPORT_CHECK_IDLE_MONTHS - 1))
        self.amounts = dict(
            ((project_id, month), amount)
            for project_id, month, amount in MonthlyReport.objects.counted()
            .filter(project_id__in=project_ids, month__gte=first, month__lte=datetime.date(max(years), 12, 1))
            .values_list("project_id", "month", "completed_investment")
        ) if project_ids else {}

    def other_months_of_year(self, project_id, month):
        return [
            amount for (pid, other), amount in self.amounts.items()
            if pid == project_id and other.year == month.year and other != month
        ]


def report_checks(entry, context):
    """The checks (数据校验) a figure passes before it counts; each that fires is a warning, kept as its code,
    its parameters and the figure it fired on (figures.CheckWarning)."""
    project, month, amount = entry.project, entry.month, entry.completed_investment
    warnings = []

    def warn(code, **params):
        warnings.append(CheckWarning(code, {name: str(value) for name, value in params.items()}, f"{amount:.2f}"))

    others = context.other_months_of_year(project.pk, month)
    year_total = sum(others, ZERO) + amount
    plan = context.plans.get((project.pk, month.year))
    before_year = plan.completed_before_year if plan else ZERO
    if project.total_investment and before_year + year_total > project.total_investment:
        warn("over_total", cumulative=before_year + year_total, total=project.total_investment)
    if project.total_investment and amount > project.total_investment:
        # Beyond the column's limit, the plausibility limit: one month above the whole project.
        warn("month_over_total", amount=amount, total=project.total_investment)
    funds = None if entry.funds_in_place == KEEP else entry.funds_in_place
    if funds is not None and project.contract_amount and funds > project.contract_amount:
        # The same for funds in place (issue 25): one month's above the whole contract; keyed by that figure.
        warnings.append(CheckWarning("funds_over_contract", {"amount": str(funds), "total": str(project.contract_amount)},
                                     f"{funds:.2f}"))
    ratio = Decimal(str(settings.REPORT_CHECK_PLAN_RATIO))
    if plan and plan.planned_investment > 0 and year_total > plan.planned_investment * ratio:
        warn("over_plan", year=year_total, plan=plan.planned_investment, ratio=f"{ratio * 100:.0f}")
    multiple = Decimal(str(settings.REPORT_CHECK_MONTH_MULTIPLE))
    if others:
        average = sum(others, ZERO) / len(others)
        if amount > multiple * average and amount > Decimal(str(settings.REPORT_CHECK_MONTH_MIN)):
            warn("spike", amount=amount, average=average.quantize(Decimal("0.01")), multiple=f"{multiple.normalize():f}")
    if project.actual_end and month > rules.month_start(project.actual_end) and amount > 0:
        warn("after_completion", date=project.actual_end.isoformat())
    idle = settings.REPORT_CHECK_IDLE_MONTHS
    if project.stage in UNDER_CONSTRUCTION and amount == 0:
        previous = [context.amounts.get((project.pk, rules.add_months(month, -back))) for back in range(1, idle)]
        if all(value is not None and value == 0 for value in previous):
            warn("idle", months=idle)
    return warnings


# --- Submitting ------------------------------------------------------------------------------------------


def _same(report, entry):
    return (report.completed_investment, report.image_progress, report.note, report.funds_in_place) == (
        entry.completed_investment, entry.image_progress, entry.note, entry.funds_for(report))


def reports_prepare(*, user, entries, lock=False):
    """What saving each entry would do, deciding row by row and writing nothing (the admin's form
    validation; `reports_submit` with lock=True inside its transaction)."""
    if not entries:
        return []
    project_ids = {entry.project.pk for entry in entries}
    editable = set(Project.objects.editable_by(user).filter(pk__in=project_ids).values_list("pk", flat=True)) if user else project_ids
    stored_reports = MonthlyReport.objects.filter(project_id__in=project_ids, month__in={entry.month for entry in entries})
    if lock:
        # The projects first, then their reports (locks.py: one order for every writer): two first reports
        # of one project at once are decided one after the other, the second finding the first.
        locks.projects_lock(project_ids)
        stored_reports = locks.reports_lock(stored_reports)
    stored = {(report.project_id, report.month): report for report in stored_reports}
    open_problems = set(
        Problem.objects.filter(project_id__in=project_ids).exclude(status=ProblemStatus.RESOLVED).values_list("project_id", "description")
    )
    context = _CheckContext(entries)
    this_month = rules.month_start(rules.today())
    outcomes = []
    for entry in entries:
        report = stored.get((entry.project.pk, entry.month))
        new_problem = bool(entry.problem) and (entry.project.pk, entry.problem) not in open_problems

        def outcome(status, message="", warnings=(), code="", entry=entry, report=report, new_problem=new_problem):
            outcomes.append(EntryOutcome(entry, status, message, list(warnings), report, new_problem, code))

        if entry.project.pk not in editable:
            outcome(EntryStatus.REFUSED, _("无权填报该项目。"), code="forbidden")
        elif entry.month >= this_month:
            outcome(EntryStatus.REFUSED, _("只能填报已结束的月份。"), code="future")
        elif report is not None and _same(report, entry):
            outcome(EntryStatus.UNCHANGED)  # whatever version the page had: nothing to write, nothing to lose
        elif entry.expected_version is not None and (report.version if report else 0) != entry.expected_version:
            by = report.reported_by if report else None
            outcome(EntryStatus.REFUSED, _("该行在您打开页面后已被他人修改（%(who)s），您的修改未保存；请核对当前数据后重新填写。") % {
                "who": by.get_full_name() or by.username if by else _("已删除")}, code="stale")
        elif report is not None and report.is_locked:
            outcome(EntryStatus.REFUSED, _("该月报已审核，已锁定；如需修改，请审核人撤销审核。"), code="locked")
        else:
            warnings = report_checks(entry, context)
            if entry.confirms(warnings, report):
                outcome(EntryStatus.NEEDS_NOTE, _("请核对；如确认无误，请填写说明后再次提交。"), warnings)
            else:
                outcome(EntryStatus.UPDATED if report else EntryStatus.CREATED, warnings=warnings)
    return outcomes


@transaction.atomic
def reports_submit(*, user, entries):
    """Save the entries that changed, as `user`, and open the problems they name; returns one outcome
    per entry. Unchanged rows are not written (no stamp, no version, no history row); refused rows and
    rows whose checks want a note are not written either, and the others are."""
    outcomes = reports_prepare(user=user, entries=entries, lock=True)
    now = timezone.now()
    creates, updates, transitions = [], [], []
    for outcome in outcomes:
        if not outcome.saves_report:
            continue
        entry = outcome.entry
        report = outcome.report or MonthlyReport(project=entry.project, month=entry.month, version=0)
        previous_status = report.review_status if report.pk else ""
        report.funds_in_place = entry.funds_for(outcome.report)
        report.completed_investment = entry.completed_investment
        report.image_progress = entry.image_progress
        report.note = entry.note.strip()
        report.warnings = [warning.as_dict() for warning in outcome.warnings]
        report.reported_by, report.reported_at = user, now
        report.review_status = ReviewStatus.SUBMITTED
        report.reviewed_by, report.reviewed_at = None, None
        report.version += 1
        (updates if report.pk else creates).append(report)
        if previous_status != ReviewStatus.SUBMITTED:
            transitions.append((report, previous_status))
    if creates:
        bulk_create_with_history(creates, MonthlyReport, default_user=user)
    if updates:
        bulk_update_with_history(
            updates, MonthlyReport, ["completed_investment", "funds_in_place", "image_progress", "note", "warnings", "reported_by",
                                     "reported_at", "review_status", "reviewed_by", "reviewed_at", "version"],
            default_user=user,
        )
    ReportTransition.objects.bulk_create([
        ReportTransition(report=report, action=ReviewAction.SUBMIT, from_status=previous, to_status=ReviewStatus.SUBMITTED,
                         user=user, at=now)
        for report, previous in transitions
    ])
    problems = [
        Problem(project=outcome.entry.project, description=outcome.entry.problem, raised_on=rules.today())
        for outcome in outcomes
        if outcome.new_problem and outcome.status in (EntryStatus.CREATED, EntryStatus.UPDATED, EntryStatus.UNCHANGED)
    ]
    if problems:
        bulk_create_with_history(problems, Problem, default_user=user)
    changed = {outcome.entry.project.pk for outcome in outcomes if outcome.saves_anything}
    if changed:
        # An admin form opened before this is refused rather than overwriting these reports.
        Project.objects.filter(pk__in=changed).update(version=F("version") + 1)
        progress_refresh(projects=list(changed))
    return outcomes


@transaction.atomic
def reports_delete(*, user, reports):
    """Delete reports the user may edit that are not locked (the admin's inline); returns those deleted."""
    editable = set(Project.objects.editable_by(user).values_list("pk", flat=True).filter(pk__in={r.project_id for r in reports}))
    locks.projects_lock({report.project_id for report in reports})
    deleted = [report for report in reports if report.project_id in editable and not report.is_locked]
    for report in deleted:
        report._history_user = user
        report.delete()  # one history row each, as a deletion
    if deleted:
        progress_refresh(projects=list({report.project_id for report in deleted}))
    return deleted


# --- Review ----------------------------------------------------------------------------------------------

# action: (states it starts from, state it leads to, whether a reason is required)
TRANSITIONS = {
    ReviewAction.APPROVE: ((ReviewStatus.SUBMITTED,), ReviewStatus.APPROVED, False),
    ReviewAction.RETURN: ((ReviewStatus.SUBMITTED,), ReviewStatus.RETURNED, True),
    ReviewAction.REOPEN: ((ReviewStatus.APPROVED,), ReviewStatus.SUBMITTED, True),
}


@dataclass
class ReviewResult:
    done: list
    skipped: list  # (report or None, report id, why)


@transaction.atomic
def reports_review(*, user, versions, action, reason="", enqueue=None):
    """Approve, return (with a reason) or reopen the given reports, as their reviewer: `versions` maps each
    report's id to the version the reviewer saw, and a report changed since (re-saved, reviewed by
    someone else) is skipped, so what is approved is what was seen. Reports outside the user's review
    scope, or not in a state the action starts from, are skipped with the reason too; every step is kept
    (ReportTransition, and the report's history). A return counts the report as not reported, and its
    editor is mailed through `enqueue(delivery_id)` (a Celery task's delay)."""
    sources, target, needs_reason = TRANSITIONS[action]
    reason = reason.strip()
    if needs_reason and not reason:
        raise ValidationError(_("请填写原因。"))
    versions = {int(pk): int(version) for pk, version in versions.items()}
    report_ids = list(versions)
    locks.reports_with_projects_lock(report_ids)
    reports = {
        report.pk: report
        for report in locks.reports_lock(
            MonthlyReport.objects.reviewable_by(user).filter(pk__in=report_ids).select_related("project", "reported_by"))
    }
    now = timezone.now()
    done, skipped = [], []
    for pk in report_ids:
        report = reports.get(pk)
        if report is None:
            skipped.append((None, pk, _("不在您的审核范围内。")))
        elif report.version != versions[pk]:
            skipped.append((report, pk, _("打开页面后已被修改（现为 %(amount)s 万元，%(status)s），未%(action)s；请核对后重新审核。") % {
                "amount": money_text(report.completed_investment), "status": report.get_review_status_display(),
                "action": ReviewAction(action).label}))
        elif report.review_status not in sources:
            skipped.append((report, pk, _("当前状态为“%(status)s”，不能%(action)s。") % {
                "status": report.get_review_status_display(), "action": ReviewAction(action).label}))
        else:
            report.previous_status = report.review_status
            report.review_status = target
            report.reviewed_by, report.reviewed_at = user, now
            report.review_reason = reason if action == ReviewAction.RETURN else ""
            report.version += 1
            done.append(report)
    if not done:
        return ReviewResult(done, skipped)
    # Every report reviewed gets the same values: one UPDATE (bulk_update would build a CASE per field
    # and report), then one history row each, in bulk.
    MonthlyReport.objects.filter(pk__in=[report.pk for report in done]).update(
        review_status=target, reviewed_by=user, reviewed_at=now, review_reason=reason if action == ReviewAction.RETURN else "",
        version=F("version") + 1,
    )
    MonthlyReport.history.bulk_history_create(done, update=True, default_user=user)
    transitions = ReportTransition.objects.bulk_create([
        ReportTransition(report=report, action=action, from_status=report.previous_status, to_status=target, user=user,
                         at=now, reason=reason)
        for report in done
    ])
    projects = {report.project_id for report in done}
    Project.objects.filter(pk__in=projects).update(version=F("version") + 1)
    if action == ReviewAction.RETURN:
        progress_refresh(projects=list(projects))  # a returned figure no longer counts
        if enqueue is not None:
            _notify_returned(transitions, enqueue=enqueue)
    else:
        projects_changed(list(projects), places_moved=False)  # a review moves no project
    return ReviewResult(done, skipped)


def _report_editors(reports):
    """Who hears of a returned report: whoever reported it while they may still edit the project (an
    account moved to another region since cannot open it), else the editors of the project's region."""
    recipients = {}
    orphans = []
    reporters = {report.reported_by for report in reports if report.reported_by is not None}
    can_edit = {
        reporter.pk: set(Project.objects.editable_by(reporter).filter(pk__in={r.project_id for r in reports})
                         .values_list("pk", flat=True))
        for reporter in reporters if reporter.is_active and reporter.email
    }
    for report in reports:
        reporter = report.reported_by
        if reporter is not None and report.project_id in can_edit.get(reporter.pk, ()):
            recipients[report.pk] = [reporter]
        else:
            orphans.append(report)
    if orphans:
        regions = {report.project.county_id or report.project.city_id for report in orphans}
        editors = list(
            User.objects.filter(region__in=regions, is_active=True, groups__permissions__codename="add_monthlyreport")
            .exclude(email="").distinct()
        )
        for report in orphans:
            region = report.project.county_id or report.project.city_id
            recipients[report.pk] = [user for user in editors if user.region_id == region]
    return recipients


def _notify_returned(transitions, *, enqueue):
    recipients = _report_editors([transition.report for transition in transitions])
    rows = [
        {"user": user, "kind": MailKind.REPORT_RETURNED, "period_start": transition.report.month,
         "period_end": rules.add_months(transition.report.month, 1) - datetime.timedelta(days=1),
         "key": f"transition-{transition.pk}"}
        for transition in transitions
        for user in recipients.get(transition.report.pk, [])
    ]
    delivery.deliveries_record(rows, enqueue=enqueue)
