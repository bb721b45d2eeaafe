"""Month-on-month and year-on-year (环比 / 同比, issue 28): completion this year through the month and its rate,
starts in the month and red projects on the month's end, for this month, last month and the same month last year,
counted by hand on constructed data; the same for a unit and for the scope; the dashboard's card with its links."""

import datetime
from decimal import Decimal

import pytest

from projects.domain import rules
from projects.domain.choices import ReviewStatus, Stage, Status
from projects.models import AnnualPlan, MonthlyReport, Project, Region
from projects.shared import editing, trends

from .conftest import QIAOXI_SJZ, ZHENGDING, make_project
from .test_access import client_for

pytestmark = pytest.mark.django_db
D = datetime.date
JUNE = D(2025, 6, 1)


def _report(project, month, amount, status=ReviewStatus.APPROVED):
    MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal(amount), review_status=status)


@pytest.fixture
def county(db):
    """正定县 in June 2025: A reports and is green; B and E (cancelled) start in June, C (stalled, red) in May,
    D (completed) in June 2024; F, not started by its planned start in June, turns red at June's end."""
    a = make_project("甲", ZHENGDING, actual_start=D(2024, 3, 1))
    AnnualPlan.objects.create(project=a, year=2025, planned_investment=Decimal("400"))
    AnnualPlan.objects.create(project=a, year=2024, planned_investment=Decimal("100"))
    _report(a, D(2025, 5, 1), "100")
    _report(a, D(2025, 6, 1), "200")
    _report(a, D(2024, 6, 1), "80")
    b = make_project("乙", ZHENGDING, actual_start=D(2025, 6, 15))
    _report(b, D(2025, 6, 1), "100", status=ReviewStatus.RETURNED)  # returned: not counted
    c = make_project("丙", ZHENGDING, actual_start=D(2025, 5, 10), status=Status.STALLED)
    d = make_project("丁", ZHENGDING, actual_start=D(2024, 6, 3), stage=Stage.COMPLETED)
    e = make_project("戊", ZHENGDING, actual_start=D(2025, 6, 2), status=Status.CANCELLED)
    f = make_project("己", ZHENGDING, stage=Stage.PREPARATORY, planned_start=D(2025, 6, 10))
    make_project("桥西", QIAOXI_SJZ, actual_start=D(2025, 6, 3))  # another county: not in 正定's figures
    editing.progress_refresh()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


EXPECTED = {
    "current": {"completed": Decimal("300"), "rate": 75.0, "starts": 2, "red": 2, "projects": 5},
    "previous": {"completed": Decimal("100"), "rate": 25.0, "starts": 1, "red": 1, "projects": 5},
    "last_year": {"completed": Decimal("80"), "rate": 80.0, "starts": 1, "red": 1, "projects": 5},
}


def _figures(trend):
    return {part: {key: getattr(trend, part)[key] for key in EXPECTED[part]} for part in EXPECTED}


def test_a_units_month_against_last_month_and_the_same_month_last_year(county):
    zhengding = Region.objects.get(code=ZHENGDING)
    by_unit = trends.trends_of(Project.objects.all(), month=JUNE, by="county")
    assert _figures(by_unit[zhengding.pk]) == EXPECTED
    rows = {name: rest for name, *rest in by_unit[zhengding.pk].rows()}
    # (this month, last month, Δ MoM, same month last year, Δ YoY)
    assert rows["completed"] == [Decimal("300"), Decimal("100"), Decimal("200"), Decimal("80"), Decimal("220")]
    assert rows["rate"] == [75.0, 25.0, 50.0, 80.0, -5.0]
    assert rows["starts"] == [2, 1, 1, 1, 1]
    assert rows["red"] == [2, 1, 1, 1, 1]


def test_the_scope_reads_the_same(county):
    scope = trends.trends_of(Project.objects.filter(county__code=ZHENGDING), month=JUNE)[None]
    assert _figures(scope) == EXPECTED


def test_the_dashboards_trend_reads_its_three_months_starts_in_one_query(county):
    """The dashboard's trend part (trend_rows): the three months' new starts read at once (issue 24: a query a
    month, each built and compiled anew, in every cold piece), giving what month by month gives."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    projects = Project.objects.filter(county__code=ZHENGDING)
    with CaptureQueriesContext(connection) as queries:
        rows = trends.trend_rows(projects, on=D(2025, 7, 20))
    starts = [q["sql"] for q in queries.captured_queries if '"actual_start" >=' in q["sql"] and "GROUP BY" in q["sql"]]
    assert len(starts) == 1
    assert _figures(trends.trend_of_rows(rows, on=D(2025, 7, 20))) == EXPECTED


def test_the_card_shows_changes_with_their_sign(county):
    scope = trends.trends_of(Project.objects.filter(county__code=ZHENGDING), month=JUNE)[None]
    card = trends.card(scope, starts_links=trends.trend_links(JUNE))
    rows = {row["name"]: [text for text, _link in row["cells"]] for row in card["rows"]}
    assert rows["rate"] == ["75.0%", "25.0%", "+50.0", "80.0%", "−5.0"]
    assert rows["starts"] == ["2", "1", "+1", "1", "+1"]
    assert rows["completed"][2] == "+0.02"  # 200 万元 in 亿元


def test_the_starts_links_give_exactly_the_counted_projects(county, users):
    client = client_for(users["county_editor"])
    links = trends.trend_links(JUNE)
    listed = {row["id"] for row in client.get("/api/v1/projects/?" + links["current"].split("?", 1)[1]).json()["results"]}
    assert listed == {county["b"].pk, county["e"].pk}
    listed = {row["id"] for row in client.get("/api/v1/projects/?" + links["last_year"].split("?", 1)[1]).json()["results"]}
    assert listed == {county["d"].pk}


def test_the_dashboard_shows_the_trend_card_of_the_readers_scope(county, users):
    page = client_for(users["county_editor"]).get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "环比与同比" in text and 'data-figure="starts"' in text
    month = rules.latest_due_month(on=rules.today())
    assert f"started_month={month:%Y-%m}" in text


def test_the_trend_card_sums_completion_as_the_dashboards_totals_do(users, projects):
    """A terminated project's reported work stays in the completion, as in the dashboard's 本年完成投资: the
    card's "this month" (through the latest due month; every report here is January's) and the totals on the
    same page are one figure."""
    from projects.domain.figures import figure_text

    cancelled = make_project("终止项目", ZHENGDING, status=Status.CANCELLED)
    AnnualPlan.objects.create(project=cancelled, year=rules.today().year, planned_investment=Decimal("500"))
    MonthlyReport.objects.create(project=cancelled, month=datetime.date(rules.today().year, 1, 1),
                                 completed_investment=Decimal("70"))
    editing.progress_refresh()
    context = client_for(users["province_admin"]).get("/").context
    card_completed = next(row for row in context["trend_card"]["rows"] if row["name"] == "completed")["cells"][0][0]
    assert card_completed == figure_text(context["totals"]["completed"], "亿元")


# --- An ended month's lights as they stood at its end ------------------------------------------------------

MAY = D(2025, 5, 1)


def test_an_ended_months_red_count_is_the_light_kept_at_its_end(monkeypatch):
    """A project red at May's end (a tenth of its plan done when two fifths of the year had passed), then reported
    to green in June: May's red count stays 1. Evaluated again in June, May's light was judged with June's
    completion (green), and the 环比 compared June with a May that never was."""
    from projects.domain.choices import Light
    from projects.models import MonthLight
    from projects.shared import lights

    project = make_project("五月红灯", ZHENGDING, actual_start=D(2024, 3, 1))
    AnnualPlan.objects.create(project=project, year=2025, planned_investment=Decimal("400"))
    _report(project, D(2025, 4, 1), "40")
    editing.progress_refresh()
    monkeypatch.setattr(rules, "today", lambda: D(2025, 5, 31))
    lights.lights_refresh()  # the night of May's last day
    project.refresh_from_db()
    assert rules.light_of(project.current_light_reason) == Light.RED
    may_reason = project.current_light_reason

    monkeypatch.setattr(rules, "today", lambda: D(2025, 6, 1))
    lights.lights_refresh()  # June's first night keeps May's lights before judging June's
    assert list(MonthLight.objects.values_list("project", "month", "light_reason", "judged_on")) == [
        (project.pk, MAY, may_reason, D(2025, 5, 31))]
    monkeypatch.setattr(rules, "today", lambda: D(2025, 6, 20))
    _report(project, MAY, "300")
    editing.progress_refresh(projects=[project.pk])
    project.refresh_from_db()
    assert rules.light_of(project.current_light_reason) == Light.GREEN

    scope = Project.objects.filter(pk=project.pk)
    assert trends.month_figures(scope, month=MAY)[None]["red"] == 1
    assert trends.month_figures(scope, month=D(2025, 6, 1))[None]["red"] == 0  # this month: today's light
    # A month nothing was kept for is evaluated, as before (April: green with June's completion).
    assert trends.month_figures(scope, month=D(2025, 4, 1))[None]["red"] == 0
    lights.lights_refresh()  # an operator's re-run keeps nothing twice
    assert MonthLight.objects.count() == 1


def test_a_project_judged_after_midnight_keeps_no_light_for_the_month_before(monkeypatch):
    """A write after midnight, before June's first refresh, judges its project for June: it has no May light to
    keep, and May's figure evaluates it; the others' lights are kept."""
    from projects.models import MonthLight
    from projects.shared import lights

    early, other = (make_project(name, ZHENGDING, actual_start=D(2024, 3, 1)) for name in ("凌晨改过", "没改过"))
    for project in (early, other):
        AnnualPlan.objects.create(project=project, year=2025, planned_investment=Decimal("400"))
    editing.progress_refresh()
    monkeypatch.setattr(rules, "today", lambda: D(2025, 5, 31))
    lights.lights_refresh()
    monkeypatch.setattr(rules, "today", lambda: D(2025, 6, 1))
    lights.lights_refresh(projects=[early.pk])  # what a save's signal does
    lights.lights_refresh()
    assert list(MonthLight.objects.values_list("project", flat=True)) == [other.pk]
    assert trends.month_figures(Project.objects.all(), month=MAY)[None]["projects"] == 2
