"""Issue 26, lists on a phone and numbers people can read: thousands separators on every count and amount
shown (the list's count, the dashboard, the import preview, the return mail) but never in what goes into
an input, an export or the API; a page-size choice and a page jump on the project list and the supervision
page (a wrong value answers with a message, never a 500); approved reports in the project change form's
inline shown read-only. The Chromium measurements are in test_phone_and_numbers_browser.py."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from projects.dispatch.reports import reports_review
from projects.domain.choices import MailKind, ReviewAction, ReviewStatus, SupervisionLevel
from projects.domain.figures import figure_text
from projects.importing.results import describe
from projects.models import DigestDelivery, MonthlyReport, Project
from projects.shared import summaries
from projects.shared.paginators import CachedCountPaginator
from projects.supervision import services as supervision

from .conftest import ZHENGDING, make_project, region
from .test_access import client_for
from .test_import import row, workbook
from .test_import_admin import upload

pytestmark = pytest.mark.django_db


def text_of(response):
    return response.content.decode()


# --- 1. Separators where people read numbers ----------------------------------------------------------


def test_the_one_formatting_function():
    assert figure_text(Decimal("13152.00")) == "13,152"
    assert figure_text(Decimal("1234567.5")) == "1,234,567.50"
    assert figure_text(3000) == "3,000" and figure_text(0) == "0"
    assert figure_text(Decimal("1004554"), "亿元") == "100.46"
    assert figure_text(None) == "—"


def test_the_list_count_has_thousands_separators(users, projects, monkeypatch):
    monkeypatch.setattr(CachedCountPaginator, "count", property(lambda self: 3000))
    page = text_of(client_for(users["province_admin"]).get(reverse("project_list")))
    assert "共 3,000 个项目" in page and "共 3000 个项目" not in page
    assert "第 1 / 60 页" in page


def test_the_supervision_count_has_thousands_separators(users, projects, monkeypatch):
    monkeypatch.setattr(CachedCountPaginator, "count", property(lambda self: 1984))
    page = text_of(client_for(users["province_admin"]).get(reverse("supervision")))
    assert "共 1,984 项" in page


def test_the_dashboard_counts_have_thousands_separators(users, projects, monkeypatch):
    real = summaries.dashboard_summary

    def many(*args, **kwargs):
        summary = real(*args, **kwargs)
        summary["totals"] = {**summary["totals"], "count": 3000, "red": 1984}
        return summary

    monkeypatch.setattr(summaries, "dashboard_summary", many)
    page = text_of(client_for(users["province_admin"]).get(reverse("dashboard")))
    assert re.search(r'data-kpi="count">3,000<', page) and re.search(r'data-kpi="red">1,984<', page)


def test_the_import_preview_shows_amounts_and_counts_with_separators(users, projects):
    client = client_for(users["city_coordinator"])
    response = upload(client, workbook([
        row("1", "正定县新能源装备项目", "石家庄市", "正定县", total="13152"),
        row("2", projects["qiaoxi"].name, "石家庄市", "桥西区", total="1234567.5"),  # was 10000
    ]))
    page = text_of(response)
    assert "13,152" in page and "13152.00" not in page
    assert "10,000 → 1,234,567.50" in page
    assert describe({"counts": {"created": 13152, "updated": 1000}, "skipped": 0, "errors": []}).startswith(
        "新增 13,152，更新 1,000")


def test_the_return_mail_shows_the_amount_with_separators(users, projects):
    from projects.dispatch.mail import delivery_render

    report = projects["zhengding"].reports.get()
    MonthlyReport.objects.filter(pk=report.pk).update(completed_investment=Decimal("1000"), review_status=ReviewStatus.SUBMITTED)
    report.refresh_from_db()
    reports_review(user=users["city_coordinator"], versions={report.pk: report.version}, action=ReviewAction.RETURN,
                   reason="请核对", enqueue=lambda pk: None)
    record = DigestDelivery.objects.get(kind=MailKind.REPORT_RETURNED)
    _subject, text, html = delivery_render(record)
    assert "已报本月完成投资：1,000 万元" in text and "1,000 万元" in html
    assert "1000.00" not in text + html


# --- 2. Never in what goes into an input, an export or the API ------------------------------------------


def test_inputs_exports_and_the_api_carry_plain_numbers(users, projects):
    project = projects["zhengding"]
    Project.objects.filter(pk=project.pk).update(total_investment=Decimal("1234567.89"))
    client = client_for(users["province_admin"])
    change = text_of(client.get(reverse("admin:projects_project_change", args=[project.pk])))
    assert re.search(r'name="total_investment"[^>]*value="1234567.89"', change)
    exported = b"".join(client.get(reverse("project_export"), {"format": "csv"}).streaming_content).decode("utf-8-sig")
    cells = [cell for line in csv.reader(io.StringIO(exported)) for cell in line]
    assert "1234567.89" in cells and not any("1,234,567" in cell for cell in cells)
    listed = text_of(client.get(reverse("project_list")))
    assert "1,234,567.89" in listed  # the page itself shows it separated


def test_the_api_carries_plain_numbers(users, projects):
    from .test_api import issue_token

    Project.objects.filter(pk=projects["zhengding"].pk).update(total_investment=Decimal("1234567.89"))
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['province_admin'])}")
    body = client.get("/api/v1/projects/").content.decode()
    assert "1234567.89" in body and "1,234,567" not in body


# --- 3. Page size and page jump ------------------------------------------------------------------------


@pytest.fixture
def many(projects):
    """25 more projects of 正定县: three pages of 20, one of 50."""
    for number in range(25):
        make_project(f"正定县测试项目{number:02d}", ZHENGDING)
    return Project.objects.count()


def rows_on(response):
    return text_of(response).count('<td class="name">')


def test_the_list_offers_page_sizes_and_keeps_the_default(users, many):
    client = client_for(users["province_admin"])
    default = client.get(reverse("project_list"))
    assert default.status_code == 200 and default.context["page"].paginator.per_page == 50
    assert rows_on(default) == many
    twenty = client.get(reverse("project_list"), {"per_page": "20"})
    assert twenty.context["page"].paginator.per_page == 20 and rows_on(twenty) == 20
    assert '<select name="per_page"' in text_of(twenty) and '<option value="20" selected>' in text_of(twenty)
    # The rows are cached by the request's parameters: another size is another entry, not the first's rows.
    assert rows_on(client.get(reverse("project_list"), {"per_page": "20", "page": "2"})) == many - 20
    assert rows_on(client.get(reverse("project_list"))) == many
    # The next page's link keeps the size.
    assert "per_page=20&amp;page=2" in text_of(twenty) or "per_page=20&page=2" in text_of(twenty)


@pytest.mark.parametrize("value", ["37", "abc", "-20", "100000"])
def test_a_page_size_not_offered_answers_a_message(users, many, value):
    response = client_for(users["province_admin"]).get(reverse("project_list"), {"per_page": value})
    assert response.status_code == 200 and response.context["page"].paginator.per_page == 50
    assert "每页条数只能是 20、50 或 100" in text_of(response)


def test_the_page_jump_keeps_the_filters(users, many):
    client = client_for(users["province_admin"])
    county = region(ZHENGDING).pk
    response = client.get(reverse("project_list"), {"county": county, "per_page": "20"})
    page = text_of(response)
    jump = re.search(r'<form method="get" class="page-jump".*?</form>', page, re.S).group(0)
    assert f'name="county" value="{county}"' in jump and 'name="per_page" value="20"' in jump
    assert re.search(r'<input type="number" name="page"[^>]*value="1"', jump)
    second = client.get(reverse("project_list"), {"county": county, "per_page": "20", "page": "2"})
    assert second.context["page"].number == 2


@pytest.mark.parametrize(("value", "shown", "message"), [
    ("abc", 1, "页码“abc”不是正整数"),
    ("0", 1, "页码“0”不是正整数"),
    ("99", 2, "共 2 页"),
    ("1.5", 1, "页码“1.5”不是正整数"),
])
def test_a_wrong_page_answers_a_message_not_an_error(users, many, value, shown, message):
    response = client_for(users["province_admin"]).get(reverse("project_list"), {"page": value, "per_page": "20"})
    assert response.status_code == 200 and response.context["page"].number == shown
    assert message in text_of(response)


def test_supervision_has_page_size_and_jump(users, projects):
    for project in projects.values():
        supervision.item_open(user=users["province_admin"], project=project, description="进度滞后",
                              level=SupervisionLevel.CITY)
    client = client_for(users["province_admin"])
    response = client.get(reverse("supervision"), {"per_page": "20"})
    assert response.status_code == 200 and response.context["page"].paginator.per_page == 20
    assert response.context["page"].paginator.count == 3
    wrong = client.get(reverse("supervision"), {"per_page": "7", "page": "x"})
    assert wrong.status_code == 200 and "每页条数只能是 20、50 或 100" in text_of(wrong)
    assert "页码“x”不是正整数" in text_of(wrong)


def test_the_filters_fold_on_a_phone_and_say_how_many_apply(users, many):
    client = client_for(users["province_admin"])
    page = text_of(client.get(reverse("project_list")))
    assert re.search(r'<details class="filters-fold"[^>]*>\s*<summary', page)
    filtered = text_of(client.get(reverse("project_list"), {"county": region(ZHENGDING).pk, "stage": "continuing"}))
    assert "筛选条件（2）" in filtered and not re.search(r'<details class="filters-fold" open', filtered)
    invalid = client.get(reverse("project_list"), {"stage": "nonsense"})
    assert invalid.status_code == 400 and re.search(r'<details class="filters-fold" open', text_of(invalid))


# --- 4. Locked inline rows shown read-only --------------------------------------------------------------


def test_an_approved_report_is_read_only_in_the_project_form(users, projects):
    project = projects["zhengding"]
    january = project.reports.get()
    february = MonthlyReport.objects.create(project=project, month=january.month.replace(month=2),
                                            completed_investment=Decimal("250"), review_status=ReviewStatus.SUBMITTED)
    reports_review(user=users["city_coordinator"], versions={january.pk: january.version}, action=ReviewAction.APPROVE)
    client = client_for(users["county_editor"])
    url = reverse("admin:projects_project_change", args=[project.pk])
    page = text_of(client.get(url))
    forms = {pk: index for index, pk in re.findall(r'name="reports-(\d+)-id" value="(\d+)"', page)}
    locked, open_ = forms[str(january.pk)], forms[str(february.pk)]
    # The approved row: its figures as text, carried back unchanged; no box to type in, no delete.
    assert re.search(rf'<input type="hidden" name="reports-{locked}-completed_investment" value="100.00"', page)
    assert not re.search(rf'<input type="(number|text|month)" name="reports-{locked}-', page)
    assert re.search(rf'name="reports-{locked}-DELETE"[^>]*disabled', page)
    assert 'class="locked-value">100<' in page
    # The submitted row stays editable.
    assert re.search(rf'<input type="number" name="reports-{open_}-completed_investment"', page)
    assert not re.search(rf'name="reports-{open_}-DELETE"[^>]*disabled', page)
    # Saving the form as shown writes nothing and is not refused.
    from .test_access import change_form_data

    project.refresh_from_db()
    data = change_form_data(project, **{
        "reports-TOTAL_FORMS": 2, "reports-INITIAL_FORMS": 2,
        **{f"reports-{i}-{k}": v for i, report in ((locked, january), (open_, february)) for k, v in {
            "id": report.pk, "project": project.pk, "month": f"{report.month:%Y-%m}",
            "completed_investment": str(MonthlyReport.objects.get(pk=report.pk).completed_investment),
            "image_progress": report.image_progress, "note": ""}.items()},
    })
    history = january.history.count()
    saved = client.post(url, data)
    assert saved.status_code == 302, [f.errors for f in saved.context["inline_admin_formsets"][2].formset] + [
        saved.context["adminform"].form.errors, saved.context["inline_admin_formsets"][2].formset.non_form_errors()]
    assert january.history.count() == history
    # A page opened before the approval that posts a changed figure is still refused by the lock.
    data[f"reports-{locked}-completed_investment"] = "999"
    data["version"] = Project.objects.get(pk=project.pk).version
    refused = client.post(url, data)
    assert refused.status_code == 200 and "已锁定" in text_of(refused)
    assert MonthlyReport.objects.get(pk=january.pk).completed_investment == Decimal("100")


def test_the_month_is_shown_in_the_readers_language_when_locked(users, projects):
    project = projects["zhengding"]
    january = project.reports.get()
    reports_review(user=users["city_coordinator"], versions={january.pk: january.version}, action=ReviewAction.APPROVE)
    client = client_for(users["county_editor"])
    page = text_of(client.get(reverse("admin:projects_project_change", args=[project.pk])))
    assert f'class="locked-value">{january.month:%Y-%m}<' in page
