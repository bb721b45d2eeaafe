"""The pages for people who never open the admin, through the test client."""

import csv
import datetime
import io
from decimal import Decimal
from urllib.parse import parse_qs, parse_qsl, urlparse

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.domain import rules
from projects.domain.choices import Stage, Status
from projects.models import AnnualPlan, MonthlyReport, Problem, Project
from projects.shared.editing import progress_refresh

from .conftest import make_project
from .test_access import change_form_data, client_for

PAGES = ["dashboard", "project_list", "monthly_report", "action_plan", "profile"]


def year():
    return timezone.localdate().year


@pytest.mark.parametrize("name", PAGES + ["project_export"])
def test_pages_need_a_login(name, db):
    response = Client().get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_page_logs_in_and_out(users):
    client = Client()
    response = client.post(reverse("login"), {"username": "zd", "password": "correct-horse-battery-staple"}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 302 and response["Location"] == reverse("start")
    assert client.get(reverse("start"))["Location"] == reverse("inbox")  # a county editor's first page (issue 26)
    assert "驾驶舱" in client.get(reverse("dashboard")).content.decode()
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_county_dashboard_totals_are_the_sum_of_its_own_projects(users, projects):
    extra = make_project("正定县第二个项目", "130123", total_investment=Decimal("5000"))
    AnnualPlan.objects.create(project=extra, year=year(), planned_investment=Decimal("800"))
    MonthlyReport.objects.create(project=extra, month=datetime.date(year(), 1, 1), completed_investment=Decimal("30"))
    progress_refresh()
    response = client_for(users["county_editor"]).get(reverse("dashboard"))
    totals = response.context["totals"]
    own = Project.objects.filter(county__code="130123")
    assert totals["count"] == own.count() == 2
    assert totals["total_investment"] == Decimal("15000")
    assert totals["plan"] == Decimal("2000")
    assert totals["completed"] == Decimal("130")
    page = response.content.decode()
    assert "桥西区数据中心项目" not in page and "南宫" not in page.split("<main>")[1]


@pytest.mark.parametrize("role", ["county_editor", "city_coordinator"])
def test_another_countys_filter_shows_nothing_of_it(role, users, projects):
    client = client_for(users[role])
    nangong = projects["nangong"]
    for name in ("project_list", "dashboard", "project_export"):
        response = client.get(reverse(name), {"county": nangong.county_id})
        assert response.status_code in (400, 404), name
        assert nangong.name not in response.content.decode()
    for params in ({"city": nangong.city_id}, {"q": "南宫"}, {"action": "1", "q": nangong.code or "南宫"}):
        response = client.get(reverse("project_list"), params)
        assert nangong.name not in response.content.decode()
    missing = client.get(reverse("project_detail", args=[999999]))
    other = client.get(reverse("project_detail", args=[nangong.pk]))
    assert (other.status_code, missing.status_code) == (404, 404)


def test_every_dashboard_figure_links_to_exactly_its_projects(users, projects):
    for index, county in enumerate(["130203", "130602", "130629"]):
        project = make_project(f"项目{index}", county, status=Status.STALLED if index == 0 else Status.NORMAL)
        AnnualPlan.objects.create(project=project, year=year(), planned_investment=Decimal(100))
        project.actions.add(1)
    progress_refresh()
    client = client_for(users["province_admin"])
    context = client.get(reverse("dashboard")).context

    def listed(href):
        return client.get(href).context["page"].paginator.count

    assert listed(context["all_link"]) == context["totals"]["count"]
    for light, href in context["light_links"].items():
        assert listed(href) == context["totals"][light], light
    for row in context["areas"]:
        assert listed(row["href"]) == row["count"], row["label"]
        assert listed(row["light_links"]["red"]) == row["red"]
    for group in ("actions", "programmes", "stages"):
        for row in context[group]:
            assert listed(row["href"]) == row["count"], (group, row["label"])
    for row in context["trend"]:
        month = parse_qs(urlparse(row["href"]).query)["reported_month"][0]
        expected = Project.objects.filter(reports__month=datetime.date.fromisoformat(month + "-01"), reports__review_status__in=("submitted", "approved"), plans__year=year()).distinct().count()
        assert listed(row["href"]) == expected


def test_project_list_sorts_pages_and_exports_exactly_the_filtered_set(users, projects):
    client = client_for(users["city_coordinator"])
    projects["qiaoxi"].name = "=HYPERLINK(\"http://evil\")"
    projects["qiaoxi"].save()
    response = client.get(reverse("project_list"), {"sort": "-name"})
    names = [p.name for p in response.context["page"].object_list]
    assert names == sorted(names, reverse=True) and len(names) == 2
    export = client.get(reverse("project_export"), {"format": "csv", "county": projects["qiaoxi"].county_id})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["序号", "项目代码", "项目名称"]
    assert [row[2] for row in rows[1:]] == ["'=HYPERLINK(\"http://evil\")"]


def test_project_page_shows_everything_and_the_history(users, projects):
    project = projects["zhengding"]
    Problem.objects.create(project=project, description="用地指标未落实")
    client = client_for(users["county_editor"])
    client.post(reverse("admin:projects_project_change", args=[project.pk]), change_form_data(project, stage=Stage.COMPLETED))
    page = client.get(reverse("project_detail", args=[project.pk])).content.decode()
    for text in (project.name, project.code, "用地指标未落实", "基础施工", "续建 → 竣工投产", "zd", "在管理后台编辑"):
        assert text in page, text
    leader_page = client_for(users["leader"]).get(reverse("project_detail", args=[project.pk])).content.decode()
    assert "在管理后台编辑" not in leader_page


def test_monthly_report_form_saves_valid_rows_and_shows_errors_next_to_the_others(users, projects):
    client = client_for(users["city_coordinator"])
    zhengding, qiaoxi = projects["zhengding"], projects["qiaoxi"]
    month = rules.add_months(rules.month_start(rules.today()), -1)
    before = zhengding.version
    response = client.post(
        reverse("monthly_report"),
        {
            f"p{zhengding.pk}-completed": "120.5",
            f"p{zhengding.pk}-progress": "主体封顶",
            f"p{zhengding.pk}-problem": "电力接入滞后",
            f"p{qiaoxi.pk}-completed": "一百",
            f"p{qiaoxi.pk}-progress": "设备安装",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "“一百”不是数字" in page
    assert 'value="一百"' in page and 'value="设备安装"' in page  # the user's input is kept
    report = MonthlyReport.objects.get(project=zhengding, month=month)
    assert (report.completed_investment, report.image_progress, report.reported_by) == (Decimal("120.5"), "主体封顶", users["city_coordinator"])
    assert Problem.objects.filter(project=zhengding, description="电力接入滞后").exists()
    assert not MonthlyReport.objects.filter(project=qiaoxi, month=month).exists()
    zhengding.refresh_from_db()
    assert zhengding.version == before + 1  # an admin form opened before is refused, not overwriting
    if month.year == year():
        assert zhengding.plans.get(year=year()).completed_investment == Decimal("220.5")  # January's 100 + 120.5

    response = client.post(reverse("monthly_report"), {f"p{qiaoxi.pk}-completed": "-5"})
    assert "不能为负数" in response.content.decode()
    response = client.post(reverse("monthly_report"), {f"p{qiaoxi.pk}-completed": "88", f"p{projects['nangong'].pk}-completed": "1"})
    assert response.status_code == 302
    assert MonthlyReport.objects.get(project=qiaoxi, month=month).completed_investment == 88
    assert not MonthlyReport.objects.filter(project=projects["nangong"], month=month).exists()  # not theirs: ignored


def test_monthly_report_form_shows_the_deadline_and_marks_late_reports(users, projects, settings):
    client = client_for(users["county_editor"])
    month = rules.add_months(rules.month_start(rules.today()), -2)  # its deadline has passed
    client.post(reverse("monthly_report") + f"?month={month:%Y-%m}", {f"p{projects['zhengding'].pk}-completed": "10"})
    report = MonthlyReport.objects.get(project=projects["zhengding"], month=month)
    assert report.is_late
    page = client.get(reverse("monthly_report"), {"month": f"{month:%Y-%m}"}).content.decode()
    assert "已过截止日期" in page and "逾期" in page
    assert rules.report_deadline(month).strftime("%Y年%-m月%-d日") in page


def test_leaders_cannot_report(users, projects):
    assert client_for(users["leader"]).get(reverse("monthly_report")).status_code == 403


def test_actions_page_counts_and_links(users, projects):
    projects["zhengding"].actions.add(1, 2)
    projects["nangong"].actions.add(1)
    client = client_for(users["city_coordinator"])
    context = client.get(reverse("action_plan")).context
    first = context["actions"][0]
    assert first["action"].number == 1 and first["stats"]["count"] == 1  # 南宫 is not theirs
    assert client.get(first["href"]).context["page"].paginator.count == 1
    assert len(context["actions"]) == 8 and context["actions"][0]["action"].measures.count() == 2
    six = client.get(reverse("action_plan"), {"plan": "industry-2023-six-actions"}).context
    assert len(six["actions"]) == 6


@pytest.mark.parametrize("name", ["dashboard", "project_list", "monthly_report", "action_plan"])
def test_queries_per_page_do_not_grow_with_rows(name, users):
    client = client_for(users["county_editor"])

    def queries_for(count):
        for index in range(count):
            project = make_project(f"正定{name}{count}-{index}", "130123")
            AnnualPlan.objects.create(project=project, year=year(), planned_investment=Decimal(100))
            MonthlyReport.objects.create(project=project, month=datetime.date(year(), 1, 1), completed_investment=Decimal(10))
            project.actions.add(1)
        progress_refresh()
        client.get(reverse(name))
        cache.clear()  # measure the dashboard's summaries computed, not served from the cache
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(name)).status_code == 200
        return len(captured.captured_queries)

    assert queries_for(3) == queries_for(25)


def test_cached_dashboard_figures_follow_every_write(users, projects):
    client = client_for(users["province_admin"])

    def completed():
        return client.get(reverse("dashboard")).context["totals"]["completed"]

    first = client.get(reverse("dashboard"))
    before = first.context["totals"]["completed"]
    again = client.get(reverse("dashboard"))
    assert again.context["body"] == first.context["body"] and "totals" not in again.context  # served again, from the cache
    month = datetime.date(year(), 2, 1)
    MonthlyReport.objects.create(project=projects["nangong"], month=month, completed_investment=Decimal("40"))
    progress_refresh(projects=[projects["nangong"].pk])
    assert completed() == before + 40
    projects["zhengding"].plans.update(planned_investment=0)  # a bulk update: no signal...
    progress_refresh(projects=[projects["zhengding"].pk])  # ...but the service that follows it moves the version
    assert client.get(reverse("dashboard")).context["totals"]["plan"] == Decimal("2400")


def test_project_page_queries_do_not_grow_with_history(users, projects):
    client = client_for(users["county_editor"])
    project = projects["zhengding"]

    def queries():
        cache.clear()  # the page computed each time: a write may leave the menu's 待办 count to read again (issue 26)
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("project_detail", args=[project.pk]))
        return len(captured.captured_queries)

    queries()  # once before counting: a process reads the working-day calendar once (projects.domain.workdays)
    first = queries()
    for index in range(10):
        project.owner = f"单位{index}"
        project.save()
        MonthlyReport.objects.create(project=project, month=datetime.date(2020, index + 1, 1), completed_investment=1)
    assert queries() == first


def test_pages_in_english(users, projects):
    client = client_for(users["county_editor"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("dashboard")).content.decode()
    assert "Dashboard" in page and "Traffic light" in page


def test_the_province_administrator_reaches_the_digest_schedules_and_a_city_does_not(users):
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    page = client_for(users["province_admin"]).get(url)
    assert page.status_code == 200 and "重点项目周报" in page.content.decode()
    assert client_for(users["city_coordinator"]).get(url).status_code == 403


def test_history_and_lists_name_people_by_their_name_not_their_login(users, projects):
    users["county_editor"].first_name = "正定县发展改革局"
    users["county_editor"].save()
    project = projects["zhengding"]
    project.history.update(history_user=users["county_editor"])
    page = client_for(users["province_admin"]).get(reverse("project_detail", args=[project.pk])).content.decode()
    assert "正定县发展改革局" in page


def test_the_list_shows_every_project_and_the_year_only_chooses_the_figures(users, projects):
    from projects.models import AnnualPlan

    AnnualPlan.objects.filter(project=projects["qiaoxi"]).delete()
    client = client_for(users["city_coordinator"])
    listed = client.get(reverse("project_list")).context["page"].paginator.count
    assert listed == 2  # 桥西's project has no plan this year and is still listed, with "—"
    with_plan = client.get(reverse("project_list"), {"has_plan": "true"}).context["page"].paginator.count
    assert with_plan == 1


def test_money_has_thousands_separators_and_english_units_read(users, projects):
    from django.utils import translation

    from projects.templatetags.tracker import money

    assert money(Decimal("114554")) == "114,554" and money(Decimal("164.09")) == "164.09"
    assert money(Decimal("1004554"), "亿元") == "100.46"
    client = client_for(users["province_admin"])
    client.cookies["django_language"] = "en"
    page = client.get(reverse("dashboard")).content.decode()
    assert "CNY 100m" in page and "100 million yuan" not in page
    with translation.override("en"):
        assert str(projects["zhengding"].county) == "Zhengding County"


def test_every_sortable_column_heading_links_to_its_sort(users, projects):
    """Each heading of the list sorts by its column; a second click reverses it (region, plan, completed,
    rate and light once linked to nothing)."""
    import re

    client = client_for(users["province_admin"])
    page = client.get(reverse("project_list")).content.decode()
    headings = re.findall(r'<th[^>]*><a href="([^"]*)"', page)
    sorts = [dict(parse_qsl(href.lstrip("?"))).get("sort") for href in headings]
    assert sorts == ["name", "city", "stage", "total_investment", "plan", "completed", "rate", "light"]
    page = client.get(reverse("project_list") + "?sort=rate").content.decode()
    assert "sort=-rate" in page


def test_dashboard_trend_counts_only_reports_that_count(users, projects):
    """A returned report is not in the totals (its figure is refused), so it is not in the monthly trend
    either, nor among the projects its month links to."""
    kept, returned = (make_project(name, "130123") for name in ("计入的项目", "被退回的项目"))
    for project in (kept, returned):
        AnnualPlan.objects.create(project=project, year=year(), planned_investment=Decimal(1000))
    month = datetime.date(year(), 1, 1)
    MonthlyReport.objects.create(project=kept, month=month, completed_investment=Decimal("30"))
    MonthlyReport.objects.create(project=returned, month=month, completed_investment=Decimal("500"),
                                 review_status="returned")
    progress_refresh()
    client = client_for(users["county_editor"])
    context = client.get(reverse("dashboard")).context
    january = next(row for row in context["trend"] if row["month"] == month)
    assert january["completed"] == context["totals"]["completed"] == Decimal("130")  # the fixture's 100 and 30
    listed = {p.pk for p in client.get(january["href"]).context["page"].object_list}
    assert kept.pk in listed and returned.pk not in listed
