"""Realistic demo data for demos and benchmarks (`manage.py seed_demo`).

Written for speed (issue 24: 100,000 projects in well under three minutes on PostgreSQL):
- rows are plain tuples, not model instances, written per chunk with COPY (one executemany elsewhere);
- each row is written once, in its final state: the plans with what their reports add up to, the projects
  with their last reported month and today's light (what progress_refresh and lights_refresh would store),
  since updating 100,000 project rows afterwards rewrites their two dozen indexes and checks their foreign
  keys again; one set-based lights_refresh at the end confirms the lights in SQL;
- demo projects carry keys starting with DEMO_KEY_PREFIX, so that a re-run replaces them, set-based and
  without a history row per deleted row, and leaves real projects alone.
Issue 28: last year's reports too, in the year's shape, 形象进度 that advances (demo_reports.py); each project's
creation, coordinates inside its county and one first history record per project and plan (demo_records.py).
Units that differ (issue 28): each city-level unit and county has a seeded pace and reporting discipline
(demo_reports.UnitTempos: a few cities ahead of time progress, most near, a few clearly behind; some report
late or miss reports far more often), the cities' paces averaging out so the province's totals stay as they were.
After the load the filled tables are ANALYZEd on PostgreSQL, so the planner knows their sizes at once.
A --seed gives the same rows on every run.
"""

import datetime
import gc
import operator
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from actions.models import Action, ActionPlan
from projects.domain import rules
from projects.domain.choices import (
    COUNTED_REVIEW_STATUSES,
    ProblemStatus,
    Stage,
    Status,
)
from projects.models import (
    AnnualPlan,
    Batch,
    Cluster,
    Industry,
    Milestone,
    MilestoneKind,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
    SupervisionItem,
    SupervisionStep,
    User,
)
from projects.reference.bulk import FastTable, analyze, cascade_delete, cascade_of, historical_models
from projects.reference.data import reference_data_load
from projects.reference.demo_investment import INVESTMENT_COLUMNS, Pipeline
from projects.reference.demo_records import RECORD_COLUMNS, Records, first_history
from projects.reference.demo_reports import PACE_CAP, Reports, UnitTempos
from projects.reference.demo_supervision import supervision_spread
from projects.reference.demo_users import seed_users
from projects.reference.demo_words import (
    FROM_START,
    GENERIC_PRODUCTS,
    NODE_OFFSETS,
    OWNER_SUFFIXES,
    OWNER_WORDS,
    PHASES,
    PROBLEMS,
    PRODUCTS,
)
from projects.shared import lights, versions
from projects.supervision import services as supervision

DEMO_KEY_PREFIX = "DM"
BATCH_SIZE = 2000  # projects drawn before their rows: changing it changes the data a --seed gives


def demo_seed(*, projects, seed=1, password, on=None):
    """Replace the demo projects with `projects` new ones and (re)create the demo users.

    Returns a dict of counts and the demo users' names, for the command to print.
    """
    # Millions of short-lived tuples and no reference cycles: the cyclic collector would only scan the
    # rows held so far again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        totals = _demo_seed(projects=projects, seed=seed, password=password, on=on)
    finally:
        if collecting:
            gc.enable()
    analyze(_loaded_models())  # the planner's statistics of the tables just filled, on PostgreSQL
    return totals


def _loaded_models():
    """The models whose tables the demo fills in bulk."""
    models = [Project, Project.programmes.through, Project.actions.through, AnnualPlan, MonthlyReport, Problem, Milestone,
              SupervisionItem, SupervisionStep]
    return models + [model.history.model for model in (Project, AnnualPlan, SupervisionItem)]


@transaction.atomic
def _demo_seed(*, projects, seed, password, on):
    on = on or rules.today()
    rng = random.Random(seed)
    if not Region.objects.exists():
        reference_data_load()

    _demo_rows_delete()

    counties_by_city = {}
    for county in Region.objects.counties():
        counties_by_city.setdefault(county.reporting_city_id, []).append(county)
    cities = list(Region.objects.city_level())
    programmes = {programme.code: programme.pk for programme in Programme.objects.all()}
    batches = list(Batch.objects.values_list("pk", flat=True))
    industries = list(Industry.objects.filter(parent__isnull=False))
    clusters_by_county = {}
    for cluster_pk, county_pk in Cluster.objects.values_list("pk", "county_id"):
        clusters_by_county.setdefault(county_pk, []).append(cluster_pk)
    primary_actions = list(Action.objects.filter(plan__is_primary=True).values_list("pk", flat=True))
    other_actions = list(Action.objects.filter(plan__in=ActionPlan.objects.filter(is_primary=False)).values_list("pk", flat=True))

    names = seed_users(password)  # first: the demo leader contracts some projects
    leader = User.objects.get(username="leader")
    kinds = [(kind.pk, kind.name) for kind in MilestoneKind.objects.filter(is_active=True)]
    reports_of = Reports(seed, on)  # this year's and last year's (issue 28)
    tempos = UnitTempos(seed, cities, counties_by_city)  # who is ahead, behind, late (issue 28)
    records = Records(seed, on)  # when each was entered, for its first history record (issue 28)
    light = _Light(cities)
    pipeline = Pipeline(seed, on)  # the 招商引资 items' lifecycle, from a random stream of its own (issue 25)
    now = timezone.now()
    tables = {
        "projects": FastTable(Project, PROJECT_COLUMNS, now),
        "programmes": FastTable(Project.programmes.through, ("project_id", "programme_id"), now),
        "actions": FastTable(Project.actions.through, ("project_id", "action_id"), now),
        "plans": FastTable(AnnualPlan, PLAN_COLUMNS, now),
        "reports": FastTable(MonthlyReport, REPORT_COLUMNS, now),
        "problems": FastTable(Problem, PROBLEM_COLUMNS, now),
        "nodes": FastTable(Milestone, MILESTONE_COLUMNS, now),
    }
    totals = {"projects": 0, "plans": 0, "reports": 0, "problems": 0}
    serial = 0
    used_names = set()  # (county or city, name): a county never has two projects of one name
    # The random draws come in the same order as ever (a chunk's projects, then their rows project by
    # project), so a --seed gives the data it always gave.
    for start in range(0, projects, BATCH_SIZE):
        size = min(BATCH_SIZE, projects - start)
        built = []
        for _index in range(size):
            serial += 1
            built.append(_build_project(rng, serial, on, counties_by_city, cities, batches, industries, clusters_by_county,
                                        used_names, tempos))
        # The projects' rows are drawn before the projects are written, which then carry what their rows add
        # up to. The rows start with their project and get its id once the projects are in.
        programme_links, action_links, plans, reports, problems, nodes = [], [], [], [], [], []
        for project in built:
            nodes.extend(_build_milestones(rng, project, kinds, on))
            project.leader = leader.pk if rng.random() < 0.01 else None
            programme_links.extend((project, programmes[code]) for code in project.programmes)
            # Every action in turn first, then maybe a second one at random.
            chosen = {primary_actions[project.serial % len(primary_actions)]}
            if rng.random() < 0.3:
                chosen.add(rng.choice(primary_actions))
            if other_actions and rng.random() < 0.2:
                chosen.add(rng.choice(other_actions))
            action_links.extend((project, action) for action in chosen)
            project.row += pipeline.build(project) + records.build(project)
            project_plans = _build_plans(rng, project, on)
            project_reports = reports_of.last_year(project, project_plans)
            if project_plans:
                project_reports += reports_of.this_year(rng, project, project_plans[-1][1])
            project_reports = pipeline.with_funds(project, project_reports)
            reports.extend(project_reports)
            plans.extend(_add_up(project, project_plans, project_reports))
            problems.extend(_build_problems(rng, project, on))
        # In the order of the lists' indexes (city, county, name), which then grow page by page.
        tables["projects"].write(project.row + _judged(project, light) for project in sorted(built, key=_listed_order))
        # COPY returns no ids: the chunk's keys are consecutive, one range query reads them back.
        pks = dict(Project.objects.filter(key__gte=built[0].key, key__lte=built[-1].key).order_by().values_list("key", "pk"))
        for project in built:
            project.pk = pks[project.key]
        tables["programmes"].write(_with_project_ids(programme_links))
        tables["actions"].write(_with_project_ids(action_links))
        tables["plans"].write(_with_project_ids(plans))
        tables["reports"].write(_with_project_ids(reports))
        tables["problems"].write(_with_project_ids(problems))
        tables["nodes"].write(_with_project_ids(nodes))
        totals["projects"] += size
        totals["plans"] += len(plans)
        totals["reports"] += len(reports)
        totals["problems"] += len(problems)

    # The lights judged in SQL, the one definition, in one set-based pass: it writes only the projects
    # whose light the rows above did not already carry (none, unless the rules outgrew _judged).
    lights.lights_refresh(projects=Project.objects.filter(key__startswith=DEMO_KEY_PREFIX), on=light.on)
    first_history(Project.objects.filter(key__startswith=DEMO_KEY_PREFIX))
    versions.data_changed()  # the rows above were written past the save signals
    totals["users"] = names
    # The morning's supervision run: items for the red projects, old problems and overdue reports.
    totals["supervision"] = supervision.supervision_run(on=on, enqueue=lambda _pk: None).opened
    supervision_spread(seed=seed, on=on)  # issue 27: over the last months, through every state of the loop
    return totals


# --- Removing the previous demo ---------------------------------------------------------------------------


def _demo_rows_delete():
    """Delete the demo projects, every row that depends on them and their history, set-based.

    The ORM's delete() would load each of the millions of rows, send its signals and write a history row
    for each; demo data has no history worth keeping (beyond the first record each run writes anew), and a
    re-run must take no longer than the first."""
    demo = Project.objects.filter(key__startswith=DEMO_KEY_PREFIX)
    if not demo.exists():
        return
    cascade = cascade_of(Project)
    if cascade is None:  # a relation that protects or sets a default: let the ORM decide, row by row
        demo.delete()
        return
    demo_pks = demo.values("pk")
    for historical in historical_models():
        if historical.instance_type is Project:
            historical.objects.filter(id__in=demo_pks)._raw_delete(historical.objects.db)
        elif any(field.name == "project" for field in historical._meta.fields):
            historical.objects.filter(project_id__in=demo_pks)._raw_delete(historical.objects.db)
    cascade_delete(Project, demo, cascade)
    versions.data_changed()


# --- Writing rows -----------------------------------------------------------------------------------------


def _with_project_ids(rows):
    """Rows that start with their _DemoProject, with its id instead."""
    return ((row[0].pk, *row[1:]) for row in rows)


COUNTED = frozenset(status.value for status in COUNTED_REVIEW_STATUSES)
ZERO = Decimal("0")


def _add_up(project, plans, reports):
    """Rows of PLAN_COLUMNS with each year's completed investment, and the project's last reported month: what
    editing.progress_refresh stores (the sum and the last month of the reports that count; a zero plan for
    a year with reports but no plan). Written with the rows instead of updated after them."""
    completed, funds, last = {}, {}, None
    for report in reports:
        month = report[1]
        completed.setdefault(month.year, ZERO)
        if report[5] in COUNTED:
            completed[month.year] += report[2]
            funds[month.year] = funds.get(month.year, ZERO) + (report[8] or ZERO)  # funds in place (issue 25)
            last = month if last is None or month > last else last
    project.last_report_month = last
    rows = [(project, year, planned, before, completed.pop(year, ZERO), funds.get(year, ZERO)) for year, planned, before in plans]
    rows += [(project, year, ZERO, ZERO, total, funds.get(year, ZERO)) for year, total in sorted(completed.items())]
    project.year_figures = {row[1]: (row[2], row[4]) for row in rows}
    return rows


class _Light:
    """What lights_refresh needs to judge a light in Python (rules.traffic_light): today, its settings, the
    cities' thresholds."""

    def __init__(self, cities):
        self.on = rules.today()
        self.fingerprint = rules.light_rules_fingerprint()
        self.thresholds = {city.pk: rules.Thresholds.for_region(city) for city in cities}


def _judged(project, light):
    """The last columns of a project row (PROJECT_COLUMNS): its contracting leader, its last reported month as
    progress_refresh stores it, and today's light as lights_refresh stores it, judged by rules.traffic_light,
    which lights_refresh's SQL mirrors rule for rule."""
    planned, completed = project.year_figures.get(light.on.year, (None, ZERO))
    _light, reason = rules.traffic_light(
        stage=project.stage, status=project.status, planned_start=project.planned_start, actual_start=project.actual_start,
        planned=planned, completed=completed, last_report_month=project.last_report_month, year=light.on.year,
        on=light.on, thresholds=light.thresholds[project.city.pk],
        investment_stage=project.investment_stage, signed_on=project.signed_on,
    )
    return project.leader, project.last_report_month, reason.value, light.on, light.fingerprint


# --- Building rows ----------------------------------------------------------------------------------------

PROJECT_COLUMNS = (
    "key", "code", "name", "batch_id", "stage", "status", "city_id", "county_id", "industry_id", "cluster_id", "owner",
    "scope", "start_year", "end_year", "planned_start", "planned_end", "actual_start", "actual_end", "total_investment",
    "responsible_unit", "contact", "phone", "city_code", "county_code", *INVESTMENT_COLUMNS, *RECORD_COLUMNS,
    # _judged: what the reports add up to and the light, as progress_refresh and lights_refresh store them.
    "contracting_leader_id", "last_report_month", "current_light_reason", "current_light_on", "current_light_rules",
)
_LISTED = operator.itemgetter(*(PROJECT_COLUMNS.index(column) for column in ("city_code", "county_code", "name")))


def _listed_order(project):
    return _LISTED(project.row)


PLAN_COLUMNS = ("project_id", "year", "planned_investment", "completed_before_year", "completed_investment", "funds_in_place")
REPORT_COLUMNS = ("project_id", "month", "completed_investment", "image_progress", "reported_at", "review_status",
                  "reviewed_at", "review_reason", "funds_in_place")
PROBLEM_COLUMNS = ("project_id", "category", "description", "responsible_unit", "raised_on", "status", "resolution",
                   "resolved_on")
MILESTONE_COLUMNS = ("project_id", "kind_id", "planned_on", "actual_on")


class _DemoProject:
    """What the rows of a demo project are built from: its row and the facts its plans, reports and so on
    depend on (a Model instance per project and row costs more than building all of them)."""

    __slots__ = ("serial", "key", "pk", "row", "city", "place", "leader", "last_report_month", "year_figures", "stage",
                 "status", "start_year", "planned_start", "planned_end", "actual_start", "actual_end", "total_investment",
                 "programmes", "pace", "tempo", "stops_reporting", "investment_stage", "signed_on", "funds_share")


def _build_project(rng, serial, on, counties_by_city, cities, batches, industries, clusters_by_county, used_names,
                   tempos):
    # Cities in turn, so that even a small demo covers every city-level unit.
    city = cities[serial % len(cities)]
    own_counties = counties_by_city.get(city.pk)
    county = rng.choice(own_counties) if own_counties and rng.random() > 0.08 else None
    place = county or city
    industry = rng.choice(industries) if rng.random() < 0.9 else None
    for attempt in range(12):
        product = rng.choice(PRODUCTS.get(industry.name, GENERIC_PRODUCTS) if industry else GENERIC_PRODUCTS)
        brand = f"{place.name[:-1] if place.name[-1] in '市县区' else place.name}{rng.choice(OWNER_WORDS)}"
        name = f"{brand}{product}项目"
        if attempt >= 6:  # a busy county: a second or third phase of a project already listed
            name = f"{brand}{product}{PHASES[attempt % len(PHASES)]}项目"
        if (place.pk, name) not in used_names:
            break
    else:
        name = f"{brand}{product}项目（{serial}）"
    used_names.add((place.pk, name))
    owner = f"{brand}{rng.choice(OWNER_SUFFIXES)}"
    total = Decimal(int(rng.lognormvariate(10.0, 1.0)) + 3000)
    stage = rng.choices(
        [Stage.PREPARATORY, Stage.NEW_START, Stage.CONTINUING, Stage.COMPLETED], weights=[15, 25, 45, 15]
    )[0]
    status = rng.choices([Status.NORMAL, Status.BEHIND, Status.STALLED, Status.CANCELLED], weights=[91, 3, 4, 2])[0]
    start_year = on.year - (0 if stage in (Stage.PREPARATORY, Stage.NEW_START) else rng.randint(1, 2))
    end_year = start_year + rng.randint(1, 3)
    last_month = 12 if start_year < on.year else max(1, on.month - 2)
    planned_start = datetime.date(start_year, rng.randint(1, last_month), 1)
    actual_start = None
    if stage != Stage.PREPARATORY:
        actual_start = min(planned_start + datetime.timedelta(days=rng.randint(0, 60)), on)
    elif rng.random() < 0.88:  # most preparatory projects are planned to start later
        planned_start = on + datetime.timedelta(days=rng.randint(10, 300))
    programmes = ["provincial" if rng.random() < 0.15 else "municipal"]
    if county and county.pk in clusters_by_county:
        programmes.append("county-cluster")
    if rng.random() < 0.25:
        programmes.append(rng.choice(["investment-promotion", "tech-transformation"]))
    code = None
    if stage != Stage.PREPARATORY or rng.random() < 0.3:
        code = f"{start_year}-{place.code}-{rng.choice([7, 26, 30, 44]):02d}-{rng.choice([1, 2, 3]):02d}-{serial:05d}{rng.choice('0123456789X')}"
    project = _DemoProject()
    project.serial, project.key, project.pk = serial, f"{DEMO_KEY_PREFIX}{serial:08d}", None
    project.city, project.place = city, place
    # The remaining draws in the order they always came: batch, cluster, scope, planned end, actual end, contact, phone.
    batch = rng.choice(batches)
    cluster = rng.choice(clusters_by_county[county.pk]) if county and county.pk in clusters_by_county else None
    scope = f"总建筑面积{rng.randint(1, 30)}万平方米，建设{product}生产线{rng.randint(1, 6)}条及配套设施。"
    planned_end = datetime.date(end_year, rng.randint(1, 12), 1)
    actual_end = max(actual_start, on - datetime.timedelta(days=rng.randint(0, 200))) if stage == Stage.COMPLETED else None
    contact = rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["伟", "敏", "静", "磊", "洋", "勇", "艳", "杰"])
    phone = f"13{rng.randint(100000000, 999999999)}"
    project.row = (
        project.key, code, name, batch, stage.value, status.value, city.pk, county.pk if county else None,
        industry.pk if industry else None, cluster, owner, scope, start_year, end_year, planned_start, planned_end,
        actual_start, actual_end, total, f"{place.name}发展和改革局", contact, phone, city.code, county.code if county else "",
    )
    project.stage, project.status, project.start_year, project.total_investment = stage, status, start_year, total
    project.planned_start, project.planned_end, project.actual_start, project.actual_end = (
        planned_start, planned_end, actual_start, actual_end)
    # Most projects keep pace; some lag a little (yellow), a few far (red); a few stop reporting.
    # Scaled by the unit's tempo (demo_reports.UnitTempos): some units ahead, some behind, some report late.
    tempo = project.tempo = tempos.of(place)
    project.pace = min(PACE_CAP, rng.choices([1.08, 1.02, 0.93, 0.8, 0.55], weights=[28, 45, 14, 8, 2.5])[0] * tempo.pace)
    project.stops_reporting = rng.random() < 0.015 * tempo.missing
    project.programmes = programmes
    return project


def _build_plans(rng, project, on):
    """(year, planned investment, completed before the year) of the project's annual plans."""
    if project.actual_start is None and project.planned_start > on:
        return []  # not planned to start this year: no investment planned yet
    plans = []
    for year in range(max(project.start_year, on.year - 1), on.year + 1):
        share = Decimal(rng.randint(20, 50)) / 100
        if project.actual_start and project.actual_start.year == year:
            share *= Decimal(13 - project.actual_start.month) / 12  # planned from the start month on
        plans.append((
            year,
            (project.total_investment * share).quantize(ONE),
            (project.total_investment * Decimal("0.3") * (year - project.start_year)).quantize(ONE),
        ))
    return plans


ONE = Decimal("1")


def _build_milestones(rng, project, kinds, on):
    """Rows of MILESTONE_COLUMNS, the project first (_with_project_ids): the nodes of a project with planned dates, done on time mostly, some late,
    the future ones open."""
    if project.planned_start is None or project.planned_end is None:
        return []
    nodes = []
    for kind_pk, kind_name in kinds:
        offset = NODE_OFFSETS.get(kind_name)
        if offset is None:
            continue
        base = project.planned_start if kind_name in FROM_START else project.planned_end
        planned = base + datetime.timedelta(days=offset)
        actual = None
        if kind_name == "开工":
            actual = project.actual_start
        elif planned < on and rng.random() < 0.93:
            actual = planned + datetime.timedelta(days=rng.randint(-10, 20))
        nodes.append((project, kind_pk, planned, min(actual, on) if actual else None))
    return nodes


def _build_problems(rng, project, on):
    """Rows of PROBLEM_COLUMNS, the project first (_with_project_ids)."""
    if rng.random() > 0.12:
        return []
    category, description = rng.choice(PROBLEMS)
    raised = on - datetime.timedelta(days=rng.randint(3, 120))
    resolved = rng.random() < 0.4
    if project.actual_end or project.status == Status.CANCELLED:
        # A completed or cancelled project has nothing left open: its problems were settled before.
        end = project.actual_end or on
        raised, resolved = min(raised, end - datetime.timedelta(days=10)), True
    status = ProblemStatus.RESOLVED if resolved else rng.choice([ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS])
    return [(
        project,
        category.value,
        description,
        f"{project.place.name}相关部门",
        raised,
        status.value,
        "已协调解决" if resolved else "",
        min(raised + datetime.timedelta(days=rng.randint(1, 9)), project.actual_end or on) if resolved else None,
    )]
