"""Issue 26: report and review rows with their context — the year's plan, completed this year and in total, last
month's figure and 形象进度 (with the button that copies it), completion against time progress and the light;
the reviewer also sees the warnings, the note and the problems raised with the report. Read through the pages,
per role, in a number of queries that does not grow with the rows."""

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.domain import rules
from projects.domain.choices import ProblemStatus, ReviewStatus
from projects.models import AnnualPlan, MonthlyReport, Problem
from projects.shared.editing import progress_refresh

from .conftest import NANGONG, ZHENGDING, make_project
from .test_access import client_for


def months():
    """The month being reported (the page's default) and the one before it."""
    month = rules.reporting_month(rules.today())
    return month, rules.add_months(month, -1)


def reported(project, month, amount, progress="", **fields):
    return MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal(amount), image_progress=progress,
                                        reported_at=timezone.now(), **fields)


@pytest.fixture
def project_with_history(db):
    """A 正定 project with a plan for the month's year, 3,000 万元 completed before that year, last month's report
    (100 万元, 主体封顶) and this month's (50 万元, with a warning and a note), and a problem raised with it."""
    month, previous = months()
    project = make_project("正定县高端装备制造基地项目", ZHENGDING, total_investment=Decimal("20000"))
    AnnualPlan.objects.create(project=project, year=month.year, planned_investment=Decimal("1200"),
                              completed_before_year=Decimal("3000"))
    reported(project, previous, "100", "主体封顶")
    reported(project, month, "50", "设备安装", note="设备款分期支付",
             warnings=[{"code": "spike", "params": {"amount": "50", "average": "10", "multiple": "3"}, "figure": "50.00"}])
    Problem.objects.create(project=project, description="用地指标待落实", raised_on=rules.today(), status=ProblemStatus.OPEN)
    Problem.objects.create(project=project, description="去年的旧问题", raised_on=rules.add_months(month, -3))
    progress_refresh()
    return project


def expected_year(month, previous):
    """Completed in the month's year: this month's 50, and last month's 100 when it is of the same year."""
    return Decimal("150") if previous.year == month.year else Decimal("50")


def row_html(html, attribute, pk):
    match = re.search(rf'<tr[^>]*{attribute}="{pk}".*?</tr>', html, re.S)
    assert match, f"no row {attribute}={pk}"
    return match[0]


def test_the_report_page_shows_each_row_with_its_context(users, project_with_history):
    month, previous = months()
    response = client_for(users["county_editor"]).get(reverse("monthly_report"))
    assert response.status_code == 200
    row = next(row for row in response.context["table"] if row["project"].pk == project_with_history.pk)
    context = row["context"]
    completed = expected_year(month, previous)
    assert context.plan == Decimal("1200") and context.completed_year == completed
    assert context.cumulative == Decimal("3000") + completed
    assert context.last_report.completed_investment == Decimal("100") and context.last_report.image_progress == "主体封顶"
    assert context.completion_rate == completed * 100 / Decimal("1200")
    assert context.time_progress == rules.time_progress(year=month.year, on=rules.today())
    assert context.light in ("red", "yellow", "green")
    html = row_html(response.content.decode(), "data-project", project_with_history.pk)
    for text in ("年度计划投资", "1,200", "本年完成", "累计完成", f"{Decimal('3000') + completed:,.0f}", "完成率", "时序进度",
                 f"上月（{previous:%Y-%m}）", "主体封顶", "沿用上月", f"{context.light.label}"):
        assert text in html, text
    # The button copies last month's 形象进度 into this month's field.
    assert f'data-copy-to="p{project_with_history.pk}-progress" data-text="主体封顶"' in html
    assert "data-copy-to" in response.content.decode().split("</table>")[1]  # its script, after the table
    # Readable on a phone: every cell of the row but the name carries its label.
    assert 'data-label="年度进度（万元）"' in html


def test_a_locked_row_has_no_copy_button(users, project_with_history):
    month, _previous = months()
    MonthlyReport.objects.filter(project=project_with_history, month=month).update(review_status=ReviewStatus.APPROVED)
    html = row_html(client_for(users["county_editor"]).get(reverse("monthly_report")).content.decode(),
                    "data-project", project_with_history.pk)
    assert "主体封顶" in html and "沿用上月" not in html


def test_the_review_page_shows_the_same_context_and_the_warnings_notes_and_problems(users, project_with_history):
    month, previous = months()
    response = client_for(users["city_coordinator"]).get(reverse("report_review"))
    assert response.status_code == 200
    report = next(report for report in response.context["reports"] if report.project_id == project_with_history.pk)
    assert report.context.plan == Decimal("1200") and report.context.cumulative == Decimal("3000") + expected_year(month, previous)
    assert [problem.description for problem in report.problems_raised] == ["用地指标待落实"]
    html = row_html(response.content.decode(), "data-report", report.pk)
    for text in ("年度计划投资", "累计完成", "完成率", "时序进度", f"上月（{previous:%Y-%m}）", "主体封顶", "设备款分期支付", "⚠",
                 "用地指标待落实"):
        assert text in html, text
    assert "去年的旧问题" not in html  # raised before the month: not with this report
    assert html.count("{# evidence") == 0 and "evidence: photos" not in html  # the photos' place is a comment


@pytest.mark.parametrize("role", ["province_admin", "leader"])
def test_other_roles_see_their_own_or_nothing(role, users, project_with_history):
    """The province reviews only what no county reports (正定's report is the city's); a leader reports nothing."""
    client = client_for(users[role])
    if role == "leader":
        assert client.get(reverse("monthly_report")).status_code == 403
        return
    response = client.get(reverse("report_review"))
    assert response.status_code == 200
    assert project_with_history.pk not in {report.project_id for report in response.context["reports"]}


def test_another_regions_reports_are_not_on_the_review_page(users, project_with_history):
    month, _previous = months()
    nangong = make_project("南宫市羊绒精深加工项目", NANGONG)
    reported(nangong, month, "10")
    html = client_for(users["city_coordinator"]).get(reverse("report_review")).content.decode()
    assert "正定县高端装备制造基地项目" in html and "南宫市羊绒精深加工项目" not in html


def test_the_report_page_filters_to_the_rows_still_to_report_and_those_returned(users, project_with_history):
    month, _previous = months()
    owing = make_project("正定县未报项目", ZHENGDING)
    returned = make_project("正定县退回项目", ZHENGDING)
    reported(returned, month, "5", review_status=ReviewStatus.RETURNED, review_reason="数据有误")
    client = client_for(users["county_editor"])

    def listed(**params):
        response = client.get(reverse("monthly_report"), {"month": month.strftime("%Y-%m"), **params})
        assert response.status_code == 200
        return {row["project"].pk for row in response.context["table"]}

    assert listed(report="unreported") == {owing.pk}
    assert listed(report="returned") == {returned.pk}
    assert {owing.pk, returned.pk, project_with_history.pk} <= listed()
    assert client.get(reverse("monthly_report"), {"report": "nonsense"}).status_code == 404


def _rows(count, month, previous, tag):
    for index in range(count):
        project = make_project(f"正定{tag}{count}-{index}", ZHENGDING)
        AnnualPlan.objects.create(project=project, year=month.year, planned_investment=Decimal(100), completed_before_year=Decimal(7))
        reported(project, previous, "10", "上月进度")
        reported(project, month, "12", "本月进度")
        Problem.objects.create(project=project, description=f"问题{index}", raised_on=rules.today())
    progress_refresh()


@pytest.mark.parametrize("page, role", [("monthly_report", "county_editor"), ("report_review", "city_coordinator")])
def test_the_rows_context_takes_the_same_queries_for_5_rows_as_for_30(page, role, users):
    month, previous = months()
    client = client_for(users[role])

    def queries_for(count):
        _rows(count, month, previous, page)
        client.get(reverse(page))
        cache.clear()  # count the page computed, not served from the cache
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(page))
        assert response.status_code == 200
        shown = response.context["table"] if page == "monthly_report" else response.context["reports"]
        assert len(shown) >= count
        assert all((row["context"] if page == "monthly_report" else row.context) is not None for row in shown)
        return len(captured.captured_queries)

    five, thirty = queries_for(5), queries_for(30)
    assert five == thirty, (five, thirty)
    assert five < 40


def test_a_row_without_a_plan_or_last_month_says_so(users):
    month, _previous = months()
    project = make_project("正定县新开工无计划项目", ZHENGDING)
    response = client_for(users["county_editor"]).get(reverse("monthly_report"))
    row = next(row for row in response.context["table"] if row["project"].pk == project.pk)
    assert row["context"].plan is None and row["context"].completion_rate is None and row["context"].last_report is None
    html = row_html(response.content.decode(), "data-project", project.pk)
    assert "未填报" in html and "沿用上月" not in html
