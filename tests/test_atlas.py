"""The map (一张图, issue 28) through the client: the units of each reader's scope, each linking to the list of
exactly its projects; the points linking to their projects; colours by the indicator's class, from the
dashboard's very figures; a county sees its own county only; English renders."""

import datetime
import random
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from projects.atlas import reads
from projects.domain.choices import RegionLevel
from projects.models import AnnualPlan, MonthlyReport, Project, Region
from projects.reference import boundaries
from projects.shared.editing import progress_refresh

from .conftest import NANGONG, QIAOXI_SJZ, ZHENGDING, make_project
from .test_access import client_for

pytestmark = pytest.mark.django_db

UNIT = re.compile(r'<a href="([^"]+)" data-unit="(\d+)"><path d="[^"]+" fill="(#[0-9a-f]{6})" data-class="([^"]+)">')
POINT = re.compile(r'<a href="([^"]+)"><circle ')


def located(name, county=None, city=None, *, plan, done, coordinates=True):
    """A project inside its county (or its city, for a city's own) with a plan and a report this year."""
    project = make_project(name, county, city)
    if coordinates:
        lon, lat = boundaries.random_point_in(county or city, random.Random(name))
        Project.objects.filter(pk=project.pk).update(longitude=Decimal(str(lon)), latitude=Decimal(str(lat)))
    year = datetime.date.today().year
    AnnualPlan.objects.create(project=project, year=year, planned_investment=Decimal(plan))
    MonthlyReport.objects.create(project=project, month=datetime.date(year, 1, 1), completed_investment=Decimal(done))
    return project


@pytest.fixture
def mapped(db):
    made = {
        "zhengding": located("正定县甲项目", ZHENGDING, plan="1200", done="100"),
        "zhengding_unlocated": located("正定县乙项目", ZHENGDING, plan="800", done="700", coordinates=False),
        "qiaoxi": located("桥西区丙项目", QIAOXI_SJZ, plan="1000", done="900"),
        "sjz_own": located("石家庄市本级丁项目", city="130100", plan="500", done="50"),
        "nangong": located("南宫市戊项目", NANGONG, plan="2000", done="1900"),
        "xiongxian": located("雄县己项目", "130638", plan="3000", done="200"),
        "dingzhou": located("定州市庚项目", "130682", plan="700", done="600"),
        "xinji": located("辛集市辛项目", "130181", plan="900", done="10"),
    }
    progress_refresh()
    return made


def units_of(page):
    return {code: {"href": href, "fill": fill, "class": klass} for href, code, fill, klass in UNIT.findall(page)}


def listed_ids(client, href):
    """The projects the list at `href` shows (read from the page: a list seen before is served as kept HTML)."""
    page = client.get(href)
    assert page.status_code == 200
    return {int(pk) for pk in re.findall(r'<td class="name"><a href="/projects/(\d+)/', page.content.decode())}


def test_the_province_sees_the_14_units_each_linking_to_exactly_its_projects(users, mapped):
    client = client_for(users["province_admin"])
    page = client.get(reverse("atlas")).content.decode()
    units = units_of(page)
    city_level = set(Region.objects.city_level().values_list("code", flat=True))
    assert len(city_level) == 14 and set(units) == city_level
    for code, unit in units.items():
        by_hand = set(Project.objects.filter(city__code=code).values_list("pk", flat=True))
        assert listed_ids(client, unit["href"].replace("&amp;", "&")) == by_hand, code
    assert listed_ids(client, units["133100"]["href"].replace("&amp;", "&")) == {mapped["xiongxian"].pk}  # 雄安, not 保定
    assert listed_ids(client, units["130100"]["href"].replace("&amp;", "&")) == {
        mapped[key].pk for key in ("zhengding", "zhengding_unlocated", "qiaoxi", "sjz_own")}  # not 辛集


def test_every_point_links_to_its_project(users, mapped):
    client = client_for(users["province_admin"])
    page = client.get(reverse("atlas")).content.decode()
    hrefs = POINT.findall(page)
    with_coordinates = Project.objects.filter(latitude__isnull=False)
    assert sorted(hrefs) == sorted(reverse("project_detail", args=[pk]) for pk in with_coordinates.values_list("pk", flat=True))
    assert reverse("project_detail", args=[mapped["zhengding_unlocated"].pk]) not in hrefs
    for href in hrefs:
        assert client.get(href).status_code == 200


@pytest.mark.parametrize("indicator", ["lag", "red", "plan"])
def test_each_unit_is_coloured_by_the_class_of_the_dashboards_figure(indicator, users, mapped):
    client = client_for(users["province_admin"])
    with translation.override("zh-hans"):
        dashboard = client.get(reverse("dashboard")).context
        response = client.get(reverse("atlas"), {"indicator": indicator})
    progress = dashboard["time_progress"]
    figures = {}
    for row in dashboard["areas"]:
        code = Region.objects.get(pk=row["key"]).code
        figures[code] = {"lag": None if row["rate"] is None else row["rate"] - progress,
                         "red": Decimal(row["red"]) * 100 / row["count"], "plan": row["plan"]}[indicator]
    table = {row["code"]: row["number"] for row in response.context["rows"]}
    for code, value in figures.items():
        assert table[code] == value, code
    breaks, colours = reads.palette(indicator, figures.values())
    units = units_of(response.content.decode())
    for code, unit in units.items():
        value = figures.get(code)
        if value is None:
            assert (unit["fill"], unit["class"]) == (reads.NO_DATA, "none"), code
        else:
            klass = sum(1 for edge in breaks if value >= edge)
            assert (unit["fill"], unit["class"]) == (colours[klass], str(klass)), code
    assert units["130682"]["fill"] != reads.NO_DATA and units["130300"]["fill"] == reads.NO_DATA  # 定州 has a project
    legend = response.context["legend"]
    assert [colour for colour, _text in legend] == [*colours, reads.NO_DATA]


def test_the_lag_classes_are_those_stated():
    breaks, colours = reads.palette("lag", [])
    assert [reads.value_class(Decimal(v), breaks) for v in (-30, -20, -15, -7, -1, 0, 3, 7, 50)] == [0, 1, 1, 2, 3, 4, 4, 5, 6]
    assert len(colours) == len(breaks) + 1
    assert reads.value_class(None, breaks) is None


def test_a_city_sees_its_counties_and_its_own_projects(users, mapped):
    client = client_for(users["city_coordinator"])
    response = client.get(reverse("atlas"))
    page = response.content.decode()
    units = units_of(page)
    counties = set(Region.objects.filter(level=RegionLevel.COUNTY, reporting_city__code="130100").values_list("code", flat=True))
    assert set(units) == counties & boundaries.codes()
    assert "130181" not in units and NANGONG not in units  # 辛集 reports for itself
    for code, unit in units.items():
        by_hand = set(Project.objects.filter(county__code=code).values_list("pk", flat=True))
        assert listed_ids(client, unit["href"].replace("&amp;", "&")) == by_hand, code
    own = next(row for row in response.context["rows"] if not row["code"])
    assert listed_ids(client, own["href"]) == {mapped["sjz_own"].pk}
    for key in ("nangong", "xinji", "xiongxian"):
        assert reverse("project_detail", args=[mapped[key].pk]) not in page
    assert client.get(reverse("atlas"), {"level": "city"}).status_code == 403


def test_a_county_sees_its_own_county_and_projects_only(users, mapped):
    client = client_for(users["county_editor"])
    page = client.get(reverse("atlas")).content.decode()
    assert set(units_of(page)) == {ZHENGDING}
    assert POINT.findall(page) == [reverse("project_detail", args=[mapped["zhengding"].pk])]
    for key in ("qiaoxi", "sjz_own", "nangong"):
        assert reverse("project_detail", args=[mapped[key].pk]) not in page
    assert 'data-unit="130104"' not in page and "桥西区" not in page
    assert client.get(reverse("atlas"), {"level": "city"}).status_code == 403
    assert client.get(reverse("atlas"), {"level": "province"}).status_code == 400
    assert client.get(reverse("atlas"), {"indicator": "nonsense"}).status_code == 400
    other = client_for(users["other_county_editor"]).get(reverse("atlas")).content.decode()
    assert set(units_of(other)) == {NANGONG} and "正定" not in other


def test_the_province_may_see_every_county(users, mapped):
    client = client_for(users["province_admin"])
    response = client.get(reverse("atlas"), {"level": "county", "indicator": "investment"})
    units = units_of(response.content.decode())
    assert set(units) == set(Region.objects.counties().values_list("code", flat=True)) & boundaries.codes()
    assert listed_ids(client, units[ZHENGDING]["href"].replace("&amp;", "&")) == {
        mapped["zhengding"].pk, mapped["zhengding_unlocated"].pk}
    assert "石家庄高新技术产业开发区" in response.context["unshaped"]  # listed in the table, said on the page
    assert "石家庄高新技术产业开发区" in {row["label"] for row in response.context["rows"]}
    own = next(row for row in response.context["rows"] if not row["code"])  # the cities' own projects, no county
    assert listed_ids(client, own["href"]) == set(Project.objects.filter(county__isnull=True).values_list("pk", flat=True))
    assert listed_ids(client, own["href"]) == {mapped["sjz_own"].pk}


def test_the_english_page_renders(users, mapped):
    client = client_for(users["county_editor"])
    client.cookies["django_language"] = "en"
    page = client.get(reverse("atlas")).content.decode()
    assert 'lang="en"' in page and "Zhengding" in page
    assert set(units_of(page)) == {ZHENGDING}


def test_the_drawing_is_cached_until_the_data_changes(users, mapped, monkeypatch):
    from projects.atlas import svg

    drawn = []
    draw = svg.draw
    monkeypatch.setattr(svg, "draw", lambda **kwargs: drawn.append(1) or draw(**kwargs))
    client = client_for(users["county_editor"])
    first = client.get(reverse("atlas")).context["svg"]
    assert client.get(reverse("atlas")).context["svg"] == first and len(drawn) == 1
    added = located("正定县新项目", ZHENGDING, plan="100", done="1")
    progress_refresh(projects=[added.pk])
    assert reverse("project_detail", args=[added.pk]) in client.get(reverse("atlas")).context["svg"]
    assert len(drawn) == 2


def test_beyond_the_cap_the_red_points_come_first_and_the_page_says_so(users, mapped, monkeypatch):
    monkeypatch.setattr(reads, "POINT_CAP", 2)
    response = client_for(users["province_admin"]).get(reverse("atlas"), {"year": datetime.date.today().year})
    page = response.content.decode()
    assert len(POINT.findall(page)) == 2
    assert response.context["points_located"] == Project.objects.filter(latitude__isnull=False).count() > 2
    assert response.context["points_capped"]
    assert re.findall(r'class="pt (\w+)"', page) == ["red", "red"]  # 正定甲, 雄县己, 辛集辛 are far behind: red
    assert "图上只画出 2 个（红灯、黄灯优先）" in page


def test_after_a_write_in_one_county_the_provinces_map_sums_that_county_again_and_no_other(users, mapped):
    """The units' figures are summed per region (as the dashboard's): a county's write re-sums that county (and its
    city's own projects, and those of no region: their versions move too), and the map shows what summing anew shows."""
    client = client_for(users["province_admin"])
    client.get(reverse("atlas") + "?indicator=investment")
    project = mapped["zhengding"]
    project.total_investment += Decimal("5000")
    project.save()
    with CaptureQueriesContext(connection) as queries:
        after = client.get(reverse("atlas") + "?indicator=investment").content.decode()
    sums = [q["sql"] for q in queries.captured_queries if '"projects_project"' in q["sql"] and "GROUP BY" in q["sql"]]
    assert sums
    for sql in sums:
        assert re.search(r'"county_id" IN \(%s\)' % project.county_id, sql), sql
    cache.clear()
    assert units_of(after) == units_of(client.get(reverse("atlas") + "?indicator=investment").content.decode())
