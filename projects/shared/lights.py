"""The traffic light in SQL, and its stored copy.

`annotate_progress()` evaluates domain.rules.traffic_light's ordered rules in SQL so that lists filter, count
and sort 100,000 projects by light; `lights_refresh()` judges and stores today's light on each project,
which lists read while every project was judged today under today's settings (`stored_lights_fresh`)."""

import time

from django.db import models
from django.db.models import Case, Exists, F, FilteredRelation, Max, Min, OuterRef, Q, Value, When
from django.db.models.expressions import Col
from django.db.models.functions import Cast, Coalesce

from projects.domain import rules
from projects.domain.choices import (
    COUNTED_REVIEW_STATUSES,
    UNDER_CONSTRUCTION,
    LightReason,
    ReviewStatus,
    Stage,
    Status,
)
from projects.domain.figures import SUM_DIGITS
from projects.domain.investment import registration_overdue_q
from projects.domain.rules import (
    BOUNDARY_MARGIN,
    HUNDRED,
    ZERO,
    Thresholds,
    add_months,
    late_milestones_q,
    latest_due_month,
    light_rules_fingerprint,
    owes_report_q,
    time_progress,
)
from projects.models import Milestone, MonthLight, MonthlyReport, Project
from projects.shared import versions


def report_status_q(status, month):
    """Q selecting projects whose report for `month` stands as `status`: submitted, approved, returned, missing
    (owed and none that counts: none, or returned), or unreported (owed and none at all, not even a returned one:
    what the report page's ?report=unreported and the 待办 line count, in one subquery)."""
    reports = MonthlyReport.objects.filter(month=month)
    if status in ("missing", "unreported"):
        excluded = COUNTED_REVIEW_STATUSES + ((ReviewStatus.RETURNED,) if status == "unreported" else ())
        # NOT EXISTS, not NOT IN: PostgreSQL cannot turn NOT IN into an anti-join, so it hashed every report of the
        # month for each count (95 ms for one county once the month has 70,000 reports); NOT EXISTS probes the
        # (project, month) index for the projects counted (10 ms for the county, about 1 ms for a part of it).
        return owes_report_q(month) & ~Exists(
            reports.filter(project=OuterRef("pk"), review_status__in=excluded))
    return Q(pk__in=reports.filter(review_status=status).values("project_id"))


class Quotient(models.Func):
    """numerator / denominator. SQLite keeps whole-number decimals as integers and would divide them as
    integers (350 / 1200 = 0), so there the numerator is made a float first."""

    arg_joiner = " / "
    template = "(%(expressions)s)"
    arity = 2

    def as_sqlite(self, compiler, connection, **extra_context):
        numerator, denominator = self.get_source_expressions()
        clone = self.copy()
        clone.set_source_expressions([Cast(numerator, models.FloatField()), denominator])
        return super(Quotient, clone).as_sql(compiler, connection, **extra_context)


def annotate_progress(queryset, *, year, on=None, default_thresholds=None, deadline_day=None, use_stored=True):
    """Annotate projects with plan_investment, completed_year, completion_rate, light_reason and
    report_overdue for `year` judged on `on`, mirroring traffic_light() rule for rule.

    Completed investment and the last report month are the columns editing.progress_refresh keeps.
    Today's light for the current year is read from the stored column while it is fresh (lights_refresh):
    an index lookup instead of the rules evaluated over every row.
    """
    on = on or rules.today()
    stored = (
        use_stored and year == on.year and on == rules.today() and default_thresholds is None and deadline_day is None
        and stored_lights_fresh(on)
    )
    default_thresholds = default_thresholds or Thresholds.default()
    money = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=2)
    progress = time_progress(year=year, on=on)
    due = latest_due_month(on=on, deadline_day=deadline_day)

    # The year's plan row is joined (at most one per project), not looked up per reference: the light
    # refers to these values many times and must stay one pass over the table.
    queryset = queryset.annotate(
        year_plan=FilteredRelation("plans", condition=Q(plans__year=year)),
    ).annotate(
        progress_year=Value(year, output_field=models.IntegerField()),
        plan_investment=F("year_plan__planned_investment"),
        completed_before_year=F("year_plan__completed_before_year"),
        completed_year=Coalesce(F("year_plan__completed_investment"), Value(ZERO), output_field=money),
    )
    has_plan = Q(plan_investment__gt=0)
    queryset = queryset.annotate(
        completion_rate=Case(
            When(has_plan, then=Quotient(F("completed_year") * HUNDRED, F("plan_investment"))),
            default=None,
            output_field=models.DecimalField(max_digits=SUM_DIGITS, decimal_places=4),
        ),
    )
    overdue = (
        Q(stage__in=UNDER_CONSTRUCTION)
        & (Q(actual_start__isnull=True) | Q(actual_start__lt=add_months(due, 1)))
        & (Q(last_report_month__isnull=True) | Q(last_report_month__lt=due))
    )
    if stored:
        # No city join and no rules: the key-only queries of deep pages stay on the order's index.
        reason = F("current_light_reason")
    else:
        queryset, reason = _light_reason_case(queryset, on=on, progress=progress, overdue=overdue,
                                              default_thresholds=default_thresholds)
    # The light itself is not a column: each reason belongs to one light (light_q, light_of), which
    # keeps the SQL one Case long instead of repeating it per light.
    return queryset.annotate(
        light_reason=reason,
        report_overdue=models.ExpressionWrapper(overdue, output_field=models.BooleanField()),
    )


def _light_reason_case(queryset, *, on, progress, overdue, default_thresholds):
    """The light's reason as one SQL Case: traffic_light()'s rules in the same order."""
    money = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=2)
    queryset = queryset.annotate(
        red_lag_points=Coalesce(F("city__red_lag"), Value(default_thresholds.red_lag), output_field=money),
        yellow_lag_points=Coalesce(F("city__yellow_lag"), Value(default_thresholds.yellow_lag), output_field=money),
        scaled_completed=models.ExpressionWrapper(F("completed_year") * HUNDRED, output_field=money),
    )

    def lags_by_more_than(lag_field):
        limit = (Value(progress) - F(lag_field)) * F("plan_investment") - Value(BOUNDARY_MARGIN)
        return Q(plan_investment__gt=0, scaled_completed__lt=limit)

    reason = Case(
        When(status=Status.CANCELLED, then=Value(LightReason.CANCELLED.value)),
        When(stage=Stage.COMPLETED, then=Value(LightReason.COMPLETED.value)),
        When(status=Status.STALLED, then=Value(LightReason.STALLED.value)),
        When(
            stage=Stage.PREPARATORY,
            planned_start__isnull=False,
            planned_start__lt=on,
            actual_start__isnull=True,
            then=Value(LightReason.NOT_STARTED.value),
        ),
        When(overdue, then=Value(LightReason.REPORT_OVERDUE.value)),
        When(lags_by_more_than("red_lag_points"), then=Value(LightReason.FAR_BEHIND.value)),
        When(registration_overdue_q(on), then=Value(LightReason.NOT_REGISTERED.value)),  # issue 25
        When(lags_by_more_than("yellow_lag_points"), then=Value(LightReason.BEHIND.value)),
        When(status=Status.BEHIND, then=Value(LightReason.MARKED_BEHIND.value)),
        default=Value(LightReason.ON_PACE.value),
        output_field=models.CharField(),
    )
    return queryset, reason


# --- Stored lights ----------------------------------------------------------------------------------------

LIGHTS_REFRESH_CHUNK = 5000


# Set when something every light depends on changed (the working-day calendar), until a full refresh that
# started after it has run. Losing it (an emptied cache) only matters until that refresh ends.
LIGHTS_STALE_KEY = "projects:lights-stale-since"


def stored_lights_fresh(on):
    """Whether the stored lights can stand for today's evaluation: `on` is today, every project was judged
    today under today's settings (lights_refresh) and nothing all lights depend on changed since. Writes
    refresh the projects they touch, so a project judged today is current; before the night's refresh,
    after a change of settings, or for a project some path forgot, lights are evaluated instead: slower,
    never wrong. Read at the ends of two indexes (projects_light_day, projects_light_rules)."""
    from django.core.cache import cache


    if on != rules.today() or cache.get(LIGHTS_STALE_KEY) is not None:
        return False
    # The bounds of the stored days and fingerprints, each an end of its index (PostgreSQL reads MIN and
    # MAX of an indexed column from the index), and a probe for a project never judged: a handful of
    # index pages however many projects there are. An OR of the five conditions was left to the planner,
    # which read all 100,000 rows looking for one when its statistics expected many (30 ms a request).
    bounds = Project.objects.aggregate(first_day=Min("current_light_on"), last_day=Max("current_light_on"),
                                       first_rules=Min("current_light_rules"), last_rules=Max("current_light_rules"))
    if bounds["first_day"] is None:  # no project, or none judged
        return not Project.objects.exists()
    fingerprint = light_rules_fingerprint()
    return (bounds["first_day"] == bounds["last_day"] == on and bounds["first_rules"] == bounds["last_rules"] == fingerprint
            and not Project.objects.filter(current_light_on__isnull=True).exists())


def lights_invalidate():
    """Every stored light may be wrong (the calendar changed): evaluate them until a full refresh has run."""
    from django.core.cache import cache

    cache.set(LIGHTS_STALE_KEY, time.time(), timeout=None)


def reads_stored_lights(queryset):
    """Whether `queryset` (annotate_progress's) shows the stored lights (a column), not the rules evaluated (a Case)."""
    return isinstance(queryset.query.annotations.get("light_reason"), Col)


def lights_refresh(*, projects=None, on=None):
    """Judge and store the light of `projects` (ids, a list or a queryset of ids; None: every project) for
    `on`'s year as of `on` (default today). Every writer of what a light depends on calls it for the
    projects it wrote (editing.progress_refresh, signals, import, bulk status); the beat task
    refresh_lights calls it for all each morning, when time progress has moved. Rows whose stored
    light is already this one are not written. Returns the number of projects judged."""
    on = on or rules.today()
    started, fingerprint = time.time(), light_rules_fingerprint()
    if projects is None:
        keep_month_lights(on)
        querysets = [Project.objects.all()]
    elif isinstance(projects, models.QuerySet):
        querysets = [Project.objects.filter(pk__in=projects)]
    else:  # ids in chunks: SQLite limits the parameters of one statement
        ids = sorted(projects)
        querysets = [Project.objects.filter(pk__in=ids[start : start + LIGHTS_REFRESH_CHUNK])
                     for start in range(0, len(ids), LIGHTS_REFRESH_CHUNK)]
    by_reason, written = {}, 0
    for queryset in querysets:
        judged = annotate_progress(queryset, year=on.year, on=on, use_stored=False).order_by().values_list("pk", "light_reason")
        for pk, reason in judged.iterator(chunk_size=LIGHTS_REFRESH_CHUNK):
            by_reason.setdefault(reason, []).append(pk)
    for reason, pks in by_reason.items():
        for start in range(0, len(pks), LIGHTS_REFRESH_CHUNK):
            written += Project.objects.filter(pk__in=pks[start : start + LIGHTS_REFRESH_CHUNK]).exclude(
                current_light_reason=reason, current_light_on=on, current_light_rules=fingerprint
            ).update(current_light_reason=reason, current_light_on=on, current_light_rules=fingerprint)
    if written:  # cached counts of lists filtered by light, the pages chosen by light (kept_pages)
        versions.projects_changed(projects, places_moved=False, lights_moved=True)
    if projects is None and on == rules.today():
        from django.core.cache import cache

        if (cache.get(LIGHTS_STALE_KEY) or 0) <= started:  # no change arrived while this ran
            cache.delete(LIGHTS_STALE_KEY)
    return sum(len(pks) for pks in by_reason.values())


def keep_month_lights(on):
    """Before the first full refresh of `on`'s month judges anew: keep the lights stored on the last judged day of
    an earlier month as that month's (MonthLight), normally the previous month's last day. A project judged since
    (written after midnight, before this refresh) is not kept: its light for that month is evaluated, as for any
    month before lights were kept. Run again (an operator's re-run), it keeps nothing twice. Returns how many it kept."""
    month_begins = rules.month_start(on)
    last = Project.objects.filter(current_light_on__lt=month_begins).aggregate(last=Max("current_light_on"))["last"]
    if last is None:
        return 0
    month = rules.month_start(last)
    stood = (Project.objects.filter(current_light_on__gte=month, current_light_on__lt=month_begins)
             .exclude(current_light_reason="").order_by("pk").values_list("pk", "current_light_reason", "current_light_on"))
    kept = 0
    batch = []
    for pk, reason, judged_on in stood.iterator(chunk_size=LIGHTS_REFRESH_CHUNK):
        batch.append(MonthLight(project_id=pk, month=month, light_reason=reason, judged_on=judged_on))
        if len(batch) == LIGHTS_REFRESH_CHUNK:
            kept += len(MonthLight.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        kept += len(MonthLight.objects.bulk_create(batch, ignore_conflicts=True))
    return kept


def as_month_ended(queryset, month):
    """`queryset`, annotated by annotate_progress as of `month`'s end, with month_light_reason: the light kept at
    the month's end (MonthLight) where one was, else the one evaluated. COALESCE evaluates the rules only for a
    project none was kept for."""
    return queryset.annotate(kept_light=FilteredRelation("month_lights", condition=Q(month_lights__month=month))).annotate(
        month_light_reason=Coalesce(F("kept_light__light_reason"), F("light_reason")))


class _ExistsPerRow(models.Exists):
    """EXISTS that, as a column of a SELECT, is looked up for each row returned. PostgreSQL plans a bare
    EXISTS column as a hashed subplan when it expects many rows: every late node in the province (40,000)
    read and hashed for a page of 50 (36 ms). As a scalar subquery, `(SELECT EXISTS(…))`, it is probed by
    the milestones' project index for the page's rows alone (0.4 ms), after the sort and the LIMIT. In a
    filter it stays a plain EXISTS, which PostgreSQL joins (a hashed semi-join: right when counting)."""

    def select_format(self, compiler, sql, params):
        sql, params = super().select_format(compiler, sql, params)
        return f"(SELECT {sql})", params


def nodes_late_exists(on):
    """An expression for a project queryset: whether any of the project's nodes is late on `on`."""
    return _ExistsPerRow(Milestone.objects.filter(late_milestones_q(on), project=models.OuterRef("pk")))
