"""Domain rules: time progress, completion, report deadlines and the traffic light (SPEC §2).

Report deadlines follow China's working-day calendar (法定节假日 and 调休, domain.workdays): by default
the report for a month is due on the 5th of the next month, moved to the next working day when that is
a rest day; MONTHLY_REPORT_DEADLINE_MODE = "workday" makes it the 5th working day instead.

The traffic light exists twice on purpose: `traffic_light()` here evaluates one project in Python
(project page, digests, tests); shared.lights.annotate_progress() evaluates the same ordered rules in SQL
so that 100,000 projects can be filtered, counted and sorted by light. tests/test_rules.py checks that
both agree on every rule and boundary."""

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone

from projects.domain import workdays
from projects.domain.choices import UNDER_CONSTRUCTION, Light, LightReason, Stage, Status
from projects.domain.investment import registration_overdue

HUNDRED = Decimal(100)


ZERO = Decimal(0)


# Time progress is held to 4 decimals of a percentage point so that Python and SQL compare the same number.
PROGRESS_QUANTUM = Decimal("0.0001")


# SQLite computes decimals as floats: a project exactly on a threshold must not fall either side of it by
# rounding, so "behind by more than" means by more than this margin (in 万元 × percent: negligible).
BOUNDARY_MARGIN = Decimal("0.000001")


LIGHT_OF_REASON = {
    LightReason.CANCELLED: Light.NONE,
    LightReason.COMPLETED: Light.GREEN,
    LightReason.STALLED: Light.RED,
    LightReason.NOT_STARTED: Light.RED,
    LightReason.REPORT_OVERDUE: Light.RED,
    LightReason.FAR_BEHIND: Light.RED,
    LightReason.BEHIND: Light.YELLOW,
    LightReason.MARKED_BEHIND: Light.YELLOW,
    LightReason.NOT_REGISTERED: Light.YELLOW,
    LightReason.ON_PACE: Light.GREEN,
}


def reasons_for(light):
    return [reason.value for reason, reason_light in LIGHT_OF_REASON.items() if reason_light == light]


def light_q(light):
    """Q selecting projects annotated by annotate_progress() whose light is `light`."""
    return Q(light_reason__in=reasons_for(light))


def light_of(reason):
    # Looked up by the stored string (a reason's member hashes as its value) without building the member: called
    # for every row a list or the API shows. An unknown reason raises ValueError, as LightReason() does.
    light = LIGHT_OF_REASON.get(reason)
    return light if light is not None else LIGHT_OF_REASON[LightReason(reason)]


@dataclass(frozen=True)
class Thresholds:
    """Lag of completion behind time progress, in percentage points, beyond which a light turns."""

    yellow_lag: Decimal
    red_lag: Decimal

    @classmethod
    def default(cls):
        return cls(
            yellow_lag=Decimal(str(settings.TRAFFIC_LIGHT_YELLOW_LAG)),
            red_lag=Decimal(str(settings.TRAFFIC_LIGHT_RED_LAG)),
        )

    @classmethod
    def for_region(cls, region):
        """A city may set its own thresholds; what it leaves blank falls back to the province's."""
        default = cls.default()
        if region is None:
            return default
        return cls(
            yellow_lag=default.yellow_lag if region.yellow_lag is None else region.yellow_lag,
            red_lag=default.red_lag if region.red_lag is None else region.red_lag,
        )


def today():
    return timezone.localdate()


def selectable_years(on):
    """The years a reader picks a page's year among (its plans, completion and lights): next year's plans back to the
    fifth year before `on`'s, on every page that offers a choice (the dashboard, the map, the admin's sidebar)."""
    return range(on.year + 1, on.year - 5, -1)


def time_progress(*, year, on):
    """Share of `year` elapsed at the end of day `on`, in percent (时序进度); 0 before, 100 after the year."""
    if on.year < year:
        return ZERO
    if on.year > year:
        return HUNDRED
    days_in_year = 366 if calendar.isleap(year) else 365
    elapsed = on.timetuple().tm_yday
    return (Decimal(elapsed) * HUNDRED / Decimal(days_in_year)).quantize(PROGRESS_QUANTUM)


def completion_rate(*, completed, planned):
    """Annual investment completion rate in percent, or None when there is no positive plan."""
    if planned is None or planned <= 0:
        return None
    return Decimal(completed or 0) * HUNDRED / Decimal(planned)


def month_start(day):
    return day.replace(day=1)


def add_months(month, count):
    index = month.year * 12 + (month.month - 1) + count
    return datetime.date(index // 12, index % 12 + 1, 1)


# MONTHLY_REPORT_DEADLINE_MODE values: the Nth calendar day (moved off rest days) or the Nth working day.
DEADLINE_CALENDAR_DAY = "calendar"


DEADLINE_WORKDAY = "workday"


def report_deadline(month, *, deadline_day=None):
    """The last day on which the report for `month` is on time: the Nth day of the next month, moved to
    the next working day when that is a rest day, or the Nth working day (MONTHLY_REPORT_DEADLINE_MODE)."""
    deadline_day = deadline_day or settings.MONTHLY_REPORT_DEADLINE_DAY
    next_month = add_months(month_start(month), 1)
    mode = settings.MONTHLY_REPORT_DEADLINE_MODE
    if mode == DEADLINE_CALENDAR_DAY:
        return workdays.next_workday(next_month.replace(day=deadline_day))
    if mode == DEADLINE_WORKDAY:
        return workdays.nth_workday(next_month.year, next_month.month, deadline_day)
    raise ImproperlyConfigured(
        f"MONTHLY_REPORT_DEADLINE_MODE must be {DEADLINE_CALENDAR_DAY!r} or {DEADLINE_WORKDAY!r}, not {mode!r}"
    )


def latest_due_month(*, on, deadline_day=None):
    """The most recent month whose report deadline has passed on day `on` (on the deadline itself a
    report is still on time)."""
    month = add_months(month_start(on), -1)
    # The previous month or the one before; a late deadline day moved past a holiday into this month can
    # hold back one more.
    while report_deadline(month, deadline_day=deadline_day) >= on:
        month = add_months(month, -1)
    return month


def reporting_month(on):
    """The month whose report is being collected on day `on` (月度调度 of the previous month)."""
    return add_months(month_start(on), -1)


def owes_report_q(month, prefix=""):
    """Q selecting the projects that owe a report for `month`: under construction and started by the
    month's end (the same rule as report_overdue), not cancelled."""
    started = Q(**{f"{prefix}actual_start__isnull": True}) | Q(**{f"{prefix}actual_start__lt": add_months(month, 1)})
    return Q(**{f"{prefix}stage__in": UNDER_CONSTRUCTION}) & started & ~Q(**{f"{prefix}status": Status.CANCELLED})


def report_is_late(*, month, reported_at):
    if not month or not reported_at:
        return False
    return timezone.localtime(reported_at).date() > report_deadline(month)


def report_overdue(*, stage, actual_start, last_report_month, on, deadline_day=None):
    """A project under construction owes a report for every month whose deadline has passed since it started."""
    if stage not in UNDER_CONSTRUCTION:
        return False
    due = latest_due_month(on=on, deadline_day=deadline_day)
    if actual_start is not None and actual_start >= add_months(due, 1):
        return False  # started after the due month: nothing owed yet
    return last_report_month is None or last_report_month < due


def traffic_light(
    *,
    stage,
    status,
    planned_start,
    actual_start,
    planned,
    completed,
    last_report_month,
    year,
    on,
    thresholds,
    deadline_day=None,
    investment_stage="",
    signed_on=None,
):
    """(light, reason) for one project in `year`, judged on day `on`. The first rule that applies wins.

    A 招商引资 item signed more than INVESTMENT_REGISTER_WITHIN_MONTHS ago and still only signed is behind
    (yellow, NOT_REGISTERED) unless a red rule applies first (issue 25)."""
    if status == Status.CANCELLED:
        reason = LightReason.CANCELLED
    elif stage == Stage.COMPLETED:
        reason = LightReason.COMPLETED
    elif status == Status.STALLED:
        reason = LightReason.STALLED
    elif stage == Stage.PREPARATORY and planned_start is not None and planned_start < on and actual_start is None:
        reason = LightReason.NOT_STARTED
    elif report_overdue(
        stage=stage, actual_start=actual_start, last_report_month=last_report_month, on=on, deadline_day=deadline_day
    ):
        reason = LightReason.REPORT_OVERDUE
    else:
        reason = LightReason.ON_PACE
        if planned is not None and planned > 0:
            progress = time_progress(year=year, on=on)
            # rate < progress - lag, written without division exactly as the SQL below.
            scaled = Decimal(completed or 0) * HUNDRED
            if scaled < (progress - thresholds.red_lag) * planned - BOUNDARY_MARGIN:
                reason = LightReason.FAR_BEHIND
        if reason == LightReason.ON_PACE and registration_overdue(investment_stage=investment_stage, signed_on=signed_on, on=on):
            reason = LightReason.NOT_REGISTERED
        elif reason == LightReason.ON_PACE and planned is not None and planned > 0:
            if scaled < (progress - thresholds.yellow_lag) * planned - BOUNDARY_MARGIN:
                reason = LightReason.BEHIND
        if reason == LightReason.ON_PACE and status == Status.BEHIND:
            reason = LightReason.MARKED_BEHIND
    return LIGHT_OF_REASON[reason], reason


def light_rules_fingerprint():
    """What the province's settings put into every light (default thresholds, the report deadline), short:
    stored with each light, so that a light judged under other settings is never read."""
    import hashlib

    rules = (Thresholds.default(), settings.MONTHLY_REPORT_DEADLINE_DAY, settings.MONTHLY_REPORT_DEADLINE_MODE,
             settings.INVESTMENT_REGISTER_WITHIN_MONTHS)
    return hashlib.sha256(repr(rules).encode()).hexdigest()[:16]


def describe_light(*, reason, project, year, on):
    """A sentence for people: the reason with the figures behind it."""
    from django.utils.translation import gettext as _

    label = LightReason(reason).label
    if reason == LightReason.NOT_STARTED and project.planned_start:
        return _("%(label)s（计划开工 %(date)s）") % {"label": label, "date": project.planned_start.strftime("%Y-%m")}
    if reason == LightReason.REPORT_OVERDUE:
        due = latest_due_month(on=on)
        return _("%(label)s（应报 %(month)s）") % {"label": label, "month": due.strftime("%Y-%m")}
    if reason == LightReason.NOT_REGISTERED and getattr(project, "signed_on", None):
        return _("%(label)s（%(date)s 签约，超过 %(months)s 个月未注册）") % {
            "label": label, "date": project.signed_on.isoformat(), "months": settings.INVESTMENT_REGISTER_WITHIN_MONTHS}
    if reason in (LightReason.FAR_BEHIND, LightReason.BEHIND):
        rate = getattr(project, "completion_rate", None) or ZERO
        lag = time_progress(year=year, on=on) - Decimal(rate)
        return _("%(label)s %(lag)s 个百分点（完成率 %(rate)s%%）") % {
            "label": label,
            "lag": f"{lag:.1f}",
            "rate": f"{Decimal(rate):.1f}",
        }
    return str(label)


# --- Milestones (项目节点): the second light -------------------------------------------------------------


def milestone_is_late(*, planned_on, actual_on, on):
    """A node is late from the day after its planned date while it has no actual date."""
    return planned_on is not None and actual_on is None and planned_on < on


def late_milestones_q(on, prefix=""):
    """The same rule in SQL, for Milestone rows (at `prefix`, e.g. "milestones__")."""
    return Q(**{f"{prefix}planned_on__lt": on, f"{prefix}actual_on__isnull": True})


def project_nodes_late(milestones, *, on):
    """Python's answer for one project's nodes (held to agree with nodes_late_exists by a test)."""
    return any(milestone_is_late(planned_on=m.planned_on, actual_on=m.actual_on, on=on) for m in milestones)
