"""Editing in the admin: optimistic locking, history, inline reports, validation of the domain fields."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.domain.choices import Stage
from projects.models import MonthlyReport, Project, Region
from projects.shared.lights import annotate_progress

from .conftest import make_project
from .test_access import change_form_data, client_for


def test_the_later_of_two_concurrent_edits_is_refused(users, projects):
    project = projects["zhengding"]
    url = reverse("admin:projects_project_change", args=[project.pk])
    alice, bob = client_for(users["county_editor"]), client_for(users["city_coordinator"])
    # Both open the form at the same version...
    alice_form = change_form_data(project, name="甲的名称")
    bob_form = change_form_data(project, owner="乙的单位")
    # ...Alice saves first, then Bob.
    assert alice.post(url, alice_form).status_code == 302
    response = bob.post(url, bob_form)
    assert response.status_code == 200
    assert "已被他人修改" in response.content.decode()
    project.refresh_from_db()
    assert project.name == "甲的名称" and project.owner == ""
    assert project.version == 2
    # After reloading, Bob's edit goes through on top of Alice's.
    assert bob.post(url, change_form_data(project, owner="乙的单位")).status_code == 302
    project.refresh_from_db()
    assert (project.name, project.owner, project.version) == ("甲的名称", "乙的单位", 3)


def test_bulk_actions_move_the_version_so_open_forms_are_refused(users, projects):
    project = projects["zhengding"]
    client = client_for(users["county_editor"])
    form = change_form_data(project, name="旧表单")
    client.post(reverse("admin:projects_project_changelist"), {"action": "mark_stalled", "_selected_action": [project.pk]})
    response = client.post(reverse("admin:projects_project_change", args=[project.pk]), form)
    assert response.status_code == 200 and "已被他人修改" in response.content.decode()


def test_admin_edits_are_recorded_in_history_with_who_and_what(users, projects):
    project = projects["zhengding"]
    client = client_for(users["county_editor"])
    url = reverse("admin:projects_project_change", args=[project.pk])
    data = change_form_data(
        project,
        stage=Stage.COMPLETED,
        **{
            "reports-TOTAL_FORMS": 1,
            "reports-0-month": "2025-03-01",
            "reports-0-completed_investment": "250.50",
            "reports-0-image_progress": "主体完工",
        },
    )
    assert client.post(url, data).status_code == 302
    latest = project.history.latest()
    assert latest.history_user == users["county_editor"]
    delta = latest.diff_against(latest.prev_record)
    assert [(change.field, change.old, change.new) for change in delta.changes] == [("stage", Stage.CONTINUING, Stage.COMPLETED)]
    report = MonthlyReport.objects.get(project=project, month=datetime.date(2025, 3, 1))
    assert report.reported_by == users["county_editor"]
    assert report.history.latest().history_user == users["county_editor"]
    page = client.get(reverse("admin:projects_project_history", args=[project.pk])).content.decode()
    assert "zd" in page and "续建" in page and "竣工投产" in page


def test_project_code_validation(db):
    project = make_project("x", "130123")
    for good in ["2023-130123-26-03-00001A", "2019-110000-44-01-A1B2C3"]:
        project.code = good
        project.full_clean()
    for bad, reason in [("2023-130123-26-03-0001A", "格式"), ("2023-139999-26-03-00001A", "区划"), ("abc", "格式")]:
        project.code = bad
        with pytest.raises(ValidationError, match=reason):
            project.full_clean()
    project.code = "  2023-130123-26-03-00001a "
    project.full_clean()
    assert project.code == "2023-130123-26-03-00001A"  # trimmed and upper-cased, nothing else


def test_county_decides_the_reporting_city(db):
    rongcheng = Region.objects.get(name="容城县")
    for written_city in ("保定市", "雄安新区"):
        project = Project(name="容城项目", city=Region.objects.get(name=written_city), county=rongcheng)
        project.full_clean()
        assert project.city.name == "雄安新区"
    project = Project(name="错位项目", city=Region.objects.get(name="邢台市"), county=Region.objects.get(code="130123"))
    with pytest.raises(ValidationError, match="不属于"):
        project.full_clean()
    # 桥西区 exists in 石家庄 and 张家口: the city decides which.
    qiaoxi = Region.objects.get(code="130703")
    project = Project(name="桥西项目", city=Region.objects.get(name="张家口市"), county=qiaoxi)
    project.full_clean()


def test_every_project_has_a_stable_unique_key(db):
    first, second = make_project("a", "130123"), make_project("b", "130123")
    assert first.key and second.key and first.key != second.key
    key = first.key
    first.name = "改名"
    first.save()
    first.refresh_from_db()
    assert first.key == key


@pytest.mark.parametrize("role", ["province_admin", "county_editor"])
def test_changelist_queries_do_not_grow_with_rows(role, users):
    client = client_for(users[role])
    url = reverse("admin:projects_project_changelist")

    def queries_for(count):
        for index in range(count - Project.objects.count()):
            make_project(f"正定项目{index}", "130123", total_investment=Decimal(100))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200 and len(response.context["cl"].result_list) == count
        return len(captured.captured_queries)

    client.get(url)  # once before counting: a process reads the working-day calendar once (projects.domain.workdays)
    assert queries_for(3) == queries_for(30)


def test_completed_this_year_follows_the_reports_saved_in_the_admin(users, projects):
    project = projects["zhengding"]
    year = project.plans.get().year
    client = client_for(users["county_editor"])
    url = reverse("admin:projects_project_change", args=[project.pk])
    january = project.reports.get()
    data = change_form_data(
        project,
        **{
            "reports-TOTAL_FORMS": 3,
            "reports-INITIAL_FORMS": 1,
            "reports-0-id": january.pk,
            "reports-0-project": project.pk,
            "reports-0-month": f"{year}-01-01",
            "reports-0-completed_investment": "150",  # was 100
            "reports-1-month": f"{year}-02-15",  # any day: stored as the month
            "reports-1-completed_investment": "200",
            "reports-2-month": f"{year - 1}-12-01",  # a year with no plan yet
            "reports-2-completed_investment": "75",
        },
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    project.refresh_from_db()
    assert project.plans.get(year=year).completed_investment == Decimal("350")
    assert project.plans.get(year=year - 1).completed_investment == Decimal("75")
    assert project.plans.get(year=year - 1).planned_investment == 0
    assert project.last_report_month == datetime.date(year, 2, 1)
    annotated = annotate_progress(Project.objects.all(), year=year, on=datetime.date(year, 3, 1)).get(pk=project.pk)
    assert annotated.completed_year == Decimal("350")
    assert annotated.completion_rate.quantize(Decimal("0.01")) == Decimal("29.17")  # 350 / 1200
