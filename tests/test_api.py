"""The REST API (/api/v1/): the permission matrix over real HTTP requests with a token and with a session,
tokens (read-only, revoked, expired), the list page's filters, reports through the same service as the
form, versions and 409, cursor pages, throttling, and the schema and docs served offline."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.api.serializers import problem_version
from projects.api.throttling import PerTokenRateThrottle
from projects.dispatch.reports import reports_review
from projects.domain import rules
from projects.domain.choices import ReviewAction, ReviewStatus
from projects.models import AnnualPlan, ApiToken, MonthlyReport, Problem, Project

from .conftest import ZHENGDING, make_project
from .test_access import client_for
from .test_dispatch_cycle import form_url, row

API = "/api/v1/"


def issue_token(user, *, read_only=False, days=30):
    _token, key = ApiToken.objects.create(user=user, expiry=datetime.timedelta(days=days), name="测试", read_only=read_only)
    return key


class Caller:
    """One way to call the API: with a token (machines) or with the browser's session and its CSRF token."""

    def __init__(self, user, mode):
        self.mode = mode
        if mode == "token":
            self.client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
        else:
            self.client = Client(enforce_csrf_checks=True)
            self.client.force_login(user)
            self.client.get(reverse("dashboard"))  # sets the CSRF cookie, as a page visit does

    def _headers(self):
        if self.mode == "session":
            return {"HTTP_X_CSRFTOKEN": self.client.cookies["csrftoken"].value}
        return {}

    def get(self, path, **params):
        return self.client.get(API + path, params)

    def post(self, path, data):
        return self.client.post(API + path, data, content_type="application/json", **self._headers())

    def patch(self, path, data):
        return self.client.patch(API + path, data, content_type="application/json", **self._headers())

    def delete(self, path):
        return self.client.delete(API + path, **self._headers())


@pytest.fixture
def world(users, projects):
    month = rules.reporting_month(rules.today())
    reports = {key: MonthlyReport.objects.get(project=project, month__year=rules.today().year, month__month=1)
               for key, project in projects.items()}
    problems = {key: Problem.objects.create(project=project, description=f"{key}的问题") for key, project in projects.items()}
    return users, projects, reports, problems, month


# Which fixture projects each role sees, and whether it may report and keep problems.
SEES = {
    "province_admin": {"zhengding", "qiaoxi", "nangong"},
    "leader": {"zhengding", "qiaoxi", "nangong"},
    "city_coordinator": {"zhengding", "qiaoxi"},
    "county_editor": {"zhengding"},
    "other_county_editor": {"nangong"},
}
WRITES = {"province_admin", "city_coordinator", "county_editor", "other_county_editor"}


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("mode", ["token", "session"])
@pytest.mark.parametrize("role", list(SEES))
def test_permission_matrix(role, mode, world):
    users, projects, reports, problems, month = world
    caller = Caller(users[role], mode)
    seen = {key for key in projects if key in SEES[role]}
    unseen = set(projects) - seen
    # Reading: lists hold the region's objects only; another region's object is as missing as a missing one.
    assert ids(caller.get("projects/")) == {projects[key].pk for key in seen}
    assert ids(caller.get("plans/")) == set(AnnualPlan.objects.filter(project__in=[projects[k] for k in seen]).values_list("pk", flat=True))
    assert ids(caller.get("reports/")) == {reports[key].pk for key in seen}
    assert ids(caller.get("problems/")) == {problems[key].pk for key in seen}
    for key in seen:
        assert caller.get(f"projects/{projects[key].pk}/").status_code == 200
        assert caller.get(f"reports/{reports[key].pk}/").status_code == 200
    for key in unseen:
        for endpoint, obj in (("projects", projects[key]), ("reports", reports[key]), ("problems", problems[key])):
            response, missing = caller.get(f"{endpoint}/{obj.pk}/"), caller.get(f"{endpoint}/987654321/")
            assert (response.status_code, response.json()) == (404, missing.json()), endpoint
    for path in ("regions/", "programmes/", "batches/", "industries/", "clusters/", "action-plans/", "dashboard/"):
        assert caller.get(path).status_code == 200, path
    # Writing: a report for each project; a problem changed and deleted.
    for key, project in projects.items():
        response = caller.post("reports/", {"project": project.pk, "month": month.isoformat(),
                                            "completed_investment": "10", "version": 0})
        if role not in WRITES:
            assert response.status_code == 403, (key, response.content)
        elif key in seen:
            assert response.status_code == 201, (key, response.content)
        else:
            assert response.status_code == 400 and "project" in response.json(), (key, response.content)
    for key, problem in problems.items():
        response = caller.patch(f"problems/{problem.pk}/", {"resolution": "已协调", "expected_version": problem_version(problem)})
        expected = 403 if role not in WRITES else (200 if key in seen else 404)
        assert response.status_code == expected, (key, response.content)
    assert MonthlyReport.objects.filter(month=month).count() == (len(seen) if role in WRITES else 0)
    for key, project in projects.items():
        response = caller.post("problems/", {"project": project.pk, "description": "用地指标未落实"})
        expected = 403 if role not in WRITES else (201 if key in seen else 400)
        assert response.status_code == expected, (key, response.content)
    for key, problem in problems.items():
        problem.refresh_from_db()
        response = caller.delete(f"problems/{problem.pk}/?version={problem_version(problem)}")
        assert response.status_code == (403 if role not in WRITES else (204 if key in seen else 404)), key
    regions = {row["code"] for row in caller.get("regions/", page_size=500).json()["results"]}
    assert {projects[key].county.code for key in seen} <= regions
    assert not {projects[key].county.code for key in unseen} & regions or role in ("province_admin", "leader")


def test_a_read_only_token_reads_and_cannot_write(world):
    users, projects, _reports, _problems, month = world
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'], read_only=True)}")
    assert client.get(API + "projects/").status_code == 200
    response = client.post(API + "reports/", {"project": projects["zhengding"].pk, "month": month.isoformat(),
                                              "completed_investment": "1", "version": 0}, content_type="application/json")
    assert response.status_code == 403 and "只读" in response.json()["detail"]


def test_revoked_expired_and_unknown_tokens_are_refused(world):
    users = world[0]
    token = issue_token(users["county_editor"])
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(API + "projects/").status_code == 200
    ApiToken.objects.filter(user=users["county_editor"]).delete()  # revoked in the admin
    assert client.get(API + "projects/").status_code == 401
    expired = issue_token(users["county_editor"], days=-1)
    assert Client(HTTP_AUTHORIZATION=f"Token {expired}").get(API + "projects/").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Token " + "x" * 64).get(API + "projects/").status_code == 401
    assert Client().get(API + "projects/").status_code in (401, 403)


def test_tokens_are_issued_in_the_admin_shown_once_and_stored_hashed(world):
    users = world[0]
    admin_client = client_for(users["province_admin"])
    response = admin_client.post(reverse("admin:projects_apitoken_add"), {
        "user": users["county_editor"].pk, "name": "正定县项目管理系统", "read_only": "", "valid_days": 90,
    }, follow=True)
    message = [m.message for m in response.context["messages"]][0]
    token = message.split("<code>")[1].split("</code>")[0]
    stored = ApiToken.objects.get()
    assert token not in (stored.digest, stored.token_key) and stored.digest != token
    assert (stored.read_only, stored.expiry.date()) == (False, (timezone.now() + datetime.timedelta(days=90)).date())
    assert Client(HTTP_AUTHORIZATION=f"Token {token}").get(API + "projects/").status_code == 200
    # Only the province administrator issues tokens.
    assert client_for(users["city_coordinator"]).get(reverse("admin:projects_apitoken_add")).status_code == 403


@pytest.mark.parametrize("params", [
    {},
    {"county": "COUNTY"},
    {"stage": "continuing"},
    {"light": "red"},
    {"q": "正定"},
    {"programme": "PROGRAMME"},
    {"year": "YEAR"},
    {"year": "YEAR", "report_status": "missing"},
])
def test_filters_give_the_same_projects_as_the_list_page(params, users, projects):
    from projects.models import Programme

    values = {"COUNTY": str(projects["zhengding"].county_id), "PROGRAMME": str(Programme.objects.get(code="provincial").pk),
              "YEAR": str(rules.today().year)}
    params = {key: values.get(value, value) for key, value in params.items()}
    make_project("石家庄市本级无计划项目", city_code="130100")
    user = users["city_coordinator"]
    page = client_for(user).get(reverse("project_list"), {"year": rules.today().year, **params})
    on_page = {project.pk for project in page.context["page"].paginator.object_list}
    api = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}").get(API + "projects/", {"year": rules.today().year, **params})
    assert ids(api) == on_page


def test_a_report_through_the_api_is_checked_warned_and_reviewed_as_one_from_the_form(world):
    users, projects, _reports, _problems, month = world
    zhengding = projects["zhengding"]
    AnnualPlan.objects.filter(project=zhengding).update(planned_investment=Decimal("100"))
    editor = Caller(users["county_editor"], "token")
    body = {"project": zhengding.pk, "month": month.isoformat(), "completed_investment": "500", "version": 0}
    response = editor.post("reports/", body)
    if month.year == rules.today().year:  # the plan is this year's; 500 + January's 100 is above 150% of 100
        assert response.status_code == 400
        assert "note" in response.json() and any("年度计划" in warning["message"] for warning in response.json()["warnings"])
        response = editor.post("reports/", {**body, "note": "设备款集中支付"})
    assert response.status_code == 201, response.content
    report = MonthlyReport.objects.get(project=zhengding, month=month)
    assert (response.json()["outcome"], report.reported_by, report.review_status) == ("created", users["county_editor"], "submitted")
    # The same again: nothing written.
    again = editor.post("reports/", {**body, "note": report.note, "version": report.version})
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    # A stale version: 409 with a message, nothing lost.
    stale = editor.patch(f"reports/{report.pk}/", {"completed_investment": "600", "note": "x", "version": report.version - 1})
    assert stale.status_code == 409 and "已被他人修改" in stale.json()["detail"]
    # Reviewed by the city: returned counts as not reported; approved is locked for the API too.
    reports_review(user=users["city_coordinator"], versions={report.pk: report.version}, action=ReviewAction.APPROVE)
    report.refresh_from_db()
    locked = editor.patch(f"reports/{report.pk}/", {"completed_investment": "700", "note": "x", "version": report.version})
    assert locked.status_code == 409 and "已锁定" in locked.json()["detail"]
    assert editor.get(f"reports/{report.pk}/").json()["review_status_display"] == "已审核"
    assert MonthlyReport.objects.get(pk=report.pk).review_status == ReviewStatus.APPROVED


def test_errors_name_the_field_and_amounts_are_decimal_strings_with_labels(world):
    users, projects, _reports, _problems, month = world
    editor = Caller(users["county_editor"], "token")
    response = editor.post("reports/", {"project": projects["zhengding"].pk, "month": month.isoformat(),
                                        "completed_investment": "-5", "version": 0})
    assert response.status_code == 400 and "completed_investment" in response.json()
    future = rules.add_months(rules.month_start(rules.today()), 1)
    response = editor.post("reports/", {"project": projects["zhengding"].pk, "month": future.isoformat(),
                                        "completed_investment": "5", "version": 0})
    assert response.status_code == 400 and "month" in response.json()
    detail = editor.get(f"projects/{projects['zhengding'].pk}/").json()
    assert detail["total_investment"] == "10000.00" and detail["stage"] == "continuing" and detail["stage_display"] == "续建"
    assert detail["light_display"] in ("红灯", "黄灯", "绿灯", "不评价") and detail["plans"][0]["planned_investment"] == "1200.00"
    assert detail["latest_report"]["month"] == f"{rules.today().year}-01-01"


def test_problem_writes_carry_the_version(world):
    users, projects, _reports, problems, _month = world
    editor = Caller(users["county_editor"], "token")
    problem = problems["zhengding"]
    read = editor.get(f"problems/{problem.pk}/").json()
    assert editor.patch(f"problems/{problem.pk}/", {"status": "in_progress"}).status_code == 400  # no version
    assert editor.patch(f"problems/{problem.pk}/", {"status": "in_progress", "expected_version": read["version"]}).status_code == 200
    stale = editor.patch(f"problems/{problem.pk}/", {"status": "resolved", "expected_version": read["version"]})
    assert stale.status_code == 409
    created = editor.post("problems/", {"project": projects["zhengding"].pk, "description": "电力接入滞后", "category": "infrastructure"})
    assert created.status_code == 201 and created.json()["category_display"] == "水电气暖配套"
    new = created.json()
    assert editor.delete(f"problems/{new['id']}/?version=wrong").status_code == 409
    assert editor.delete(f"problems/{new['id']}/?version={new['version']}").status_code == 204


def test_cursor_pages_are_stable_under_inserts(users, projects):
    caller = Caller(users["province_admin"], "token")
    first = caller.get("projects/", page_size=2).json()
    make_project("新插入的项目", "130123")
    second = caller.client.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 4
    assert set(seen) >= {project.pk for project in projects.values()}


def test_throttling_is_per_token(users, projects, monkeypatch):
    monkeypatch.setattr(PerTokenRateThrottle, "THROTTLE_RATES", {"api": "3/minute"})
    first = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    second = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    assert [first.get(API + "programmes/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert second.get(API + "programmes/").status_code == 200


def test_dashboard_summary_matches_the_page(users, projects):
    user = users["city_coordinator"]
    api = Caller(user, "token").get("dashboard/").json()
    page = client_for(user).get(reverse("dashboard")).context
    assert api["totals"]["count"] == page["totals"]["count"] == 2
    assert Decimal(api["totals"]["plan"]) == page["totals"]["plan"]
    assert [row["label"] for row in api["areas"]] == [row["label"] for row in page["areas"]]
    assert api["report_cycle"]["missing"] == next(item["count"] for item in page["cycle"] if item["key"] == "missing")


def test_schema_and_docs_are_served_without_a_cdn(users):
    client = client_for(users["leader"])
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200 and "/api/v1/projects/" in schema.json()["paths"]
    # Nothing loaded from another site. (The page's CSRF token is random: "cdn" in it failed a word search now and then.)
    off_site = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "/static/drf_spectacular_sidecar/" in docs and not off_site.search(docs)
    redoc = client.get("/api/redoc/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in redoc and not off_site.search(redoc)


def test_the_schema_is_generated_without_a_warning_and_names_each_choice_set_once(tmp_path):
    """drf-spectacular warned of two fields (the programmes' names, which it could not find along their source) and
    made up enum names ("Status8fcEnum", "Level67eEnum") where several choice sets share a field's name, naming the
    supervision levels twice: a generated client's types changed with a hash."""
    from django.core.management import call_command

    target = tmp_path / "schema.json"
    call_command("spectacular", "--api-version", "v1", "--format", "openapi-json", "--fail-on-warn", "--file", str(target))
    names = [name for name in json.loads(target.read_text())["components"]["schemas"] if name.endswith("Enum")]
    assert {"ProjectStatusEnum", "SupervisionLevelEnum", "RegionLevelEnum", "ReviewStatusEnum"} <= set(names)
    assert not [name for name in names if re.search(r"[0-9a-f]{3}Enum$", name)] and "IssuerLevelEnum" not in names


def test_dashboard_gives_the_forecast_and_the_trend_of_the_page(users, projects):
    """The year-end forecast and 环比/同比 (issue 28) in the API are the page's cards' figures."""
    user = users["city_coordinator"]
    api = Caller(user, "token").get("dashboard/").json()
    page = client_for(user).get(reverse("dashboard")).context
    forecast = page["forecast_card"]["forecast"]
    assert api["forecast"]["months"] == forecast.months
    assert api["forecast"]["method"] == forecast.method
    assert api["forecast"]["caveat"] == page["forecast_card"]["caveat"]
    for name in ("completed", "plan", "headline", "pace", "low", "high"):
        value = getattr(forecast, name)
        if value is None:
            assert api["forecast"][name] is None, name
        else:  # to the cent, as the API gives amounts (the page's figure may be 218.1818…: a day's progress divides it)
            assert abs(Decimal(api["forecast"][name]) - value) <= Decimal("0.005"), (name, api["forecast"][name], value)
    trend = api["trend"]
    assert trend["month"] == page["trend_card"]["month"].isoformat()
    assert set(trend["current"]) >= {"completed", "rate", "starts", "red"}
    starts_row = next(row for row in page["trend_card"]["rows"] if row["name"] == "starts")
    assert str(trend["current"]["starts"]) == starts_row["cells"][0][0]


def test_a_page_of_projects_is_serialised_without_inspecting_a_callable_per_row(users, monkeypatch):
    """Issue 24: DRF's source="get_stage_display" inspects the method's signature on every row, and each label was
    translated anew: two fifths of serialising 1,000 projects. The labels are the model's, in the reader's language."""
    import inspect

    from django.utils import translation

    from projects.domain.choices import Stage, Status

    for index in range(20):
        make_project(f"正定序列化{index:02d}", ZHENGDING, stage=(Stage.CONTINUING, Stage.PREPARATORY)[index % 2],
                     status=Status.STALLED if index % 3 == 0 else Status.NORMAL)
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    inspected, real = [], inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda *args, **kwargs: inspected.append(1) or real(*args, **kwargs))
    client.get(API + "projects/", {"page_size": 1})  # what a process inspects once
    counts = []
    for size in (5, 20):
        inspected.clear()
        assert len(client.get(API + "projects/", {"page_size": size, "search": "正定序列化"}).json()["results"]) == size
        counts.append(len(inspected))
    assert counts[0] == counts[1], counts  # none per row
    for language in ("zh-hans", "en"):
        client.cookies["django_language"] = language
        rows = client.get(API + "projects/", {"page_size": 20, "search": "正定序列化"}, HTTP_ACCEPT_LANGUAGE=language).json()["results"]
        with translation.override(language):
            for row in rows:
                project = Project.objects.get(pk=row["id"])
                assert (row["stage_display"], row["status_display"]) == (project.get_stage_display(), project.get_status_display())
                assert row["page_url"] == reverse("project_detail", args=[project.pk])
        assert {row["status_display"] for row in rows} == ({"停缓建", "正常推进"} if language == "zh-hans" else {"Stalled", "Normal"})


def test_after_a_write_a_page_of_projects_serialises_only_the_rows_that_changed(users, monkeypatch):
    """Issue 24: after a write in the caller's scope their page of projects was serialised whole again, though most of
    its rows were what they were (serialising 100 rows cost twice reading them). Each row is kept under what it shows:
    a renamed project, a programme added, a new language or a new day make another row; the others are read kept."""
    from projects.api import serializers as api
    from projects.models import Programme

    made = [make_project(f"正定行缓存{index:02d}", ZHENGDING) for index in range(6)]
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    serialised, real = [], api.ProjectSerializer.to_representation
    monkeypatch.setattr(api.ProjectSerializer, "to_representation",
                        lambda self, project: serialised.append(project.pk) or real(self, project))
    query = {"search": "正定行缓存"}
    first = client.get(API + "projects/", query).json()["results"]
    assert sorted(serialised) == sorted(project.pk for project in made)
    serialised.clear()
    made[2].name = "正定行缓存02（改名）"
    made[2].save()
    added = Programme.objects.exclude(pk__in=made[4].programmes.values("pk")).first()
    made[4].programmes.add(added)
    after = client.get(API + "projects/", query).json()["results"]
    assert sorted(serialised) == sorted([made[2].pk, made[4].pk])  # the others were read kept
    by_id = {row["id"]: row for row in after}
    assert by_id[made[2].pk]["name"] == "正定行缓存02（改名）" and added.name in by_id[made[4].pk]["programmes"]
    assert [row for row in after if row["id"] not in (made[2].pk, made[4].pk)] == \
        [row for row in first if row["id"] not in (made[2].pk, made[4].pk)]
    serialised.clear()
    client.cookies["django_language"] = "en"
    english = client.get(API + "projects/", query).json()["results"]
    assert len(serialised) == len(made) and {row["stage_display"] for row in english} == {"Continuing"}  # its labels


def test_after_a_write_off_the_page_its_rows_are_one_cache_read(users, monkeypatch):
    """Issue 24: after a write in the caller's scope but not on their page, the page's rows were read kept one by one
    (1,000 keys: 20 ms of a cold page of 1,000). The page's rows are kept whole too, under its rows' keys in order: one
    read; a row changed makes another list, whose unchanged rows are still read kept."""
    from projects.shared import kept_rows

    made = [make_project(f"正定整页缓存{index:02d}", ZHENGDING) for index in range(4)]
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    query = {"page_size": len(made)}  # the first page, by id: a project made later is off it
    first = client.get(API + "projects/", query).json()["results"]
    assert [row["id"] for row in first] == [project.pk for project in made]
    many, real = [], kept_rows.cache.get_many
    monkeypatch.setattr(kept_rows.cache, "get_many", lambda keys, *args: many.append(
        len([key for key in keys if key.startswith("projects:row:")])) or real(keys, *args))  # the rows' own keys
    make_project("正定县页外项目", ZHENGDING)  # a write in the scope, off the page
    assert client.get(API + "projects/", query).json()["results"] == first
    assert [size for size in many if size == len(made)] == []  # the page's rows: not read one by one
    made[1].name = "正定整页缓存01（改名）"
    made[1].save()
    changed = client.get(API + "projects/", query).json()["results"]
    assert [size for size in many if size == len(made)] == [len(made)]
    assert {row["name"] for row in changed} >= {"正定整页缓存01（改名）", "正定整页缓存00"}


def test_a_page_of_the_list_reads_no_column_it_does_not_show(users):
    """Issue 24: a page of 1,000 projects built every column of each (the remarks, the scope's text, the contacts):
    a sixth of a cold page. The list reads what its rows show; the detail still shows the rest."""
    for index in range(6):
        make_project(f"正定县列项目{index}", ZHENGDING, phone="13812345678", remarks="很长的备注" * 50)
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")

    def read(size):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            rows = client.get(API + "projects/", {"page_size": size}).json()["results"]
        return rows, [q["sql"] for q in queries.captured_queries]

    (_few, small), (rows, large) = read(2), read(6)
    assert len(small) == len(large) and len(rows) == 6  # no column read row by row afterwards
    [page] = [sql for sql in large if sql.startswith('SELECT "projects_project"."id"') and "LIMIT" in sql]
    for column in ("remarks", "phone", "contact", "scope", "updated_at"):
        assert f'"projects_project"."{column}"' not in page, column
    detail = client.get(f"{API}projects/{rows[0]['id']}/").json()
    assert detail["phone"] == "13812345678" and detail["remarks"].startswith("很长的备注")


def test_a_token_request_reads_its_users_region_with_the_token(users):
    """Issue 24: every API request names the caller's scope in its cache keys, which reads the region's level: after
    the token and its user, the region was a query of its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    assert client.get(API + "projects/").status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert client.get(API + "projects/").status_code == 200
    token_queries = [q["sql"] for q in warm.captured_queries if 'FROM "projects_apitoken"' in q["sql"]]
    assert token_queries and all('JOIN "projects_region"' in sql for sql in token_queries)
    assert not [q["sql"] for q in warm.captured_queries if q["sql"].startswith('SELECT "projects_region"')]


def test_a_projects_detail_is_kept_per_caller_and_follows_a_write(users):
    """Issue 24: a project's detail (its plans, latest report, the phone as the caller may see it) was read and
    serialised anew on every request. It is kept per caller under their scope's versions: a second request reads
    no project, a write shows at once, a reader without the right to edit keeps their masked phone, and a project
    out of sight is refused each time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project = make_project("正定县详情项目", ZHENGDING, phone="13812345678")
    editor = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    leader = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['leader'])}")
    url = f"{API}projects/{project.pk}/"
    first = editor.get(url).json()
    with CaptureQueriesContext(connection) as warm:
        assert editor.get(url).json() == first
    assert not [q["sql"] for q in warm.captured_queries if 'FROM "projects_project"' in q["sql"]]
    assert first["phone"] == "13812345678" and leader.get(url).json()["phone"] == "138****5678"
    project.name = "正定县详情项目（改名）"
    project.save()
    assert editor.get(url).json()["name"] == "正定县详情项目（改名）"
    elsewhere = make_project("南宫市看不见的项目", "130581")
    for _again in range(2):
        assert editor.get(f"{API}projects/{elsewhere.pk}/").status_code == 404


def test_a_page_reads_its_programmes_and_actions_once_not_an_object_per_link(users):
    """Issue 24: each project's programmes and actions were prefetched as an object per link (1,000 projects: 158 of
    a cold page's 360 ms). They are read as the links' ids and the catalogues' rows, once a page; each project lists
    them in the catalogues' order, as before."""
    from django.db.models.signals import post_init

    from actions.models import Action
    from projects.models import Programme

    programmes = list(Programme.objects.all()[:2])
    actions = list(Action.objects.select_related("plan")[:3])
    for index in range(20):
        project = make_project(f"正定县接口项目{index:02d}", ZHENGDING)
        project.programmes.set(programmes[: 1 + index % 2])
        project.actions.set(actions[index % 3:])
    made = []

    def count(sender, **kwargs):
        made.append(sender)

    cache.clear()
    post_init.connect(count, sender=Programme)
    post_init.connect(count, sender=Action)
    try:
        page = client_for(users["county_editor"]).get(API + "projects/", {"page_size": 100}).json()["results"]
    finally:
        post_init.disconnect(count, sender=Programme)
        post_init.disconnect(count, sender=Action)
    assert made.count(Programme) <= Programme.objects.count() and made.count(Action) <= Action.objects.count(), \
        (made.count(Programme), made.count(Action))
    shown = {row["name"]: row for row in page}
    for index in range(20):
        row = shown[f"正定县接口项目{index:02d}"]
        assert row["programmes"] == [programme.name for programme in programmes[: 1 + index % 2]]
        assert [(action["id"], action["plan"], action["name"]) for action in row["actions"]] == [
            (action.pk, action.plan.code, action.name) for action in actions[index % 3:]]


def test_after_a_report_an_api_page_reads_no_catalogue_and_a_renamed_programme_shows_at_once(users, projects):
    """Issue 24: a cold page read the programmes' and the actions' catalogues (two queries) after any write. They are
    kept per epoch, which a change to a catalogue moves."""
    from projects.models import Programme

    programme = Programme.objects.order_by("order").first()
    projects["zhengding"].programmes.set([programme])
    client = client_for(users["county_editor"])
    assert client.get(API + "projects/").status_code == 200
    client_for(users["county_editor"]).post(form_url(), row(projects["zhengding"], "90", "主体施工", version=0))
    with CaptureQueriesContext(connection) as cold:
        page = client.get(API + "projects/").json()["results"]
    catalogues = [q["sql"] for q in cold.captured_queries
                  if q["sql"].startswith(('SELECT "projects_programme"', 'SELECT "actions_action"'))]
    assert catalogues == [] and len(cold) > 4  # read anew (the version moved), the catalogues from the cache
    assert page[0]["programmes"] == [programme.name]
    programme.name = "新名称类别"
    programme.save()
    assert client.get(API + "projects/").json()["results"][0]["programmes"] == ["新名称类别"]


def test_a_report_off_the_page_leaves_an_api_page_and_a_detail_kept_and_one_on_them_shows_at_once(users, projects):
    """Issue 24: any report in the caller's scope made every page and detail of theirs cold (after a report anywhere,
    the province's: 33 ms a cold page of 100 rows, 124 ms of 1,000, at 100,000 projects). A page whose rows are chosen
    by place alone (its ids in order) is kept under which rows it shows and their own versions, and a detail under its
    project's: a report on another project leaves them, a report on theirs shows at once."""
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['province_admin'])}")
    page, detail = {"county": projects["zhengding"].county_id}, f"{API}projects/{projects['zhengding'].pk}/"

    def read():
        with CaptureQueriesContext(connection) as queries:
            rows, one = client.get(API + "projects/", page).json()["results"], client.get(detail).json()
        return rows, one, [q["sql"] for q in queries.captured_queries if 'FROM "projects_project"' in q["sql"]]

    read(), read()  # which rows the page shows is known from the second read on
    rows, one, _read = read()
    assert [row["id"] for row in rows] == [projects["zhengding"].pk]
    assert client_for(users["other_county_editor"]).post(
        form_url(), row(projects["nangong"], "80", "设备安装", version=0)).status_code == 302
    assert read() == (rows, one, [])  # 南宫's report: neither is read again
    assert client_for(users["county_editor"]).post(
        form_url(), row(projects["zhengding"], "90", "主体施工", version=0)).status_code == 302
    after_rows, after_one, projects_read = read()
    assert projects_read and after_one["completed_year"] != one["completed_year"]
    assert after_rows[0]["completed_year"] == after_one["completed_year"]


def test_an_api_page_filtered_by_light_is_kept_until_a_light_of_its_place_turns(users, projects):
    """Issue 24: as the list page's (test_data_versions): a report that turns no light of the page's place leaves it,
    a project of the place whose light turns red is listed at once."""
    from projects.domain.choices import Stage, Status

    stalled = make_project("正定县将要停滞的项目", ZHENGDING, stage=Stage.PREPARATORY)  # green, until stalled
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['province_admin'])}")
    red = {"county": projects["zhengding"].county_id, "light": "red"}

    def read():
        with CaptureQueriesContext(connection) as queries:
            listed = {row["id"] for row in client.get(API + "projects/", red).json()["results"]}
        return listed, [q["sql"] for q in queries.captured_queries if 'FROM "projects_project"' in q["sql"]]

    read(), read()
    listed, _read = read()
    assert stalled.pk not in listed
    assert client_for(users["other_county_editor"]).post(
        form_url(), row(projects["nangong"], "80", "设备安装", version=0)).status_code == 302
    assert read() == (listed, [])
    stalled.status = Status.STALLED
    stalled.save()
    now_listed, projects_read = read()
    assert projects_read and now_listed == listed | {stalled.pk}


def test_a_kept_page_or_detail_is_never_read_by_a_user_moved_out_of_its_region(users, projects):
    """A page kept under its rows' versions is keyed by the reader's scope too: a county editor moved to another county
    no longer reads the kept detail or page of their former county's project (404 and an empty page), though neither
    the project nor its place changed."""
    editor = users["county_editor"]
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(editor)}")
    detail = f"{API}projects/{projects['zhengding'].pk}/"
    for _twice in range(3):  # kept under the scope's versions, then under the rows' too
        assert client.get(detail).status_code == 200
        assert ids(client.get(API + "projects/")) == {projects["zhengding"].pk}
    projects["nangong"].save()  # a write elsewhere: the scope's keys move, the rows' do not
    editor.region = projects["nangong"].county
    editor.save()
    assert client.get(detail).status_code == 404
    assert ids(client.get(API + "projects/")) == {projects["nangong"].pk}
