"""The monthly ranking (排名, issue 28): the rules (ties, empty units, weights incl. 0, a missing indicator
reweighted, rank changes), punctuality on the working-day calendar, and the page, API and export as each role
sees them (a county only where the province allows, never another city's), each figure's link giving exactly
its projects, the admin table of weights."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from projects.domain import ranking, rules
from projects.domain.choices import ReviewStatus, Stage, Status
from projects.models import AnnualPlan, MonthlyReport, Project, Region, WorkdayOverride
from projects.models.leaders import RankingWeight
from projects.rankings import measures
from projects.rankings.reads import unit_ranking
from projects.shared import editing

from .conftest import NANGONG, QIAOXI_SJZ, SHIJIAZHUANG, ZHENGDING, make_project
from .test_access import client_for

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture(autouse=True)
def _calendar_deadline(settings):
    settings.MONTHLY_REPORT_DEADLINE_DAY = 5
    settings.MONTHLY_REPORT_DEADLINE_MODE = "calendar"


# --- The rules -------------------------------------------------------------------------------------------


def test_ties_share_a_rank_and_the_next_skips():
    assert ranking.competition_ranks({"a": 9, "b": 7, "c": 7, "d": 3}) == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_lower_is_better_indicators_rank_the_smallest_first_and_no_value_is_not_ranked():
    assert ranking.indicator_ranks("red", {"a": 10.0, "b": 0.0, "c": None}) == {"b": 1, "a": 2}
    assert ranking.indicator_ranks("new_starts", {"a": 10, "b": 0, "c": None}) == {"a": 1, "b": 2}


def test_scores_run_from_100_for_the_first_to_0_for_the_last():
    assert [ranking.rank_score(rank, 3) for rank in (1, 2, 3)] == [100.0, 50.0, 0.0]
    assert ranking.rank_score(1, 1) == 100.0


def test_weight_zero_is_not_scored_and_a_missing_indicator_is_reweighted():
    cells = {
        "a": {"progress": 1, "red": 2, "investment": None},  # no 招商 items: scored on progress and red only
        "b": {"progress": 2, "red": 1, "investment": 1},
    }
    # progress weighs 3, red 1, investment 2; b's investment rank counts among the one unit ranked on it.
    scores = ranking.composite_scores(cells, {"progress": 3, "red": 1, "investment": 2})
    assert scores["a"] == pytest.approx((3 * 100 + 1 * 0) / 4, abs=0.05)
    assert scores["b"] == pytest.approx((3 * 0 + 1 * 100 + 2 * 100) / 6, abs=0.05)
    # Weight 0: red is shown but does not move the score.
    scores = ranking.composite_scores(cells, {"progress": 1, "red": 0})
    assert scores == {"a": 100.0, "b": 0.0}
    # Nothing weighed that a unit has: no score.
    assert ranking.composite_scores({"a": {"investment": None}}, {"investment": 5}) == {"a": None}


def test_rank_change_arrows():
    assert ranking.rank_change(5, 3) == 2 and ranking.change_text(2) == "↑2"
    assert ranking.rank_change(2, 3) == -1 and ranking.change_text(-1) == "↓1"
    assert ranking.change_text(ranking.rank_change(4, 4)) == "–"
    assert ranking.rank_change(None, 3) is None and ranking.change_text(None) == ""


# --- Punctuality on the working-day calendar --------------------------------------------------------------


def _at(day, hour=16):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _reported(name, month, day, *, status=ReviewStatus.SUBMITTED, county=ZHENGDING):
    project = make_project(name, county, actual_start=D(2024, 1, 10))
    if day is not None:
        MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal("1"),
                                     reported_at=_at(day), review_status=status)
    return project


def _punctuality(month, county=ZHENGDING):
    region = Region.objects.get(code=county)
    return measures.punctuality(Project.objects.filter(county=region), month=month, by="county")[region.pk]


def test_a_report_on_the_deadline_day_is_on_time_and_one_a_working_day_later_is_late():
    month = D(2025, 8, 1)  # due Friday 5 September 2025
    assert rules.report_deadline(month) == D(2025, 9, 5)
    _reported("按时", month, D(2025, 9, 5))
    _reported("迟报", month, D(2025, 9, 8))  # Monday, the next working day
    _reported("退回", month, D(2025, 9, 1), status=ReviewStatus.RETURNED)  # returned: does not count, missing
    _reported("未报", month, None)
    assert _punctuality(month) == {"owing": 4, "on_time": 1, "late": 1, "missing": 2}
    # The SQL agrees with rules.report_is_late report by report.
    for report in MonthlyReport.objects.filter(month=month, review_status=ReviewStatus.SUBMITTED):
        assert rules.report_is_late(month=month, reported_at=report.reported_at) == (report.project.name == "迟报")


def test_a_holiday_shifts_the_deadline():
    month = D(2025, 9, 1)  # the 5th falls in the National Day holiday: due 9 October
    _reported("假期中报", month, D(2025, 10, 8))
    _reported("顺延截止日报", month, D(2025, 10, 9))
    _reported("截止后报", month, D(2025, 10, 10))
    assert _punctuality(month) == {"owing": 3, "on_time": 2, "late": 1, "missing": 0}


def test_a_rest_day_the_province_enters_shifts_the_deadline_too():
    month = D(2025, 8, 1)
    WorkdayOverride.objects.create(date=D(2025, 9, 5), is_workday=False, note="测试")
    _reported("周一报", month, D(2025, 9, 8))
    assert _punctuality(month) == {"owing": 1, "on_time": 1, "late": 0, "missing": 0}


# --- The ranking built ------------------------------------------------------------------------------------


def _weights(**weights):
    for indicator, _label in RankingWeight._meta.get_field("indicator").choices:
        RankingWeight.objects.update_or_create(indicator=indicator, defaults={"weight": weights.get(indicator, 0)})


def _started(name, county, day, **fields):
    return make_project(name, county, actual_start=day, **fields)


def _by_name(result):
    return {str(row.region): row for row in result.rows}


def test_units_without_projects_are_listed_last_not_ranked_and_ties_share_a_rank(users):
    _weights(new_starts=1)
    month = D(2025, 6, 1)
    _started("正定新开工", ZHENGDING, D(2025, 6, 3))
    _started("桥西新开工", QIAOXI_SJZ, D(2025, 6, 20))
    result = unit_ranking(users["city_coordinator"], month=month, level="county")
    rows = _by_name(result)
    assert rows["正定县"].rank == rows["桥西区"].rank == 1 and rows["正定县"].score == 100.0
    assert [row.ranked for row in result.rows[:2]] == [True, True]
    assert all(not row.ranked and row.rank is None and row.projects == 0 for row in result.rows[2:])
    # Every county the city reports is listed (石家庄 has more than twenty), its own projects' row is not a unit.
    assert len(result.rows) == Region.objects.counties().filter(reporting_city__code=SHIJIAZHUANG).count()


def test_ranks_and_their_change_since_last_month(users):
    _weights(new_starts=2, red=0)
    month = D(2025, 6, 1)
    # May: 桥西 started two, 正定 one; June: 正定 two, 桥西 none.
    _started("桥西五月甲", QIAOXI_SJZ, D(2025, 5, 3))
    _started("桥西五月乙", QIAOXI_SJZ, D(2025, 5, 4))
    _started("正定五月", ZHENGDING, D(2025, 5, 5))
    _started("正定六月甲", ZHENGDING, D(2025, 6, 5))
    _started("正定六月乙", ZHENGDING, D(2025, 6, 6))
    rows = _by_name(unit_ranking(users["city_coordinator"], month=month, level="county"))
    zhengding, qiaoxi = rows["正定县"], rows["桥西区"]
    assert (zhengding.rank, zhengding.rank_change) == (1, 1)
    assert (qiaoxi.rank, qiaoxi.rank_change) == (2, -1)
    assert zhengding.cells["new_starts"].text == "2" and zhengding.cells["new_starts"].change == 1
    assert qiaoxi.cells["new_starts"].change == -1
    # Weight 0: red is shown with its rank, but the score is the starts' alone.
    assert zhengding.cells["red"].rank is not None and zhengding.score == 100.0 and qiaoxi.score == 0.0
    # 招商: no items signed, no value — not zero.
    assert zhengding.cells["investment"].value is None and zhengding.cells["investment"].text == "—"


def test_the_province_ranks_the_fourteen_city_level_units(users):
    result = unit_ranking(users["province_admin"], month=D(2025, 6, 1))
    assert len(result.rows) == 14 == Region.objects.city_level().count()
    assert {str(row.region) for row in result.rows} >= {"雄安新区", "定州市", "辛集市", "石家庄市"}


def test_queries_do_not_grow_with_the_projects(users):
    month = D(2025, 6, 1)

    def queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            unit_ranking(users["province_admin"], month=month)
        return len(captured)

    _started("一", ZHENGDING, D(2025, 6, 3))
    queries()  # process-wide lookups (the calendar) read once
    few = queries()
    for index in range(12):
        project = _started(f"多{index}", [ZHENGDING, QIAOXI_SJZ, NANGONG][index % 3], D(2025, 6, 3))
        AnnualPlan.objects.create(project=project, year=2025, planned_investment=Decimal("100"))
    assert queries() == few
    # Warm: read from the cache.
    with CaptureQueriesContext(connection) as warm:
        unit_ranking(users["province_admin"], month=month)
    assert len(warm) < few / 2


# --- Page, API and export by role ---------------------------------------------------------------------------


@pytest.fixture
def june(db):
    _weights(new_starts=1, punctuality=1)
    made = {
        "zhengding": _started("正定六月开工", ZHENGDING, D(2025, 6, 3)),
        "zhengding_may": _started("正定五月开工", ZHENGDING, D(2025, 5, 3)),
        "qiaoxi": _started("桥西六月开工", QIAOXI_SJZ, D(2025, 6, 9)),
        "nangong": _started("南宫六月开工", NANGONG, D(2025, 6, 9)),
    }
    editing.progress_refresh()
    return made


def test_the_province_page_lists_cities_and_optionally_all_counties(users, june):
    client = client_for(users["province_admin"])
    page = client.get("/rankings/", {"month": "2025-06"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "石家庄市" in text and "雄安新区" in text and "综合得分" in text
    counties = client.get("/rankings/", {"month": "2025-06", "level": "county"}).content.decode()
    assert "正定县" in counties and "南宫市" in counties


def test_a_county_sees_its_citys_counties_with_its_own_row_and_nothing_of_another_city(users, june):
    mine = client_for(users["county_editor"]).get("/rankings/", {"month": "2025-06"})
    assert mine.status_code == 200
    text = mine.content.decode()
    assert "正定县" in text and "桥西区" in text and "own-row" in text
    zhengding, qiaoxi = Region.objects.get(code=ZHENGDING), Region.objects.get(code=QIAOXI_SJZ)
    assert f"county={zhengding.pk}" in text and f"county={qiaoxi.pk}" not in text  # no links into another county
    assert f"county={zhengding.pk}&amp;report_status=missing&amp;report_month=2025-06" in text  # its missing reports
    other = client_for(users["other_county_editor"]).get("/rankings/", {"month": "2025-06"}).content.decode()
    assert "南宫市" in other and "正定县" not in other and "桥西区" not in other
    api = client_for(users["other_county_editor"]).get("/api/v1/rankings/", {"month": "2025-06"}).json()
    assert "正定县" not in {row["name"] for row in api["rows"]}
    assert [row["name"] for row in api["rows"] if row["own"]] == ["南宫市"]


@pytest.mark.parametrize("role", ["county_editor", "city_coordinator"])
def test_when_the_province_does_not_allow_it_cities_and_counties_get_403(users, june, settings, role):
    settings.RANKING_VISIBLE_TO_COUNTIES = False
    client = client_for(users[role])
    assert client.get("/rankings/").status_code == 403
    assert client.get("/rankings/export/").status_code == 403
    assert client.get("/api/v1/rankings/").status_code == 403
    assert client_for(users["province_admin"]).get("/rankings/").status_code == 200
    # The menu offers it only to who may open it.
    assert 'href="/rankings/"' not in client.get("/").content.decode()
    assert 'href="/rankings/"' in client_for(users["province_admin"]).get("/").content.decode()
    settings.RANKING_VISIBLE_TO_COUNTIES = True
    assert 'href="/rankings/"' in client.get("/").content.decode()


def test_bad_parameters_answer_400_naming_the_parameter(users):
    client = client_for(users["province_admin"])
    month = client.get("/api/v1/rankings/", {"month": "2025-13"})
    assert month.status_code == 400 and "month" in month.json()
    level = client.get("/api/v1/rankings/", {"level": "town"})
    assert level.status_code == 400 and "level" in level.json()
    assert client.get("/rankings/", {"level": "town"}).status_code == 400
    assert client.get("/rankings/export/", {"month": "x"}).status_code == 400


def test_the_api_answers_the_pages_ranking_and_is_in_the_schema(users, june):
    answer = client_for(users["city_coordinator"]).get("/api/v1/rankings/", {"month": "2025-06", "level": "county"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["month"] == "2025-06" and data["level"] == "county"
    rows = {row["name"]: row for row in data["rows"]}
    assert rows["正定县"]["rank"] == 1 and rows["正定县"]["cells"]["new_starts"]["value"] == 1
    assert rows["正定县"]["trend"]["current"]["starts"] == 1 and rows["正定县"]["trend"]["previous"]["starts"] == 1
    schema = client_for(users["city_coordinator"]).get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/rankings/" in schema["paths"]


def test_the_export_is_the_pages_table_under_a_header_naming_month_and_scope(users, june):
    response = client_for(users["city_coordinator"]).get("/rankings/export/", {"month": "2025-06"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert "2025年6月" in sheet["A1"].value and "石家庄市" in sheet["A1"].value
    header = [cell.value for cell in sheet[2]]
    assert header[:4] == ["排名", "较上月", "单位", "综合得分"]
    units = [row[2] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert units[0] in ("正定县", "桥西区") and "南宫市" not in units
    # Figures are numbers with a format (sortable, summable), not text: a share is a fraction shown as %.
    ranking = unit_ranking(users["city_coordinator"], month=D(2025, 6, 1), level="county")
    column = 5 + 3 * [indicator for indicator, _label, _weight in ranking.weights].index("punctuality")
    by_unit = {row[2]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    for row in ranking.rows:
        value = row.cells["punctuality"].value
        shown = by_unit[str(row.region)][column - 1]
        assert shown == ("—" if value is None else pytest.approx(value / 100))
    red = 5 + 3 * [indicator for indicator, _label, _weight in ranking.weights].index("red")
    numbers = [row[red - 1] for row in sheet.iter_rows(min_row=3) if isinstance(row[red - 1].value, (int, float))]
    assert numbers and all(cell.number_format == "0.0%" for cell in numbers)


def _listed(client, link):
    """The projects the list gives for a link of the ranking (the API's list reads the same ProjectFilterSet)."""
    answer = client.get("/api/v1/projects/?" + link.split("?", 1)[1])
    assert answer.status_code == 200
    return {row["id"] for row in answer.json()["results"]}


def test_each_figures_link_gives_exactly_its_projects(users, june):
    client = client_for(users["city_coordinator"])
    rows = _by_name(unit_ranking(users["city_coordinator"], month=D(2025, 6, 1), level="county"))
    zhengding = rows["正定县"]
    assert _listed(client, zhengding.cells["new_starts"].link) == {june["zhengding"].pk}
    assert _listed(client, zhengding.link) == {june["zhengding"].pk, june["zhengding_may"].pk}
    # Neither June project of 正定 reported June: both owe it and are missing.
    assert zhengding.detail["missing"] == 2
    assert _listed(client, zhengding.cells["punctuality"].link) == {june["zhengding"].pk, june["zhengding_may"].pk}
    # A past month's lights are not what the list judges today: shown, not linked.
    assert zhengding.cells["red"].link is None


def test_the_admin_table_of_weights(users):
    assert client_for(users["province_admin"]).get("/admin/projects/rankingweight/").status_code == 200
    assert client_for(users["city_coordinator"]).get("/admin/projects/rankingweight/").status_code in (302, 403)


def test_cancelled_projects_are_not_counted_in_shares(users):
    _weights(red=1)
    make_project("终止", ZHENGDING, status=Status.CANCELLED, stage=Stage.CONTINUING)
    rows = _by_name(unit_ranking(users["city_coordinator"], month=D(2025, 6, 1), level="county"))
    assert rows["正定县"].projects == 0 and not rows["正定县"].ranked


def test_a_month_not_yet_due_and_a_countys_city_level_answer_400(users):
    """A month not begun is not ranked (it would rank empty figures), and a county ranks among its city's
    counties only: both named in the answer."""
    province = client_for(users["province_admin"])
    ahead = rules.add_months(rules.month_start(rules.today()), 1).strftime("%Y-%m")
    for path in ("/rankings/", "/rankings/export/"):
        assert province.get(path, {"month": ahead}).status_code == 400
    answer = province.get("/api/v1/rankings/", {"month": ahead})
    assert answer.status_code == 400 and "month" in answer.json()
    county = client_for(users["county_editor"])
    assert county.get("/rankings/", {"level": "city"}).status_code == 400
    answer = county.get("/api/v1/rankings/", {"level": "city"})
    assert answer.status_code == 400 and "level" in answer.json()
    assert county.get("/rankings/").status_code == 200
