"""The monthly dispatch cycle (月度调度): only changed rows are written, concurrent edits are refused per
row, review (submit → return → resubmit → approve → locked), the checks before a figure counts, the
working-day schedules of digests, and reminders (催报) sent once to whoever has reports missing."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from projects.dispatch.reminders import missing_reports, reminders_dispatch, reminders_due
from projects.dispatch.reports import ReportEntry, reports_prepare, reports_review
from projects.domain import rules
from projects.domain.choices import MailKind, ReviewAction, ReviewStatus, Stage
from projects.mail import digests
from projects.models import AnnualPlan, DeliveryStatus, DigestDelivery, MonthlyReport, Project, ReportTransition
from projects.shared.editing import progress_refresh
from projects.tasks import enqueue_delivery, send_report_reminders

from .conftest import make_project, make_user
from .test_access import client_for

D = datetime.date
pytestmark = pytest.mark.django_db


def this_month():
    return rules.reporting_month(rules.today())


def form_url(month=None):
    return reverse("monthly_report") + f"?month={(month or this_month()):%Y-%m}"


def row(project, completed, progress="", note="", problem="", version=None):
    """The fields one row of the report page posts."""
    data = {
        f"p{project.pk}-completed": completed,
        f"p{project.pk}-progress": progress,
        f"p{project.pk}-note": note,
        f"p{project.pk}-problem": problem,
    }
    if version is not None:
        data[f"p{project.pk}-version"] = str(version)
    return data


def seen(*reports):
    """The version the review pages hand out with each report (a hidden input beside it): as stored now."""
    return {f"version-{report.pk}": str(MonthlyReport.objects.get(pk=report.pk).version) for report in reports}


def confirm_keys(response):
    """The warnings each row showed, as the page hands them back when the row is submitted again."""
    import re

    return {f"p{pk}-confirm": keys for pk, keys in re.findall(r'name="p(\d+)-confirm" value="([^"]*)"', response.content.decode())}


def page_versions(response):
    """{project pk: version} as the page hands them out (the hidden inputs)."""
    import re

    return {int(pk): int(version) for pk, version in re.findall(r'name="p(\d+)-version" value="(\d+)"', response.content.decode())}


# --- 1. Only what changed is written ----------------------------------------------------------------------


def test_resaving_the_page_with_one_changed_row_moves_only_that_rows_stamps_and_history(users, projects):
    coordinator = users["city_coordinator"]
    client = client_for(coordinator)
    zhengding, qiaoxi = projects["zhengding"], projects["qiaoxi"]
    first = client.get(form_url())
    versions = page_versions(first)
    client.post(form_url(), {**row(zhengding, "100", "基础施工", version=versions[zhengding.pk]),
                             **row(qiaoxi, "200", "主体施工", version=versions[qiaoxi.pk])})
    stamps = {r.project_id: (r.reported_at, r.reported_by_id, r.version) for r in MonthlyReport.objects.filter(month=this_month())}
    history = MonthlyReport.history.count()

    # The county editor corrects one project; the form posts every row pre-filled, as browsers do.
    client_for(users["county_editor"])  # another person, same month
    page = client.get(form_url())
    versions = page_versions(page)
    response = client.post(form_url(), {**row(zhengding, "100", "基础施工", version=versions[zhengding.pk]),
                                        **row(qiaoxi, "250", "主体施工", version=versions[qiaoxi.pk])})
    assert response.status_code == 302
    after = {r.project_id: (r.reported_at, r.reported_by_id, r.version) for r in MonthlyReport.objects.filter(month=this_month())}
    assert after[zhengding.pk] == stamps[zhengding.pk]  # untouched: same time, same reporter, same version
    assert after[qiaoxi.pk] != stamps[qiaoxi.pk] and after[qiaoxi.pk][2] == stamps[qiaoxi.pk][2] + 1
    assert MonthlyReport.history.count() == history + 1  # one history row: the changed one
    message = list(response.wsgi_request._messages)[0].message
    assert "已保存 1 个项目" in message and "1 个未变" in message


def test_the_workbook_import_reports_unchanged_rows_and_writes_nothing_for_them(users, projects, tmp_path):
    from .test_import_admin import upload

    client = client_for(users["county_editor"])
    month = this_month()
    data = progress_workbook([(projects["zhengding"].name, "正定县", "42", "主体施工")])
    upload(client, data, "p.xlsx", url="admin:projects_monthlyreport_import", month=f"{month:%Y-%m}")
    client.post(reverse("admin:projects_monthlyreport_import_confirm", args=[latest_batch().pk]))
    report = MonthlyReport.objects.get(project=projects["zhengding"], month=month)
    history = report.history.count()
    response = upload(client, data, "p.xlsx", url="admin:projects_monthlyreport_import", month=f"{month:%Y-%m}")
    assert response.context["batch"].result["counts"] == {"created": 0, "updated": 0, "unchanged": 1}
    client.post(reverse("admin:projects_monthlyreport_import_confirm", args=[latest_batch().pk]))
    report.refresh_from_db()
    assert report.history.count() == history and report.version == 1


def latest_batch():
    from projects.models import ImportBatch

    return ImportBatch.objects.order_by("-pk").first()


def progress_workbook(rows):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "项目代码", "项目名称", "所属县（市、区）", "本月完成投资（万元）", "形象进度", "存在问题", "说明"])
    for number, (name, county, amount, progress, *note) in enumerate(rows, start=1):
        sheet.append([number, "", name, county, amount, progress, "", note[0] if note else ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_concurrent_edit_of_the_same_row_refuses_the_second_with_a_message_and_loses_nothing(users, projects):
    editor, coordinator = client_for(users["county_editor"]), client_for(users["city_coordinator"])
    zhengding = projects["zhengding"]
    MonthlyReport.objects.create(project=zhengding, month=this_month(), completed_investment=Decimal("50"))
    # Both open the page at the same version; the editor saves first.
    seen = page_versions(editor.get(form_url()))[zhengding.pk]
    assert page_versions(coordinator.get(form_url()))[zhengding.pk] == seen
    assert editor.post(form_url(), row(zhengding, "60", "主体施工", version=seen)).status_code == 302
    response = coordinator.post(form_url(), row(zhengding, "70", "设备安装", version=seen))
    assert response.status_code == 400
    page = response.content.decode()
    assert "已被他人修改" in page
    assert 'value="70"' in page and 'value="设备安装"' in page  # the coordinator's input is still there
    report = MonthlyReport.objects.get(project=zhengding, month=this_month())
    assert (report.completed_investment, report.image_progress, report.reported_by) == (60, "主体施工", users["county_editor"])
    # Having seen the current figure, the coordinator saves over it knowingly.
    assert page_versions(response)[zhengding.pk] == report.version
    assert coordinator.post(form_url(), row(zhengding, "70", "设备安装", version=report.version)).status_code == 302
    assert MonthlyReport.objects.get(project=zhengding, month=this_month()).completed_investment == 70


def test_other_rows_save_when_one_is_refused(users, projects):
    coordinator = client_for(users["city_coordinator"])
    zhengding, qiaoxi = projects["zhengding"], projects["qiaoxi"]
    MonthlyReport.objects.create(project=zhengding, month=this_month(), completed_investment=Decimal("50"), version=3)
    response = coordinator.post(form_url(), {**row(zhengding, "55", version=2), **row(qiaoxi, "20", version=0)})
    assert response.status_code == 400 and "已被他人修改" in response.content.decode()
    assert MonthlyReport.objects.get(project=qiaoxi, month=this_month()).completed_investment == 20
    assert MonthlyReport.objects.get(project=zhengding, month=this_month()).completed_investment == 50


# --- 2. Review ----------------------------------------------------------------------------------------------


def test_review_cycle_return_resubmit_approve_and_lock(users, projects, mail_server, django_capture_on_commit_callbacks):
    editor, coordinator = client_for(users["county_editor"]), client_for(users["city_coordinator"])
    zhengding = projects["zhengding"]
    editor.post(form_url(), row(zhengding, "12000", "主体施工", note="含设备购置", version=0))
    report = MonthlyReport.objects.get(project=zhengding, month=this_month())
    assert report.review_status == ReviewStatus.SUBMITTED

    review = reverse("report_review") + f"?month={this_month():%Y-%m}"
    page = coordinator.get(review).content.decode()
    assert zhengding.name in page and "含设备购置" in page  # the figure with its checks and note
    with django_capture_on_commit_callbacks(execute=True):  # the mail is queued once the return is committed
        coordinator.post(review, {"one": f"return:{report.pk}", f"reason-{report.pk}": "金额疑似多录一位", **seen(report)})
    report.refresh_from_db()
    assert (report.review_status, report.review_reason, report.reviewed_by) == (
        ReviewStatus.RETURNED, "金额疑似多录一位", users["city_coordinator"])
    # A returned report counts as not reported.
    zhengding.refresh_from_db()
    assert zhengding.last_report_month != this_month()
    assert missing_reports(this_month()).filter(pk=zhengding.pk).exists()
    # The editor gets a mail with the reason and a link to the form ...
    [mail] = mail_server.messages
    assert mail["To"] == "zd@example.org" and "退回" in mail["Subject"]
    assert "金额疑似多录一位" in mail.get_body(("plain",)).get_content()
    assert "/reports/?month=" in mail.get_body(("plain",)).get_content()
    # ... and sees the reason on the form.
    form = editor.get(form_url())
    assert "退回原因：金额疑似多录一位" in form.content.decode()
    corrected = row(zhengding, "1200", "主体施工", note="含设备购置", version=page_versions(form)[zhengding.pk])
    # The old note was written for 12,000: the new figure's own warning (a spike over January) asks again.
    asked = editor.post(form_url(), corrected)
    assert asked.status_code == 400 and "月均" in asked.content.decode()
    editor.post(form_url(), {**corrected, **confirm_keys(asked)})
    report.refresh_from_db()
    assert (report.review_status, report.completed_investment) == (ReviewStatus.SUBMITTED, 1200)

    coordinator.post(review, {"action": "approve", "selected": [report.pk], **seen(report)})
    report.refresh_from_db()
    assert report.review_status == ReviewStatus.APPROVED
    # Locked for the county: the inputs are disabled and a forged post is refused.
    form = editor.get(form_url())
    assert "disabled" in form.content.decode()
    response = editor.post(form_url(), row(zhengding, "1300", version=page_versions(form)[zhengding.pk]))
    assert "已锁定" in response.content.decode()
    assert MonthlyReport.objects.get(pk=report.pk).completed_investment == 1200
    # The reviewer reopens it (with a reason); the county may change it again.
    coordinator.post(review + "&status=approved", {"one": f"reopen:{report.pk}", f"reason-{report.pk}": "补充形象进度", **seen(report)})
    report.refresh_from_db()
    assert report.review_status == ReviewStatus.SUBMITTED
    steps = list(ReportTransition.objects.filter(report=report).values_list("action", "user__username", "reason"))
    assert steps == [
        (ReviewAction.SUBMIT, "zd", ""),
        (ReviewAction.RETURN, "sjz", "金额疑似多录一位"),
        (ReviewAction.SUBMIT, "zd", ""),
        (ReviewAction.APPROVE, "sjz", ""),
        (ReviewAction.REOPEN, "sjz", "补充形象进度"),
    ]


def test_return_needs_a_reason_and_bulk_review_skips_what_is_not_in_scope(users, projects, mail_server):
    coordinator = client_for(users["city_coordinator"])
    reports = [MonthlyReport.objects.create(project=p, month=this_month(), completed_investment=Decimal(10)) for p in projects.values()]
    review = reverse("report_review") + f"?month={this_month():%Y-%m}"
    response = coordinator.post(review, {"action": "return", "selected": [r.pk for r in reports], **seen(*reports)}, follow=True)
    assert "请填写原因" in response.content.decode()
    assert not MonthlyReport.objects.exclude(review_status=ReviewStatus.SUBMITTED).exists()
    coordinator.post(review, {"action": "approve", "selected": [r.pk for r in reports], **seen(*reports)})
    statuses = {r.project.name: MonthlyReport.objects.get(pk=r.pk).review_status for r in reports}
    assert statuses == {
        projects["zhengding"].name: ReviewStatus.APPROVED,
        projects["qiaoxi"].name: ReviewStatus.APPROVED,
        projects["nangong"].name: ReviewStatus.SUBMITTED,  # 邢台市's: not 石家庄市's to review
    }


REVIEWERS = {
    # role: (may open the review page, the fixture projects whose reports it reviews)
    "province_admin": (True, set()),  # the province reviews what no county reports: none of these
    "leader": (False, set()),
    "city_coordinator": (True, {"zhengding", "qiaoxi"}),
    "county_editor": (False, set()),
    "other_county_editor": (False, set()),
}


@pytest.mark.parametrize("role", list(REVIEWERS))
def test_review_permission_matrix_over_http(role, users, projects):
    may_open, reviews = REVIEWERS[role]
    reports = {key: MonthlyReport.objects.create(project=p, month=this_month(), completed_investment=Decimal(10))
               for key, p in projects.items()}
    client = client_for(users[role])
    review = reverse("report_review") + f"?month={this_month():%Y-%m}"
    response = client.get(review)
    assert response.status_code == (200 if may_open else 403)
    if may_open:
        listed = {r.project.name for r in response.context["page"].object_list}
        assert listed == {projects[key].name for key in reviews}
        assert client.get(review + f"&county={projects['nangong'].county_id}").status_code == (
            200 if role == "province_admin" else 404)
    for key, report in reports.items():
        answer = client.post(review, {"one": f"approve:{report.pk}", **seen(report)})
        assert answer.status_code == (302 if may_open else 403)
        approved = MonthlyReport.objects.get(pk=report.pk).review_status == ReviewStatus.APPROVED
        assert approved == (key in reviews), key
    # The admin's action obeys the same rule.
    changelist = reverse("admin:projects_monthlyreport_changelist")
    admin_answer = client.post(changelist, {"action": "return_reports", "apply": "1", "reason": "不对",
                                            "_selected_action": [r.pk for r in reports.values()], **seen(*reports.values())})
    returned = {key for key, r in reports.items() if MonthlyReport.objects.get(pk=r.pk).review_status == ReviewStatus.RETURNED}
    assert returned == set()  # approved ones cannot be returned; the others are not theirs
    assert admin_answer.status_code in (200, 302, 403)


def test_the_province_reviews_city_wide_projects_and_dingzhou(users, projects):
    city_wide = make_project("石家庄市本级项目", city_code="130100")
    dingzhou = make_project("定州市项目", "130682")
    reports = [MonthlyReport.objects.create(project=p, month=this_month(), completed_investment=Decimal(5)) for p in (city_wide, dingzhou)]
    province = reports_review(user=users["province_admin"], versions={r.pk: r.version for r in reports}, action=ReviewAction.APPROVE)
    assert {r.project.name for r in province.done} == {"石家庄市本级项目", "定州市项目"}
    city = reports_review(user=users["city_coordinator"], versions={reports[0].pk: reports[0].version}, action=ReviewAction.REOPEN, reason="x")
    assert not city.done


def test_dashboard_and_digest_count_the_cycle_and_each_figure_links_to_its_projects(users, projects):
    zhengding, qiaoxi = projects["zhengding"], projects["qiaoxi"]
    submitted = MonthlyReport.objects.create(project=zhengding, month=this_month(), completed_investment=Decimal(5))
    returned = MonthlyReport.objects.create(project=qiaoxi, month=this_month(), completed_investment=Decimal(5))
    reports_review(user=users["city_coordinator"], versions={returned.pk: returned.version}, action=ReviewAction.RETURN, reason="重报")
    client = client_for(users["city_coordinator"])
    page = client.get(reverse("dashboard"))
    cycle = {item["key"]: item for item in page.context["cycle"]}
    assert {key: item["count"] for key, item in cycle.items()} == {"submitted": 1, "approved": 0, "returned": 1, "missing": 1}
    for key, item in cycle.items():
        listed = client.get(item["href"]).context["page"].paginator.count
        assert listed == item["count"], key
    assert submitted.review_status == ReviewStatus.SUBMITTED
    from projects.models import DigestSubscription

    subscription = DigestSubscription.objects.create(user=users["city_coordinator"], frequency="monthly")
    period = digests.period_from_start("monthly", this_month())
    _subject, text, _html = digests.digest_render(subscription, period)
    assert "已报送 1 个，已审核 0 个，已退回 1 个，未报（含退回）1 个" in text


# --- 3. Checks before a figure counts ------------------------------------------------------------------------


@pytest.fixture
def checked_project(db):
    """A project with a plan of 1,000 万元 this year, 8,000 completed before it, a total of 10,000."""
    project = make_project("校验项目", "130123", total_investment=Decimal("10000"))
    month = this_month()
    AnnualPlan.objects.create(project=project, year=month.year, planned_investment=Decimal("1000"),
                              completed_before_year=Decimal("8000"))
    return project, month


def checks_for(project, month, amount, user=None):
    entry = ReportEntry(project=project, month=month, completed_investment=Decimal(amount))
    [outcome] = reports_prepare(user=user, entries=[entry])
    return {warning.code for warning in outcome.warnings}


def add_month(project, month, amount):
    MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal(amount))


def test_check_cumulative_above_total_investment_fires_above_the_boundary_only(checked_project):
    project, month = checked_project
    project.total_investment = Decimal("9000")
    project.save()
    assert "over_total" not in checks_for(project, month, "1000")  # 8,000 + 1,000 = 9,000: not above
    assert "over_total" in checks_for(project, month, "1000.01")


def test_check_year_above_150_percent_of_plan(checked_project):
    project, month = checked_project
    assert "over_plan" not in checks_for(project, month, "1500")
    assert "over_plan" in checks_for(project, month, "1500.01")


def test_check_month_above_three_times_the_average_and_above_1000(checked_project, settings):
    project, month = checked_project
    settings.REPORT_CHECK_PLAN_RATIO = 100  # keep the other checks quiet
    project.total_investment = Decimal("1000000")
    project.save()
    if month.month < 3:
        pytest.skip("needs two earlier months in the same year")
    add_month(project, rules.add_months(month, -1), "400")
    add_month(project, rules.add_months(month, -2), "400")
    assert "spike" not in checks_for(project, month, "1200")  # exactly 3 × 400
    assert "spike" in checks_for(project, month, "1200.01")
    add_month_small = rules.add_months(month, -1)
    MonthlyReport.objects.filter(project=project, month__in=[add_month_small, rules.add_months(month, -2)]).update(
        completed_investment=Decimal("100"))
    assert "spike" not in checks_for(project, month, "1000")  # > 3 × 100 but not above 1,000 万元
    assert "spike" in checks_for(project, month, "1000.01")


def test_check_amount_after_actual_completion(checked_project):
    project, month = checked_project
    project.actual_end = rules.add_months(month, -1)
    project.save()
    assert "after_completion" in checks_for(project, month, "1")
    assert "after_completion" not in checks_for(project, month, "0")
    project.actual_end = month + datetime.timedelta(days=10)  # completed within the month reported
    project.save()
    assert "after_completion" not in checks_for(project, month, "1")


def test_check_three_months_without_amount_while_under_construction(checked_project):
    project, month = checked_project
    add_month(project, rules.add_months(month, -1), "0")
    assert "idle" not in checks_for(project, month, "0")  # two months in a row
    add_month(project, rules.add_months(month, -2), "0")
    assert "idle" in checks_for(project, month, "0")  # the third
    assert "idle" not in checks_for(project, month, "5")
    project.stage = Stage.PREPARATORY
    project.save()
    assert "idle" not in checks_for(project, month, "0")


def test_a_warning_waits_for_a_note_and_a_confirmed_warning_keeps_it(users, checked_project):
    project, month = checked_project
    client = client_for(users["county_editor"])
    response = client.post(form_url(month), row(project, "1600", version=0))
    assert response.status_code == 400
    page = response.content.decode()
    assert "超过年度计划" in page and "请填写说明" in page
    assert not MonthlyReport.objects.filter(project=project, month=month).exists()
    response = client.post(form_url(month), row(project, "1600", note="含上年结转设备款", version=0))
    assert response.status_code == 302
    report = MonthlyReport.objects.get(project=project, month=month)
    assert report.note == "含上年结转设备款"
    assert [warning["code"] for warning in report.warnings] == ["over_plan"]
    review = client_for(users["city_coordinator"]).get(reverse("report_review") + f"?month={month:%Y-%m}").content.decode()
    assert "超过年度计划" in review and "含上年结转设备款" in review


def test_the_workbook_import_applies_the_checks(users, checked_project):
    from projects.importing import import_progress

    project, month = checked_project
    data = progress_workbook([(project.name, "正定县", "1600", "主体施工")])
    result = import_progress(data, "p.xlsx", user=users["county_editor"], month=month)
    assert [(error.column, "超过年度计划" in error.message and "说明" in error.message) for error in result.errors] == [
        ("本月完成投资（万元）", True)]
    assert not MonthlyReport.objects.filter(project=project, month=month).exists()
    confirmed = progress_workbook([(project.name, "正定县", "1600", "主体施工", "含设备款")])
    result = import_progress(confirmed, "p.xlsx", user=users["county_editor"], month=month)
    assert not result.errors and MonthlyReport.objects.get(project=project, month=month).note == "含设备款"


def test_errors_stay_errors(users, projects):
    client = client_for(users["county_editor"])
    zhengding = projects["zhengding"]
    for bad, message in (("-5", "不能为负数"), ("一百", "不是数字")):
        response = client.post(form_url(), row(zhengding, bad, note="确认", version=0))
        assert response.status_code == 400 and message in response.content.decode()
    assert not MonthlyReport.objects.filter(project=zhengding, month=this_month()).exists()


# --- 4. Working-day schedules ---------------------------------------------------------------------------


def test_weekly_digest_goes_out_on_the_weeks_first_working_day(settings):
    settings.MONTHLY_REPORT_DEADLINE_MODE = "calendar"
    # National Day 2025: 10-01 to 10-08 are holidays; the week of 09-29 is sent on Thursday 10-09.
    assert digests.periods_due("weekly", D(2025, 10, 6)) == []
    [period] = digests.periods_due("weekly", D(2025, 10, 9))
    assert (period.start, period.end) == (D(2025, 9, 29), D(2025, 10, 5))
    [period] = digests.periods_due("weekly", D(2025, 10, 13))
    assert period.start == D(2025, 10, 6)
    [period] = digests.periods_due("weekly", D(2026, 11, 23))  # an ordinary Monday
    assert period.start == D(2026, 11, 16)
    assert digests.periods_due("weekly", D(2026, 11, 24)) == []


def test_monthly_digest_goes_out_on_the_working_day_after_the_deadline(settings):
    settings.MONTHLY_REPORT_DEADLINE_DAY = 5
    settings.MONTHLY_REPORT_DEADLINE_MODE = "calendar"
    # September 2025's reports are due 10-09 (10-05 is in the holiday): the digest goes out 10-10.
    assert digests.periods_due("monthly", D(2025, 10, 6)) == []
    [period] = digests.periods_due("monthly", D(2025, 10, 10))
    assert period.start == D(2025, 9, 1)
    [period] = digests.periods_due("monthly", D(2026, 11, 6))  # 11-05 is a Thursday
    assert period.start == D(2026, 10, 1)


def test_dispatch_on_a_day_without_digests_sends_nothing(users, projects, mail_server):
    from projects.models import DigestSubscription
    from projects.tasks import dispatch_digests

    DigestSubscription.objects.create(user=users["county_editor"], frequency="weekly")
    assert dispatch_digests.apply(kwargs={"frequency": "weekly", "run_date": "2026-11-24"}).get() == "weekly: not a sending day"
    assert not DigestDelivery.objects.exists() and not mail_server.messages


# --- 5. Reminders ---------------------------------------------------------------------------------------


@pytest.fixture
def october(settings, users, projects):
    """October 2026's reports are due Thursday 2026-11-05; 正定 has not reported, 桥西 and 南宫 have."""
    settings.MONTHLY_REPORT_DEADLINE_DAY = 5
    settings.MONTHLY_REPORT_DEADLINE_MODE = "calendar"
    month = D(2026, 10, 1)
    for key in ("qiaoxi", "nangong"):
        MonthlyReport.objects.create(project=projects[key], month=month, completed_investment=Decimal(1))
    make_user("qx", "county_editor", "130104")  # 桥西区's editor: nothing missing
    progress_refresh()
    return month


def reminders_on(day):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):  # queued once the records are committed
        return send_report_reminders.apply(kwargs={"run_date": day}).get()


def test_reminders_go_once_to_editors_with_missing_reports(users, projects, october, mail_server):
    assert reminders_due(D(2026, 11, 3)) == [(MailKind.REPORT_REMINDER, october)]
    assert reminders_on("2026-11-02") == {}
    reminders_on("2026-11-03")  # two working days before the deadline
    [mail] = mail_server.messages
    assert mail["To"] == "zd@example.org"  # not 桥西 (reported), not 南宫 (reported)
    text = mail.get_body(("plain",)).get_content()
    assert projects["zhengding"].name in text and "2026年11月5日" in text and "/reports/?month=2026-10" in text
    reminders_on("2026-11-03")  # re-run: nothing twice
    assert len(mail_server.messages) == 1

    reminders_on("2026-11-05")  # the deadline day
    assert [m["To"] for m in mail_server.messages[1:]] == ["zd@example.org"]
    assert "今日截止" in mail_server.messages[1]["Subject"]

    # A returned report is missing again; after the deadline the city coordinator gets the counties.
    qiaoxi = MonthlyReport.objects.get(project=projects["qiaoxi"], month=october)
    reports_review(user=users["city_coordinator"], versions={qiaoxi.pk: qiaoxi.version}, action=ReviewAction.RETURN, reason="补充")
    reminders_on("2026-11-06")
    [missing] = mail_server.messages[2:]
    assert missing["To"] == "sjz@example.org"
    text = missing.get_body(("plain",)).get_content()
    assert "正定县：1 个项目" in text and "桥西区：1 个项目" in text
    reminders_on("2026-11-06")
    assert len(mail_server.messages) == 3
    kinds = set(DigestDelivery.objects.values_list("kind", "status"))
    assert kinds == {(MailKind.REPORT_REMINDER, DeliveryStatus.SENT), (MailKind.REPORT_DUE, DeliveryStatus.SENT),
                     (MailKind.REPORT_MISSING, DeliveryStatus.SENT)}


def test_a_reminder_whose_reports_came_in_before_it_was_sent_is_not_sent(users, projects, october, mail_server,
                                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        reminders_dispatch(on=D(2026, 11, 3), enqueue=enqueue_delivery)
    MonthlyReport.objects.create(project=projects["zhengding"], month=october, completed_investment=Decimal(1))
    for callback in queued:
        callback()
    assert not mail_server.messages
    assert DigestDelivery.objects.get().status == DeliveryStatus.CANCELLED


def test_reminders_follow_the_working_day_calendar(settings):
    settings.MONTHLY_REPORT_DEADLINE_DAY = 5
    settings.MONTHLY_REPORT_DEADLINE_MODE = "calendar"
    september = D(2025, 9, 1)  # due 10-09 after National Day; two working days before is 09-30
    assert reminders_due(D(2025, 9, 30)) == []  # not yet September's month to report on 09-30
    assert reminders_due(D(2025, 10, 9)) == [(MailKind.REPORT_DUE, september)]
    assert reminders_due(D(2025, 10, 10)) == [(MailKind.REPORT_MISSING, september)]


def test_reminders_can_be_switched_off_in_the_admin_and_a_missed_run_is_caught_up(
    users, projects, october, mail_server, monkeypatch, django_capture_on_commit_callbacks
):
    from django_celery_beat.models import PeriodicTask

    from projects.tasks import catch_up_digests

    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 3))  # a reminder day
    task = PeriodicTask.objects.get(task="projects.tasks.send_report_reminders")
    # Beat fired at 09:00 but Redis was down: the run never reached a worker.
    task.last_run_at = datetime.datetime(2026, 11, 3, 1, 0, tzinfo=datetime.timezone.utc)
    task.enabled = False  # switched off in the admin (周期性任务)
    task.save()
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=datetime.datetime(2026, 11, 3, 1, 0, tzinfo=datetime.timezone.utc))
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert not mail_server.messages
    # Switched on again (an update: django-celery-beat forgets the last run of a task saved disabled).
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
        catch_up_digests.apply()
    assert [mail["To"] for mail in mail_server.messages] == ["zd@example.org"]


# --- The admin's inline goes through the same service ------------------------------------------------------


def test_the_admin_inline_respects_the_lock_the_checks_and_writes_only_changes(users, projects):
    from .test_access import change_form_data

    project = projects["zhengding"]
    client = client_for(users["county_editor"])
    january = project.reports.get()
    url = reverse("admin:projects_project_change", args=[project.pk])

    def inline(amount, note=""):
        project.refresh_from_db()
        return change_form_data(project, **{
            "reports-TOTAL_FORMS": 1, "reports-INITIAL_FORMS": 1, "reports-0-id": january.pk, "reports-0-project": project.pk,
            "reports-0-month": january.month.isoformat(), "reports-0-completed_investment": amount, "reports-0-note": note,
            "reports-0-image_progress": january.image_progress,
        })

    history = january.history.count()
    assert client.post(url, inline("100")).status_code == 302  # as stored: not a write
    january.refresh_from_db()
    assert (january.history.count(), january.version) == (history, 1)
    response = client.post(url, inline("5000"))  # above 150% of the 1,200 plan: wants a note
    assert response.status_code == 200 and "超过年度计划" in response.content.decode()
    assert client.post(url, inline("5000", note="设备一次性到货")).status_code == 302
    january.refresh_from_db()
    assert (january.completed_investment, january.note, january.version) == (5000, "设备一次性到货", 2)
    reports_review(user=users["city_coordinator"], versions={january.pk: january.version}, action=ReviewAction.APPROVE)
    response = client.post(url, inline("6000", note="设备一次性到货"))
    assert response.status_code == 200 and "已锁定" in response.content.decode()
    january.refresh_from_db()
    assert january.completed_investment == 5000


def test_a_posted_row_is_saved_even_if_it_moved_to_another_page(users, projects):
    """Names repeat and imports add projects: the rows a page posted are saved wherever they now stand."""
    client = client_for(users["county_editor"])
    for _index in range(55):
        make_project("正定县同名项目", "130123")
    last = Project.objects.filter(name="正定县同名项目").order_by("pk").last()
    page_one = client.get(form_url())
    assert last.pk not in page_versions(page_one)  # it is on page 2
    assert client.post(form_url(), row(last, "7", version=0)).status_code == 302
    assert MonthlyReport.objects.get(project=last, month=this_month()).completed_investment == 7
