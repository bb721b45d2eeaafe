import datetime
import itertools
from decimal import Decimal

import pytest

from projects.domain import rules
from projects.domain.choices import Light, LightReason, Stage, Status
from projects.domain.investment import investment_stage
from projects.domain.rules import Thresholds
from projects.models import AnnualPlan, MonthlyReport, Project, Region
from projects.shared import lights
from projects.shared.editing import progress_refresh

# Report deadlines read the province's working-day overrides (projects.domain.workdays) from the database.
pytestmark = pytest.mark.django_db

D = datetime.date
DEFAULT = Thresholds(yellow_lag=Decimal(10), red_lag=Decimal(30))


# --- time progress -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "on, year, expected",
    [
        (D(2023, 1, 1), 2023, Decimal("0.2740")),  # 1/365 at the end of the first day
        (D(2023, 12, 31), 2023, Decimal("100.0000")),
        (D(2023, 7, 2), 2023, Decimal("50.1370")),  # day 183 of 365
        (D(2024, 12, 31), 2024, Decimal("100.0000")),  # leap year: day 366 of 366
        (D(2024, 2, 29), 2024, Decimal("16.3934")),  # day 60 of 366
        (D(2024, 12, 30), 2024, Decimal("99.7268")),  # 365/366, not 100
        (D(2022, 12, 31), 2023, Decimal("0")),  # before the year
        (D(2024, 1, 1), 2023, Decimal("100")),  # after the year
    ],
)
def test_time_progress(on, year, expected):
    assert rules.time_progress(year=year, on=on) == expected


def test_completion_rate_zero_or_missing_plan_is_undefined():
    assert rules.completion_rate(completed=Decimal(50), planned=Decimal(0)) is None
    assert rules.completion_rate(completed=Decimal(50), planned=None) is None
    assert rules.completion_rate(completed=Decimal(50), planned=Decimal(200)) == Decimal(25)
    assert rules.completion_rate(completed=None, planned=Decimal(200)) == Decimal(0)


# --- report deadlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "on, due",
    [
        # 5 March 2023 is a Sunday: February's report is due on Monday 6 March, so it is late from the 7th.
        (D(2023, 3, 5), D(2023, 1, 1)),
        (D(2023, 3, 6), D(2023, 1, 1)),
        (D(2023, 3, 7), D(2023, 2, 1)),
        (D(2023, 1, 5), D(2022, 11, 1)),  # across the year boundary (Thursday 5 January is a working day)
        (D(2023, 1, 6), D(2022, 12, 1)),
        (D(2024, 3, 1), D(2024, 1, 1)),  # leap February: due Tuesday 5 March
    ],
)
def test_latest_due_month(on, due, settings):
    settings.MONTHLY_REPORT_DEADLINE_DAY = 5
    assert rules.latest_due_month(on=on) == due


def test_deadline_day_is_a_setting(settings):
    settings.MONTHLY_REPORT_DEADLINE_DAY = 10
    assert rules.latest_due_month(on=D(2023, 3, 8)) == D(2023, 1, 1)
    assert rules.latest_due_month(on=D(2023, 3, 11)) == D(2023, 2, 1)
    assert rules.report_deadline(D(2023, 2, 1)) == D(2023, 3, 10)


def test_report_overdue_only_under_construction_and_only_after_start():
    on = D(2023, 6, 20)  # May is due
    common = {"on": on, "deadline_day": 5}
    assert rules.report_overdue(stage=Stage.CONTINUING, actual_start=None, last_report_month=D(2023, 4, 1), **common)
    assert not rules.report_overdue(stage=Stage.CONTINUING, actual_start=None, last_report_month=D(2023, 5, 1), **common)
    assert not rules.report_overdue(stage=Stage.PREPARATORY, actual_start=None, last_report_month=None, **common)
    assert not rules.report_overdue(stage=Stage.COMPLETED, actual_start=None, last_report_month=None, **common)
    # Started in June: nothing was owed for May.
    assert not rules.report_overdue(stage=Stage.NEW_START, actual_start=D(2023, 6, 1), last_report_month=None, **common)
    assert rules.report_overdue(stage=Stage.NEW_START, actual_start=D(2023, 5, 31), last_report_month=None, **common)


# --- traffic light ---------------------------------------------------------------------------------


def light(**overrides):
    args = {
        "stage": Stage.CONTINUING,
        "status": Status.NORMAL,
        "planned_start": None,
        "actual_start": D(2022, 3, 1),
        "planned": Decimal(1000),
        "completed": Decimal(500),
        "last_report_month": D(2023, 6, 1),
        "year": 2023,
        "on": D(2023, 7, 2),  # time progress 50.1370
        "thresholds": DEFAULT,
        "deadline_day": 5,
    }
    args.update(overrides)
    return rules.traffic_light(**args)


def test_on_pace_is_green():
    assert light() == (Light.GREEN, LightReason.ON_PACE)


@pytest.mark.parametrize(
    "completed, expected",
    [
        (Decimal("401.37"), (Light.GREEN, LightReason.ON_PACE)),  # exactly 10 points behind: not more than 10
        (Decimal("401.36"), (Light.YELLOW, LightReason.BEHIND)),
        (Decimal("201.37"), (Light.YELLOW, LightReason.BEHIND)),  # exactly 30 behind
        (Decimal("201.36"), (Light.RED, LightReason.FAR_BEHIND)),
        (Decimal("0"), (Light.RED, LightReason.FAR_BEHIND)),
    ],
)
def test_lag_thresholds_at_the_boundary(completed, expected):
    assert light(completed=completed) == expected


def test_zero_plan_is_judged_on_the_other_rules_only():
    assert light(planned=Decimal(0), completed=Decimal(0)) == (Light.GREEN, LightReason.ON_PACE)
    assert light(planned=None, completed=Decimal(0), status=Status.BEHIND) == (Light.YELLOW, LightReason.MARKED_BEHIND)


def test_year_start_and_end():
    # 1 January: time progress 0.27 %, nothing can be behind yet.
    assert light(on=D(2023, 1, 1), completed=Decimal(0), last_report_month=D(2022, 11, 1)) == (Light.GREEN, LightReason.ON_PACE)
    # 31 December: anything under 90 % is behind, under 70 % far behind.
    assert light(on=D(2023, 12, 31), completed=Decimal(900), last_report_month=D(2023, 11, 1))[0] == Light.GREEN
    assert light(on=D(2023, 12, 31), completed=Decimal("899.99"), last_report_month=D(2023, 11, 1))[0] == Light.YELLOW
    assert light(on=D(2023, 12, 31), completed=Decimal("699.99"), last_report_month=D(2023, 11, 1))[0] == Light.RED


def test_leap_year_end():
    # On 30 Dec 2024 time progress is 99.7268 %, so 89.7268 % complete is exactly on the yellow line.
    args = {"on": D(2024, 12, 30), "year": 2024, "last_report_month": D(2024, 11, 1)}
    assert light(completed=Decimal("897.268"), **args)[0] == Light.GREEN
    assert light(completed=Decimal("897.267"), **args)[0] == Light.YELLOW


def test_red_reasons_in_order():
    assert light(status=Status.CANCELLED, completed=Decimal(0)) == (Light.NONE, LightReason.CANCELLED)
    assert light(stage=Stage.COMPLETED, completed=Decimal(0)) == (Light.GREEN, LightReason.COMPLETED)
    assert light(status=Status.STALLED) == (Light.RED, LightReason.STALLED)
    assert light(stage=Stage.PREPARATORY, planned_start=D(2023, 5, 1), actual_start=None) == (Light.RED, LightReason.NOT_STARTED)
    assert light(stage=Stage.PREPARATORY, planned_start=D(2023, 8, 1), actual_start=None) == (Light.GREEN, LightReason.ON_PACE)
    assert light(last_report_month=D(2023, 4, 1)) == (Light.RED, LightReason.REPORT_OVERDUE)
    assert light(last_report_month=None) == (Light.RED, LightReason.REPORT_OVERDUE)
    assert light(status=Status.BEHIND) == (Light.YELLOW, LightReason.MARKED_BEHIND)


def test_city_thresholds_override_the_default(settings, db):
    settings.TRAFFIC_LIGHT_YELLOW_LAG = 10
    settings.TRAFFIC_LIGHT_RED_LAG = 30
    city = Region.objects.get(code="130100")
    assert Thresholds.for_region(city) == Thresholds(Decimal(10), Decimal(30))
    city.yellow_lag = Decimal(5)
    assert Thresholds.for_region(city) == Thresholds(Decimal(5), Decimal(30))
    assert light(completed=Decimal(440), thresholds=Thresholds.for_region(city)) == (Light.YELLOW, LightReason.BEHIND)


# --- SQL and Python agree ----------------------------------------------------------------------------


def test_sql_annotation_agrees_with_python_rule(db):
    """Every combination of the inputs that decide a light, evaluated both ways on 2 July 2023."""
    on, year = D(2023, 7, 2), 2023
    city = Region.objects.get(code="130100")
    city.yellow_lag, city.red_lag = Decimal(8), None
    city.save()
    combos = itertools.product(
        list(Stage),
        [Status.NORMAL, Status.BEHIND, Status.STALLED, Status.CANCELLED],
        [None, D(2023, 5, 1), D(2023, 8, 1)],  # planned start
        [None, D(2023, 3, 1), D(2023, 6, 15)],  # actual start
        [None, Decimal(0), Decimal(1000)],  # plan
        # completed in June: far behind, exactly on the default and the 石家庄 yellow line, behind, on pace
        [Decimal(0), Decimal("401.37"), Decimal("421.37"), Decimal("401.36"), Decimal("460"), Decimal("600")],
        [None, D(2023, 4, 1)],  # an earlier report month besides June
        list(Region.objects.filter(code__in=["130123", "131123"]).select_related("reporting_city")),  # 正定 (石家庄: yellow 8), 武强
    )
    cases = []
    for index, (stage, status, planned_start, actual_start, plan, completed, early, county) in enumerate(combos):
        if not (actual_start and actual_start < D(2023, 6, 1)):
            completed = Decimal(0)  # no June report before the project started
        # Some are investment-promotion items (issue 25): signed long ago, not registered (behind), or registered.
        signed_on = D(2022, 12, 1) if index % 5 in (0, 1) else None
        registered_on = D(2023, 2, 1) if index % 5 == 1 else None
        project = Project(name=f"p{index}", city=county.reporting_city, county=county, stage=stage, status=status,
                          planned_start=planned_start, actual_start=actual_start, signed_on=signed_on,
                          registered_on=registered_on)
        cases.append((project, plan, completed, early))
    Project.objects.bulk_create([case[0] for case in cases])
    AnnualPlan.objects.bulk_create(
        AnnualPlan(project=project, year=year, planned_investment=plan) for project, plan, _c, _e in cases if plan is not None
    )
    reports = []
    expected = {}
    for project, plan, completed, early in cases:
        if early:
            reports.append(MonthlyReport(project=project, month=early, completed_investment=0))
        if completed:
            reports.append(MonthlyReport(project=project, month=D(2023, 6, 1), completed_investment=completed))
        expected[project.pk] = rules.traffic_light(
            stage=project.stage,
            status=project.status,
            planned_start=project.planned_start,
            actual_start=project.actual_start,
            planned=plan,
            completed=completed,
            last_report_month=D(2023, 6, 1) if completed else early,
            year=year,
            on=on,
            thresholds=Thresholds.for_region(project.city),
            deadline_day=5,
            investment_stage=investment_stage(signed_on=project.signed_on, registered_on=project.registered_on,
                                              started_on=project.actual_start, production_on=None, terminated_on=None),
            signed_on=project.signed_on,
        )
    MonthlyReport.objects.bulk_create(reports)
    progress_refresh()
    annotated = lights.annotate_progress(Project.objects.filter(pk__in=expected), year=year, on=on)
    got = {pk: (rules.light_of(reason).value, reason) for pk, reason in annotated.values_list("pk", "light_reason")}
    mismatches = {pk: (expected[pk], got[pk]) for pk in expected if (expected[pk][0].value, expected[pk][1].value) != got[pk]}
    assert not mismatches
    # The stored column the lists read (lights.lights_refresh, judged here on the same day) agrees too.
    lights.lights_refresh(projects=list(expected), on=on)
    stored = dict(Project.objects.filter(pk__in=expected).values_list("pk", "current_light_reason"))
    assert {pk: reason for pk, reason in stored.items() if reason != expected[pk][1].value} == {}
    # The combinations reach every reason, so agreement is not vacuous.
    assert {reason for _light, reason in got.values()} == {reason.value for reason in LightReason}
