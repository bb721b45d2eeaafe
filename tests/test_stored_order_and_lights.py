"""What keeps lists fast at 100,000 projects without changing what they show (issue 10): the sort keys and
today's light stored on the project, kept by every write that moves them, read only while fresh; the
list's count cached until the data changes."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.domain import rules
from projects.domain.choices import LightReason, Stage, Status
from projects.models import AnnualPlan, Project, Region, WorkdayOverride
from projects.shared import lights
from projects.shared.versions import scope_version

from .conftest import NANGONG, SHIJIAZHUANG, ZHENGDING, make_project
from .test_access import client_for
from .test_dispatch_cycle import form_url, page_versions, row
from .test_import import row as list_row
from .test_import import run, workbook

pytestmark = pytest.mark.django_db


def stored():
    return dict(Project.objects.values_list("pk", "current_light_reason"))


def evaluated():
    today = rules.today()
    judged = lights.annotate_progress(Project.objects.all(), year=today.year, on=today, use_stored=False)
    return dict(judged.values_list("pk", "light_reason"))


def assert_stored_lights_are_todays():
    """The invariant: every stored light is the one the rules give today, and the lists read it."""
    assert stored() == evaluated()
    assert lights.stored_lights_fresh(rules.today())


@pytest.fixture(autouse=True)
def _no_stale_marker():
    from django.core.cache import cache

    cache.delete(lights.LIGHTS_STALE_KEY)  # a calendar test elsewhere may have left one (it only slows lists)
    yield
    cache.delete(lights.LIGHTS_STALE_KEY)


def test_lists_read_the_stored_light_only_while_every_project_was_judged_today(users, projects):
    assert_stored_lights_are_todays()
    zhengding, nangong = projects["zhengding"], projects["nangong"]
    today = rules.today()

    def listed_reason(project):
        return lights.annotate_progress(Project.objects.all(), year=today.year, on=today).get(pk=project.pk).light_reason

    # Proof that the column is what lists read: a value no rule gives here shows.
    Project.objects.filter(pk=zhengding.pk).update(current_light_reason=LightReason.CANCELLED)
    assert listed_reason(zhengding) == LightReason.CANCELLED
    # One project not judged today (a path that forgot, or the night before the refresh): all are evaluated.
    Project.objects.filter(pk=nangong.pk).update(current_light_on=today - datetime.timedelta(days=1))
    assert not lights.stored_lights_fresh(today)
    assert listed_reason(zhengding) == evaluated()[zhengding.pk] != LightReason.CANCELLED
    # Another day or year is always evaluated, never read.
    assert not lights.stored_lights_fresh(today - datetime.timedelta(days=1))

    # The night's refresh (the beat task's command) judges all again.
    call_command("refresh_lights", stdout=open("/dev/null", "w"))
    assert_stored_lights_are_todays()


@pytest.mark.parametrize("stale", ["never judged", "yesterday", "tomorrow", "rules before", "rules after"])
def test_one_project_judged_otherwise_makes_every_light_evaluated(users, projects, stale):
    """Any one project whose stored light is not today's, under today's rules, in either direction: the
    freshness check reads the ends of the indexes, so each side must tell."""
    assert_stored_lights_are_todays()
    today = rules.today()
    fingerprint = rules.light_rules_fingerprint()
    change = {
        "never judged": {"current_light_on": None},
        "yesterday": {"current_light_on": today - datetime.timedelta(days=1)},
        "tomorrow": {"current_light_on": today + datetime.timedelta(days=1)},
        "rules before": {"current_light_rules": "0" * len(fingerprint)},
        "rules after": {"current_light_rules": "f" * len(fingerprint)},
    }[stale]
    Project.objects.filter(pk=projects["nangong"].pk).update(**change)
    assert not lights.stored_lights_fresh(today)


def test_a_light_judged_under_other_settings_is_not_read(users, projects, settings):
    assert_stored_lights_are_todays()
    today = rules.today()
    zhengding = projects["zhengding"]
    Project.objects.filter(pk=zhengding.pk).update(current_light_reason=LightReason.CANCELLED)  # marks what is read

    def listed():
        return dict(lights.annotate_progress(Project.objects.all(), year=today.year, on=today).values_list("pk", "light_reason"))

    assert listed()[zhengding.pk] == LightReason.CANCELLED  # read from the column
    # The province tightens its thresholds and restarts, without running anything: lists follow at once.
    settings.TRAFFIC_LIGHT_YELLOW_LAG, settings.TRAFFIC_LIGHT_RED_LAG = 0, 0
    assert not lights.stored_lights_fresh(today)
    assert listed() == evaluated() and listed()[zhengding.pk] != LightReason.CANCELLED  # evaluated, not read
    lights.lights_refresh()  # the night's refresh (or refresh_lights) stores them again
    assert_stored_lights_are_todays()


def test_a_refresh_that_changes_nothing_writes_nothing(projects):
    lights.lights_refresh()
    version, before = scope_version(), list(Project.objects.values_list("pk", "updated_at", "version"))
    history = Project.history.count()
    assert lights.lights_refresh() == 3
    assert scope_version() == version  # no row changed: summaries and counts stay cached
    assert list(Project.objects.values_list("pk", "updated_at", "version")) == before
    assert Project.history.count() == history


def test_every_write_that_moves_a_light_refreshes_it(users, projects, tmp_path, django_capture_on_commit_callbacks):
    zhengding, qiaoxi, nangong = projects["zhengding"], projects["qiaoxi"], projects["nangong"]
    province = client_for(users["province_admin"])
    year = rules.today().year

    # The admin's bulk action (no save signals).
    province.post(reverse("admin:projects_project_changelist"), {"action": "mark_stalled", "_selected_action": [nangong.pk]})
    assert stored()[nangong.pk] == LightReason.STALLED
    assert_stored_lights_are_todays()

    # A save anywhere (admin form, API, shell): the signal.
    qiaoxi.stage = Stage.COMPLETED
    qiaoxi.save()
    assert stored()[qiaoxi.pk] == LightReason.COMPLETED
    assert_stored_lights_are_todays()

    # The monthly report page: reporting the months owed ends REPORT_OVERDUE.
    assert stored()[zhengding.pk] == LightReason.REPORT_OVERDUE
    editor = client_for(users["county_editor"])
    due = rules.latest_due_month(on=rules.today())
    month = datetime.date(year, 1, 1)
    while month <= due:
        versions = page_versions(editor.get(form_url(month)))
        response = editor.post(form_url(month), row(zhengding, "100", "主体施工", version=versions.get(zhengding.pk)))
        assert response.status_code == 302
        month = rules.add_months(month, 1)
    assert stored()[zhengding.pk] != LightReason.REPORT_OVERDUE
    assert_stored_lights_are_todays()

    # The plan (the page, an inline or the import): a tiny plan puts it on pace, a huge one behind.
    plan = AnnualPlan.objects.get(project=zhengding, year=year)
    plan.planned_investment = Decimal("100000")
    plan.save()
    assert rules.light_of(stored()[zhengding.pk]) != rules.light_of(LightReason.ON_PACE)
    assert_stored_lights_are_todays()

    # An import that changes a stage.
    nangong.status = Status.NORMAL
    nangong.save()
    code, out = run(tmp_path, workbook([list_row("1", nangong.name, "邢台市", "南宫市", stage="竣工投产")]), "list.xlsx",
                    "--year", str(year))
    assert code == 0, out
    assert stored()[nangong.pk] == LightReason.COMPLETED
    assert_stored_lights_are_todays()

    # The working-day calendar moves every deadline: lights are evaluated until the queued full refresh ran.
    with django_capture_on_commit_callbacks(execute=True):
        WorkdayOverride.objects.create(date=rules.today(), is_workday=False, note="测试")
        assert not lights.stored_lights_fresh(rules.today())
    assert_stored_lights_are_todays()

    # A city's own thresholds.
    city = Region.objects.get(code=SHIJIAZHUANG)
    city.red_lag = Decimal("0.01")
    city.save()
    assert_stored_lights_are_todays()


def test_sort_keys_follow_the_regions_and_serve_the_lists_order(users, db, tmp_path):
    county_level = make_project("正定县一号项目", ZHENGDING)
    city_level = make_project("石家庄市本级项目", city_code=SHIJIAZHUANG)
    assert (county_level.city_code, county_level.county_code) == (SHIJIAZHUANG, ZHENGDING)
    assert (city_level.city_code, city_level.county_code) == (SHIJIAZHUANG, "")

    # Moved to another county (and city): both keys follow, also when the save names only the county.
    county_level.county = Region.objects.get(code=NANGONG)
    county_level.city = county_level.county.reporting_city
    county_level.save(update_fields=["city", "county"])
    county_level.refresh_from_db()
    assert (county_level.city_code, county_level.county_code) == ("130500", NANGONG)

    # Imported projects get them too.
    code, out = run(tmp_path, workbook([list_row("1", "正定县二号项目", "石家庄市", "正定县")]))
    assert code == 0, out
    assert Project.objects.filter(name="正定县二号项目", city_code=SHIJIAZHUANG, county_code=ZHENGDING).exists()

    # The list's default order: city, then the city's own projects, then its counties, then name.
    page = client_for(users["province_admin"]).get(reverse("project_list"))
    names = [project.name for project in page.context["page"].object_list]
    assert names == ["石家庄市本级项目", "正定县二号项目", "正定县一号项目"]


def test_the_lists_count_is_cached_until_the_data_changes(users, projects):
    client = client_for(users["province_admin"])
    url = reverse("project_list") + "?light=red"

    def counts_run():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        shown = int(re.search(r"共 ([\d,]+) 个项目", response.content.decode())[1].replace(",", ""))
        return shown, sum("COUNT(" in query["sql"].upper() for query in captured.captured_queries)

    first, _queries = counts_run()
    again, queries = counts_run()
    assert (again, queries) == (first, 0)  # the second look counts nothing
    make_project("新的红灯项目", ZHENGDING, status=Status.STALLED)
    after, queries = counts_run()
    assert after == first + 1 and queries >= 1


def test_deep_pages_show_the_same_rows_in_the_same_order(users, db, monkeypatch):
    from django.core.paginator import Paginator

    from projects.pages import project_list
    from projects.shared import paginators

    for index, county in enumerate([ZHENGDING, NANGONG, ZHENGDING, None, NANGONG, ZHENGDING, ZHENGDING]):
        make_project(f"项目{index % 3}", county, city_code=None if county else SHIJIAZHUANG)  # names repeat
    monkeypatch.setattr(paginators, "DEFERRED_JOIN_FROM", 2)  # every page after the first looks keys up first
    monkeypatch.setattr(project_list, "LIST_PAGE_SIZE", 2)
    client = client_for(users["province_admin"])
    for sort in ("", "-name", "light", "-rate"):
        url = reverse("project_list") + (f"?sort={sort}" if sort else "")
        shown = []
        for number in (1, 2, 3, 4):
            shown += [(p.pk, p.light_reason, p.plan_investment) for p in client.get(url + ("&" if sort else "?") + f"page={number}").context["page"]]
        queryset = client.get(url).context["filterset"].qs
        queryset = queryset.order_by(*queryset.query.order_by, "pk") if sort else queryset.order_by(*Project._meta.ordering)
        expected = [(p.pk, p.light_reason, p.plan_investment) for page in Paginator(queryset, 2) for p in page]
        assert shown == expected and len(shown) == 7, sort
        assert all(reason for _pk, reason, _plan in shown)  # the annotations came along


def test_the_admin_sidebar_is_kept_until_the_catalogue_changes_and_stays_scoped(users, projects):
    from projects.models import Batch

    url = reverse("admin:projects_project_changelist")
    province, county = client_for(users["province_admin"]), client_for(users["county_editor"])
    province.get(url)
    with CaptureQueriesContext(connection) as warm:
        page = province.get(url).content.decode()
    assert not [q for q in warm.captured_queries if '"projects_batch"' in q["sql"]]  # the choices came from the cache
    assert "南宫市" in page
    assert "南宫市" not in county.get(url).content.decode()  # another scope, another entry
    Batch.objects.create(code="trial", name="试点批次", order=99)
    assert "试点批次" in province.get(url).content.decode()  # a new catalogue row shows at once


def test_the_list_rows_are_kept_until_the_data_changes_per_scope_and_language(users, projects):
    url = reverse("project_list")
    city = client_for(users["city_coordinator"])
    city.get(url)
    with CaptureQueriesContext(connection) as warm:
        page = city.get(url).content.decode()
    assert projects["qiaoxi"].name in page
    assert not [q for q in warm.captured_queries if '"projects_project"."name"' in q["sql"]]  # rows from the cache
    assert projects["qiaoxi"].name not in client_for(users["county_editor"]).get(url).content.decode()
    projects["qiaoxi"].name = "桥西区改名后的项目"
    projects["qiaoxi"].save()
    assert "桥西区改名后的项目" in city.get(url).content.decode()
    city.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = city.get(url).content.decode()
    assert 'data-label="Traffic light"' in page and 'data-label="红黄绿灯"' not in page
