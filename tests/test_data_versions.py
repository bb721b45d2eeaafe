"""A write makes cold only what it can change (issue 24): a county's report moves its county's, its city's and
the province's figures, not every other county's cached pages; and a cold summary asked for by several
requests at once is computed once."""

import re
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.models import Programme, Project
from projects.shared import versions

from .concurrency import at_once
from .conftest import ZHENGDING, make_project
from .test_access import client_for
from .test_dispatch_cycle import form_url, row


def dashboard_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    return len(queries)


def test_a_county_report_leaves_other_counties_cached_and_moves_its_own_its_city_and_the_province(users, projects):
    zhengding_user, nangong_user = users["county_editor"], users["other_county_editor"]
    city_user, province_user = users["city_coordinator"], users["province_admin"]
    before = {name: versions.scope_version(user) for name, user in
              [("zhengding", zhengding_user), ("nangong", nangong_user), ("city", city_user), ("province", province_user)]}

    # 南宫 (邢台) reports on its page.
    nangong = projects["nangong"]
    answer = client_for(nangong_user).post(form_url(), row(nangong, "80", "设备安装", version=0))
    assert answer.status_code == 302
    after = {name: versions.scope_version(user) for name, user in
             [("zhengding", zhengding_user), ("nangong", nangong_user), ("city", city_user), ("province", province_user)]}
    assert after["zhengding"] == before["zhengding"]  # 正定 (石家庄) keeps its cached pages
    assert after["city"] == before["city"]  # so does 石家庄
    assert after["nangong"] != before["nangong"] and after["province"] != before["province"]

    # 正定's own report moves 正定's and 石家庄's (its city) figures.
    zhengding = projects["zhengding"]
    assert client_for(zhengding_user).post(form_url(), row(zhengding, "90", "主体施工", version=0)).status_code == 302
    assert versions.scope_version(zhengding_user) != after["zhengding"]
    assert versions.scope_version(city_user) != after["city"]


def test_what_a_reader_keeps_between_a_write_and_its_commit_is_not_read_after_the_commit(
        users, projects, django_capture_on_commit_callbacks):
    """Two people at once: a write moves its versions at once, but its rows are another request's only when it commits.
    A reader in between keys what it computed from the rows before the write under the new versions; they move again
    at the commit (one callback a transaction, however many rows it wrote), so that nobody reads it afterwards."""
    import datetime
    from decimal import Decimal

    from django.db import transaction

    from projects.models import MonthlyReport

    editor, province = users["county_editor"], users["province_admin"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for month in (1, 2, 3):
                MonthlyReport.objects.create(project=projects["zhengding"], month=datetime.date(2025, month, 1),
                                             completed_investment=Decimal("10"))
            during = {user.pk: versions.scope_version(user) for user in (editor, province)}
    assert {user.pk: versions.scope_version(user) for user in (editor, province)} != during
    assert all(versions.scope_version(user) != during[user.pk] for user in (editor, province))
    assert len([callback for callback in callbacks if hasattr(callback, "version_keys")]) == 1


def test_another_countys_write_leaves_the_dashboard_warm(users, projects):
    client = client_for(users["county_editor"])  # 正定
    cold = dashboard_queries(client)
    warm = dashboard_queries(client)
    assert warm < cold  # the summary is cached
    client_for(users["other_county_editor"]).post(form_url(), row(projects["nangong"], "80", "设备安装", version=0))
    assert dashboard_queries(client) == warm  # 南宫's report did not empty 正定's dashboard
    client_for(users["county_editor"]).post(form_url(), row(projects["zhengding"], "90", "主体施工", version=0))
    # Its own did: summed anew, all but what is read once per epoch (the regions kept in parts; the action plans, the
    # plan's actions and the names of actions and programmes), the 待办 count's 督办 line (kept under the items'
    # version: a report leaves it) and the user's role and permissions (their groups, their own and their groups'
    # permissions: kept under the access version).
    assert dashboard_queries(client) == cold - 9


def test_a_catalogue_change_moves_everything(users, projects):
    before = [versions.scope_version(user) for user in users.values()]
    Programme.objects.create(code="new-programme", name="新类别", order=99)
    after = [versions.scope_version(user) for user in users.values()]
    assert all(old != new for old, new in zip(before, after))


def test_a_project_moved_to_another_county_moves_both(users, projects):
    zhengding_user, nangong_user = users["county_editor"], users["other_county_editor"]
    before = versions.scope_version(zhengding_user), versions.scope_version(nangong_user)
    project = Project.objects.get(pk=projects["zhengding"].pk)
    project.county = projects["nangong"].county
    project.city = projects["nangong"].city
    project.save()
    assert versions.scope_version(zhengding_user) != before[0]  # it left 正定
    assert versions.scope_version(nangong_user) != before[1]  # and came to 南宫


def test_a_cold_summary_asked_for_at_once_is_computed_once(db):
    computed = []
    lock = threading.Lock()

    def compute():
        with lock:
            computed.append(1)
        time.sleep(0.3)  # a province's aggregates take this long and more
        return {"total": 42}

    parts = ("stampede-test", time.time())
    answers = at_once([lambda: versions.cached_summary(parts, compute)] * 8)
    assert answers == [{"total": 42}] * 8
    assert len(computed) == 1


def test_a_failed_computation_lets_the_waiting_requests_compute(db):
    calls = []

    def compute():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.2)
            raise RuntimeError("the database went away")
        return "figures"

    parts = ("failing-test", time.time())
    answers = at_once([lambda: versions.cached_summary(parts, compute)] * 3)
    assert sum(isinstance(answer, RuntimeError) for answer in answers) == 1
    assert answers.count("figures") == 2


def test_while_one_request_sums_anew_the_others_get_the_previous_figures_marked_stale(db):
    """After a write, the first request computes the new figures; one arriving meanwhile is answered at once
    with those of before the write, marked stale, instead of waiting (issue 24). Without previous figures
    (or past STALE_SECONDS) it waits, as before."""
    parts = ("stale-test", time.time())
    assert versions.cached_summary(parts, lambda: {"total": 1}, stale=True) == {"total": 1}
    versions.data_changed()  # a write: the cached figures are no longer current
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.5)
        return {"total": 2}

    first = []
    worker = threading.Thread(target=lambda: first.append(versions.cached_summary(parts, slow, stale=True)))
    worker.start()
    started.wait()
    computed_here = []
    meanwhile = versions.cached_summary(parts, lambda: computed_here.append(1) or {"total": -1}, stale=True)
    assert meanwhile == {"total": 1, "stale": True} and not computed_here
    worker.join()
    assert first == [{"total": 2}]
    assert versions.cached_summary(parts, lambda: {"total": -1}, stale=True) == {"total": 2}


def test_the_dashboard_says_when_its_figures_are_seconds_old(users, projects, monkeypatch):
    from projects.shared import summaries

    real = summaries.dashboard_summary
    monkeypatch.setattr(summaries, "dashboard_summary", lambda *args, **kwargs: {**real(*args, **kwargs), "stale": True})
    page = client_for(users["province_admin"]).get(reverse("dashboard"))
    assert 'data-stale="true"' in page.content.decode()


def test_the_admin_changelist_renders_its_rows_once_per_data_version(users, projects, monkeypatch):
    """Rendering the admin's 50 rows cost six times their query (issue 24): they are kept under the data
    versions, and a write shows at the next look."""
    from django.contrib.admin.templatetags import admin_list

    rendered = []
    real = admin_list.results
    monkeypatch.setattr(admin_list, "results", lambda cl: rendered.append(1) or real(cl))
    client = client_for(users["province_admin"])
    url = reverse("admin:projects_project_changelist")
    first = client.get(url).content.decode()
    assert client.get(url).content.decode().count("<tr") == first.count("<tr")
    assert len(rendered) == 1
    project = Project.objects.get(pk=projects["zhengding"].pk)
    project.name = "正定县改名后的项目"
    project.save()
    assert "正定县改名后的项目" in client.get(url).content.decode()
    assert len(rendered) == 2
    assert client.get(url, {"o": "2"}).status_code == 200 and len(rendered) == 3  # another order: its own rows


def test_an_api_page_is_serialised_once_per_data_version_and_caller(users, projects, monkeypatch):
    """Serialising a page of projects costs many times reading it (issue 24): kept under the data versions
    for the caller; a write shows at the next request, the rows it did not change read as they were kept (a row
    shows nothing of its reader); another caller has their own page, made of the same kept rows."""
    from projects.api import serializers as api

    serialised = []
    real = api.ProjectSerializer.to_representation
    monkeypatch.setattr(api.ProjectSerializer, "to_representation", lambda self, obj: serialised.append(obj.pk) or real(self, obj))
    province = client_for(users["province_admin"])
    first = province.get("/api/v1/projects/").json()
    count = len(serialised)
    assert count and province.get("/api/v1/projects/").json() == first and len(serialised) == count
    project = Project.objects.get(pk=projects["zhengding"].pk)
    project.name = "正定县接口改名项目"
    project.save()
    assert "正定县接口改名项目" in {row["name"] for row in province.get("/api/v1/projects/").json()["results"]}
    assert serialised[count:] == [project.pk]
    assert client_for(users["leader"]).get("/api/v1/projects/").json()["results"] == \
        province.get("/api/v1/projects/").json()["results"]
    assert serialised[count:] == [project.pk]


def test_with_the_cache_away_a_cold_value_is_computed_at_once(monkeypatch):
    """A cache that does not answer adds nothing and keeps nothing: a request found no one computing and computed
    itself, but only after a first poll's sleep (50 ms on every cold page while Redis was away)."""

    class Away:
        def get(self, key, default=None):
            return default

        def add(self, *args, **kwargs):
            return False

        def set(self, *args, **kwargs):
            pass

        def delete(self, *args, **kwargs):
            pass

    slept = []
    monkeypatch.setattr(versions, "cache", Away())
    monkeypatch.setattr(versions.time, "sleep", slept.append)
    assert versions.computed_once("projects:away-test", lambda: 42) == 42
    assert not slept


def test_a_warm_api_page_is_its_kept_json_not_rendered_again(users, projects, monkeypatch):
    """Issue 24: a warm page of 1,000 projects read its kept data, then rendered it to JSON again: most of the
    request. JSON is kept as the bytes first sent, identical and typed as DRF types them; the browsable API (another
    media type) is kept apart and still drawn."""
    from django.core.cache import cache
    from rest_framework.renderers import JSONRenderer

    cache.clear()
    rendered, real = [], JSONRenderer.render
    monkeypatch.setattr(JSONRenderer, "render", lambda self, *args, **kwargs: rendered.append(1) or real(self, *args, **kwargs))
    client = client_for(users["province_admin"])
    first = client.get("/api/v1/projects/", {"page_size": 5})
    count = len(rendered)
    again = client.get("/api/v1/projects/", {"page_size": 5})
    assert len(rendered) == count == 1
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again.json()["results"] and again.headers.get("Vary") == first.headers.get("Vary")
    detail = f"/api/v1/projects/{projects['zhengding'].pk}/"
    assert client.get(detail).content == client.get(detail).content and len(rendered) == 2
    browsable = client.get("/api/v1/projects/", {"page_size": 5}, HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and browsable["Content-Type"].startswith("text/html")
    assert client.get("/api/v1/projects/", {"page_size": 5}, HTTP_ACCEPT="text/html").status_code == 200


def _cache_reads(monkeypatch, method):
    """Every key the cache is asked for through `method` ("get" or "get_many"; one cache read each), in order."""
    from django.core.cache import cache

    asked = []
    read = getattr(cache, method)

    def spy(keys, *args, **kwargs):
        asked.extend([keys] if method == "get" else keys)
        return read(keys, *args, **kwargs)

    monkeypatch.setattr(cache, method, spy)
    return asked


def test_a_request_reads_each_data_version_once(users, projects, monkeypatch):
    client = client_for(users["county_editor"])
    for _warm in range(2):  # the list's rows are known from the second page on (kept_pages): its versions set
        client.get(reverse("project_list"))
        projects["zhengding"].save()  # the county's list, its count and its menu's 待办 count are cold again
    asked = _cache_reads(monkeypatch, "get_many")  # versions are read many at a time
    assert client.get(reverse("project_list")).status_code == 200
    version_reads = [key for key in asked if key.startswith(versions.DATA_VERSION_KEY)]
    assert version_reads and len(version_reads) == len(set(version_reads))  # each asked for once, not once a key built


def test_a_write_in_the_request_forgets_the_versions_it_read(users, projects):
    # As request_started and request_finished call them (sending those signals would close the test's connection).
    versions._request_began()
    try:
        before = versions.scope_version(users["county_editor"])
        versions.projects_changed([projects["zhengding"].pk])
        assert versions.scope_version(users["county_editor"]) != before  # read anew after its own write
    finally:
        versions._request_ended()
    assert versions._request_versions.get() is None  # outside a request every read asks the cache


def test_a_page_reads_the_users_permissions_once(users, projects, monkeypatch):
    client = client_for(users["county_editor"])
    client.get(reverse("dashboard"))
    projects["zhengding"].save()  # the dashboard and the menu's 待办 count read what the user may do anew
    asked = _cache_reads(monkeypatch, "get_many")  # with the access version, in one read
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    assert len([key for key in asked if key.startswith("projects:access:")]) == 1  # role and permissions: one read
    assert not [q["sql"] for q in queries.captured_queries if "auth_permission" in q["sql"]]


def test_a_write_off_the_page_leaves_the_lists_rows_rendered(users, projects):
    # 石家庄's list narrowed to 桥西: 正定's report moves 石家庄's versions (the list is read anew) but not a row of it.
    client = client_for(users["city_coordinator"])
    url = reverse("project_list") + f"?county={projects['qiaoxi'].county_id}"
    client.get(url)
    projects["zhengding"].name = "正定县改名后的项目"
    projects["zhengding"].save()
    answer = client.get(url)
    assert projects["qiaoxi"].name in answer.content.decode()
    assert "projects/_project_rows.html" not in [template.name for template in answer.templates]
    projects["qiaoxi"].name = "桥西区改名后的项目"  # a row of the page changed: drawn anew
    projects["qiaoxi"].save()
    answer = client.get(url)
    assert "桥西区改名后的项目" in answer.content.decode()
    assert "projects/_project_rows.html" in [template.name for template in answer.templates]


def test_a_cold_page_does_not_list_the_regions_again(users, projects):
    # The province's pieces (its 待办 count's, its dashboard's) are per region: which regions is catalogue data.
    client = client_for(users["province_admin"])
    client.get(reverse("dashboard"))
    projects["zhengding"].save()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    listed = [query["sql"] for query in queries if re.search(r'FROM "projects_region" WHERE \(?"projects_region"."level" =', query["sql"])]
    assert not listed, listed


def listed(client, **params):
    """(the count the list shows, whether the request counted projects in SQL)."""
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("project_list"), params)
    assert page.status_code == 200
    count = int(re.search(r"共 ([\d,]+) 个项目", page.content.decode())[1].replace(",", ""))
    counted = any(q["sql"].startswith("SELECT COUNT(*)") and '"projects_project"' in q["sql"]
                  for q in queries.captured_queries)
    return count, counted


def test_a_report_leaves_the_lists_counted_by_place_warm_and_a_project_that_comes_goes_or_moves_counts_anew(users, projects):
    """Issue 24: after any report in the province, its list counted all its projects again (6 ms of SQL at 100,000 on
    every cold page), though a report moves no project. A list that selects by place alone (its scope, city, county,
    sort) is counted under the places' version: a report, made on its page, leaves it; a project created, deleted or
    moved to another county counts anew; a filter a report can change (the light) is counted anew after one."""
    province, zhengding_user = client_for(users["province_admin"]), client_for(users["county_editor"])
    by_county = {"county": projects["zhengding"].county_id}
    assert listed(province) == (3, True) and listed(province, **by_county) == (1, True)
    assert listed(province, light="red")[1] and listed(zhengding_user) == (1, True)
    assert listed(province) == (3, False)  # warm

    assert zhengding_user.post(form_url(), row(projects["zhengding"], "90", "主体施工", version=0)).status_code == 302
    assert listed(province) == (3, False) and listed(province, **by_county) == (1, False)
    assert listed(province, sort="-total_investment") == (3, False)  # another order, the same count
    assert listed(zhengding_user) == (1, False)
    assert listed(province, light="red")[1]  # the report may have turned a light

    # A project that comes, goes or moves is counted anew, in the province's list and in its counties'.
    came = make_project("正定县新建项目", ZHENGDING)
    assert listed(province) == (4, True) and listed(zhengding_user) == (2, True)
    came.county, came.city = projects["nangong"].county, projects["nangong"].city
    came.save()
    assert listed(zhengding_user) == (1, True) and listed(client_for(users["other_county_editor"])) == (2, True)
    came.delete()
    assert listed(province) == (3, True) and listed(client_for(users["other_county_editor"])) == (1, True)


def test_a_leaders_list_counts_anew_when_a_project_is_given_to_them(users, projects):
    """A 包联 leader's list is their contracted projects: a project's leader is not its place, so the leader's list is
    counted under the province's versions, which the project's save moves."""
    from projects.domain.choices import Role

    from .conftest import NANGONG, make_user

    nangong_leader = make_user("nangong-leader", Role.LEADER, NANGONG)  # 南宫's projects and those they contract
    leader = client_for(nangong_leader)
    assert listed(leader) == (1, True)
    project = Project.objects.get(pk=projects["zhengding"].pk)
    project.contracting_leader = nangong_leader
    project.save()
    assert listed(leader) == (2, True)


def drawn(client, **params):
    """(the list's HTML, whether its body was drawn in this request, its queries reading projects' rows)."""
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("project_list"), params)
    assert page.status_code == 200
    rows_read = [q["sql"] for q in queries.captured_queries if '"projects_project"."name"' in q["sql"]]
    return page.content.decode(), "projects/_project_list_body.html" in [t.name for t in page.templates], rows_read


def test_a_report_off_the_page_leaves_a_page_chosen_by_place_kept_and_one_on_it_draws_it_anew(users, projects):
    """Issue 24: any report in the province drew every page of the province's list anew (its FilterSet, its queries,
    its rows: 15 ms of a cold page at 100,000 projects), though a page shows 50 of them. A page whose rows are chosen
    and ordered by place alone is kept under which rows it shows (the places' version) and their own versions: a report
    off the page leaves it, one on it draws it anew at once, and a project that comes or is renamed shows at once."""
    province = client_for(users["province_admin"])
    zhengding = {"county": projects["zhengding"].county_id}
    for params in (zhengding, {**zhengding, "sort": "-total_investment"}):
        drawn(province, **params)
        drawn(province, **params)  # which rows it shows is known: kept under them
    assert drawn(province, **zhengding)[1:] == (False, [])

    # 南宫 reports on its page: off the 正定 page, which is neither drawn nor reads a row.
    assert client_for(users["other_county_editor"]).post(
        form_url(), row(projects["nangong"], "80", "设备安装", version=0)).status_code == 302
    assert drawn(province, **zhengding)[1:] == (False, [])
    assert drawn(province, **zhengding, sort="-total_investment")[1:] == (False, [])

    # 正定 reports: its page is drawn anew, with the report's figure.
    before = drawn(province, **zhengding)[0]
    assert client_for(users["county_editor"]).post(
        form_url(), row(projects["zhengding"], "90", "主体施工", version=0)).status_code == 302
    html, was_drawn, rows_read = drawn(province, **zhengding)
    assert was_drawn and rows_read and html != before
    assert drawn(province, **zhengding)[1:] == (False, [])

    # A project that comes, or one of the page renamed, shows at once.
    came = make_project("正定县新建的项目", ZHENGDING)
    assert came.name in drawn(province, **zhengding)[0]
    projects["zhengding"].name = "正定县改名后的项目"
    projects["zhengding"].save()
    assert "正定县改名后的项目" in drawn(province, **zhengding)[0]
    assert "正定县改名后的项目" in drawn(province, **zhengding, sort="-total_investment")[0]


def test_a_search_is_kept_across_a_report_off_its_rows_and_shows_at_once_a_project_that_comes_to_match(users, projects):
    """Issue 24: a search of the list (and the admin's: both read ProjectFilterSet.SEARCH_FIELDS) was counted and drawn
    anew after any report in the province. Its rows are chosen by columns whose change moves the places' version: a
    report off its rows leaves it kept, and a project whose owner now matches shows at once."""
    province = client_for(users["province_admin"])
    drawn(province, q="正定县")
    drawn(province, q="正定县")
    assert client_for(users["other_county_editor"]).post(
        form_url(), row(projects["nangong"], "80", "设备安装", version=0)).status_code == 302
    assert drawn(province, q="正定县")[1:] == (False, [])

    nangong = Project.objects.get(pk=projects["nangong"].pk)
    nangong.owner = "正定县某投资公司"
    nangong.save()
    assert listed(province, q="正定县") == (2, True)
    assert nangong.name in drawn(province, q="正定县")[0]


def test_a_rows_version_moves_at_once_and_again_when_its_write_commits(projects, django_capture_on_commit_callbacks):
    """What a reader keeps between a write and its commit (drawn from the rows before it) is not read afterwards, and a
    row the write did not touch keeps its version."""
    import datetime
    from decimal import Decimal

    from django.db import transaction

    from projects.models import MonthlyReport

    written, other = [projects["zhengding"].pk], [projects["nangong"].pk]
    before, untouched = versions.rows_key("page", projects=written), versions.rows_key("page", projects=other)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            MonthlyReport.objects.create(project=projects["zhengding"], month=datetime.date(2025, 3, 1),
                                         completed_investment=Decimal("10"))
            during = versions.rows_key("page", projects=written)
    assert len({before, during, versions.rows_key("page", projects=written)}) == 3
    assert versions.rows_key("page", projects=other) == untouched


def test_the_sorts_of_a_page_chosen_by_place_are_of_the_columns_whose_change_moves_the_places():
    from projects.models import PLACING_FIELDS, PROJECT_ORDER
    from projects.shared.filtersets import ProjectFilterSet

    by_param = ProjectFilterSet.base_filters["sort"].param_map  # {param: field}
    sorted_by = {by_param[param] for param in ProjectFilterSet.PLACE_SORTS} | set(PROJECT_ORDER) - {"id"}
    assert sorted_by <= set(PLACING_FIELDS)


def test_the_search_of_a_page_chosen_by_place_reads_columns_whose_change_moves_the_places():
    from projects.models import PLACING_FIELDS
    from projects.shared.filtersets import ProjectFilterSet

    assert "q" in ProjectFilterSet.PLACE_FILTERS
    assert set(ProjectFilterSet.SEARCH_FIELDS) <= set(PLACING_FIELDS)


@pytest.mark.parametrize("by_light", [{"light": "red"}, {"sort": "-light"}])
def test_a_page_chosen_by_light_is_kept_until_a_light_turns(users, projects, by_light):
    """Issue 24: a list filtered or sorted by light was drawn anew after any report in the province (38 ms of a cold
    red list at 100,000 projects). While the stored lights are read, which projects of a place it shows is kept under
    the stored lights' version too, which a report that turns no light leaves: a report in another county leaves it,
    and a project of its place whose light turns red shows at once."""
    from projects.domain.choices import Stage, Status
    from projects.domain.rules import light_of

    stalled = make_project("正定县将要停滞的项目", ZHENGDING, stage=Stage.PREPARATORY)  # green, until stalled
    province = client_for(users["province_admin"])
    page = {"county": projects["zhengding"].county_id, **by_light}
    drawn(province, **page), drawn(province, **page)
    html, *kept = drawn(province, **page)
    assert kept == [False, []] and (stalled.name in html) == ("sort" in by_light)
    assert client_for(users["other_county_editor"]).post(
        form_url(), row(projects["nangong"], "80", "设备安装", version=0)).status_code == 302
    assert drawn(province, **page)[1:] == (False, [])  # 南宫's report turned no light of 正定

    stalled.status = Status.STALLED  # its light turns red: the page is drawn anew, with it (first, sorted by light)
    stalled.save()
    assert light_of(Project.objects.get(pk=stalled.pk).current_light_reason) == "red"
    html, was_drawn, _rows = drawn(province, **page)
    assert was_drawn and stalled.name in html
    if "sort" in by_light:
        assert html.index(stalled.name) < html.index(projects["zhengding"].name)


def test_a_warm_page_reads_no_rows_version_and_one_after_a_write_elsewhere_reads_them_once(users, projects, monkeypatch):
    """A page kept under its rows' versions reads them only when its scope changed: a warm page of the API's 1,000 rows
    read 1,000 versions (2.6 ms of 7 at 100,000 projects) before it was kept under its scope's versions too."""
    client = client_for(users["province_admin"])
    page = {"county": projects["zhengding"].county_id}
    drawn(client, **page), drawn(client, **page)
    asked = _cache_reads(monkeypatch, "get_many")
    assert drawn(client, **page)[1:] == (False, [])
    rows_versions = [key for key in asked if key.startswith("projects:data-version:project:")]
    assert rows_versions == []
    projects["nangong"].save()  # a write elsewhere in the province
    assert drawn(client, **page)[1:] == (False, [])
    assert [key for key in asked if key.startswith("projects:data-version:project:")] == [
        f"projects:data-version:project:{projects['zhengding'].pk}"]
    assert drawn(client, **page)[1:] == (False, [])
    assert len([key for key in asked if key.startswith("projects:data-version:project:")]) == 1
