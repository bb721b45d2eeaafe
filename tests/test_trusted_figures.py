"""Issue 20, numbers people can trust: every figure bounded by one rule on every path, a note confirms
the warnings it was written for, a reviewer approves what they saw, reports only for months that have
ended, a locked report cannot be deleted from the inline, a returned report's mail reaches someone who
can open it. (The same-moment writers are in test_concurrent_figures.py, on PostgreSQL.)"""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from projects.accounts.services import user_set_role
from projects.dispatch import reports
from projects.domain import rules
from projects.domain.choices import ReviewAction, ReviewStatus, Role
from projects.importing import import_projects
from projects.models import AnnualPlan, MonthlyReport, Project, ReportTransition

from .conftest import make_project, make_user
from .test_access import change_form_data, client_for
from .test_api import Caller
from .test_dispatch_cycle import confirm_keys, form_url, page_versions, row, this_month

pytestmark = pytest.mark.django_db

ABSURD = "99999999999999999"


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- 1. An absurd amount ----------------------------------------------------------------------------------


def test_an_absurd_amount_is_refused_on_the_page_naming_its_row_and_the_valid_row_saves(users, projects):
    client = client_for(users["county_editor"])
    zhengding = projects["zhengding"]
    other = make_project("正定县第二项目", "130123")
    response = client.post(form_url(), {**row(zhengding, ABSURD, note="确认无误", version=0), **row(other, "20", version=0)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "超过上限" in page and f'value="{ABSURD}"' in page  # said on its row, the input kept
    assert not MonthlyReport.objects.filter(project=zhengding, month=this_month()).exists()
    assert MonthlyReport.objects.get(project=other, month=this_month()).completed_investment == 20
    # Every page that shows the project's figures still answers.
    editor, province = client, client_for(users["province_admin"])
    for url in (form_url(), reverse("project_detail", args=[zhengding.pk]), reverse("dashboard"),
                reverse("admin:projects_project_change", args=[zhengding.pk])):
        assert editor.get(url).status_code == 200, url
    assert province.get(reverse("dashboard")).status_code == 200


def test_an_absurd_amount_is_refused_by_the_api_the_admin_and_the_workbook(users, projects):
    zhengding = projects["zhengding"]
    month = this_month()
    api = Caller(users["county_editor"], "token").post("reports/", {
        "project": zhengding.pk, "month": month.isoformat(), "completed_investment": ABSURD, "note": "x", "version": 0})
    assert api.status_code == 400 and "completed_investment" in api.json()
    # The admin's inline, on a new row of the project's form.
    project = Project.objects.get(pk=zhengding.pk)
    january = project.reports.get()
    data = change_form_data(project, **{
        "reports-TOTAL_FORMS": 2, "reports-INITIAL_FORMS": 1, "reports-0-id": january.pk, "reports-0-project": project.pk,
        "reports-0-month": january.month.isoformat(), "reports-0-completed_investment": "100",
        "reports-0-image_progress": january.image_progress, "reports-1-project": project.pk,
        "reports-1-month": month.strftime("%Y-%m"), "reports-1-completed_investment": ABSURD, "reports-1-note": "x",
    })
    response = client_for(users["county_editor"]).post(reverse("admin:projects_project_change", args=[project.pk]), data)
    assert response.status_code == 200
    assert not MonthlyReport.objects.filter(project=zhengding, month=month).exists()
    # The progress workbook.
    from projects.importing import import_progress

    from .test_dispatch_cycle import progress_workbook

    result = import_progress(progress_workbook([(zhengding.name, "正定县", ABSURD, "主体施工", "确认")]), "p.xlsx",
                             user=users["county_editor"], month=month)
    assert [(error.column, "上限" in error.message) for error in result.errors] == [("本月完成投资（万元）", True)]
    assert not MonthlyReport.objects.filter(project=zhengding, month=month).exists()


def list_file(rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["项目名称", "项目类别", "建设阶段", "所属市", "所属县（市、区）", "总投资（万元）", "年度计划投资（万元）"])
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_list_preview_refuses_an_amount_its_column_cannot_hold_and_an_implausible_total(users):
    data = list_file([
        ["正定县超大项目", "省重点", "续建", "石家庄市", "正定县", f"{ABSURD}.00", "100"],
        ["正定县单位错项目", "省重点", "续建", "石家庄市", "正定县", "80000000", "100"],  # 8,000 亿元: 元 typed as 万元?
        ["正定县正常项目", "省重点", "续建", "石家庄市", "正定县", "50000", "100"],
    ])
    result = import_projects(data, "list.xlsx", user=users["province_admin"], dry_run=True)
    errors = {(error.row, error.column): error.message for error in result.errors}
    assert "上限" in errors[(2, "总投资（万元）")]
    assert "合理上限" in errors[(3, "总投资（万元）")]
    assert len(errors) == 2
    assert not Project.objects.filter(name__startswith="正定县").exclude(name__contains="智能装备").exists()


def test_a_month_above_the_projects_total_investment_is_a_warning_that_wants_a_note(users, projects):
    zhengding = projects["zhengding"]  # total investment 10,000 万元
    client = client_for(users["county_editor"])
    response = client.post(form_url(), row(zhengding, "10000.01", version=0))
    assert response.status_code == 400 and "超过项目总投资" in response.content.decode()


# --- 2. A note confirms what it was written for -----------------------------------------------------------


@pytest.fixture
def spiking(db):
    """A project of 50,000 万元 with 1,000 万元 in each earlier month of the year and a plan of 30,000."""
    project = make_project("正定县说明项目", "130123", total_investment=Decimal("50000"))
    month = this_month()
    AnnualPlan.objects.create(project=project, year=month.year, planned_investment=Decimal("30000"))
    for earlier in range(1, month.month):
        MonthlyReport.objects.create(project=project, month=month.replace(month=earlier), completed_investment=Decimal("1000"))
    return project, month


def test_an_old_note_does_not_confirm_a_new_larger_figure(users, spiking):
    project, month = spiking
    client = client_for(users["county_editor"])
    first = client.post(form_url(), row(project, "6000", version=0))
    assert first.status_code == 400 and "月均" in first.content.decode()
    client.post(form_url(), {**row(project, "6000", note="设备款集中支付", version=0), **confirm_keys(first)})
    report = MonthlyReport.objects.get(project=project, month=month)
    assert (report.completed_investment, [w["code"] for w in report.warnings]) == (6000, ["spike"])
    # The page prefills the old note; the figure becomes 60,000 (above the total and 150% of the plan).
    page = client.get(form_url())
    assert 'value="设备款集中支付"' in page.content.decode()
    changed = row(project, "60000", note="设备款集中支付", version=page_versions(page)[project.pk])
    asked = client.post(form_url(), changed)
    assert asked.status_code == 400
    text = asked.content.decode()
    assert "超过总投资" in text and "超过年度计划" in text and "超过项目总投资" in text
    assert MonthlyReport.objects.get(pk=report.pk).completed_investment == 6000
    # Confirmed for that figure, it saves; the same figure again is not asked twice.
    assert client.post(form_url(), {**changed, **confirm_keys(asked)}).status_code == 302
    report.refresh_from_db()
    assert report.completed_investment == 60000
    assert {w["code"] for w in report.warnings} == {"over_total", "month_over_total", "over_plan", "spike"}
    # Confirmed keys of one figure do not confirm another.
    other = row(project, "70000", note="设备款集中支付", version=report.version)
    assert client.post(form_url(), {**other, **confirm_keys(asked)}).status_code == 400


def test_an_old_note_in_the_api_or_a_workbook_does_not_confirm_a_new_figure(users, spiking):
    project, month = spiking
    editor = Caller(users["county_editor"], "token")
    body = {"project": project.pk, "month": month.isoformat(), "completed_investment": "6000", "note": "设备款", "version": 0}
    assert editor.post("reports/", body).status_code == 201  # a note sent with the figure is written for it
    report = MonthlyReport.objects.get(project=project, month=month)
    # PATCH only the figure: the stored note stays, and does not confirm the new warnings.
    asked = editor.patch(f"reports/{report.pk}/", {"completed_investment": "60000", "version": report.version})
    assert asked.status_code == 400
    keys = [warning["key"] for warning in asked.json()["warnings"]]
    assert "over_total:60000.00" in keys and all(warning["message"] for warning in asked.json()["warnings"])
    confirmed = editor.patch(f"reports/{report.pk}/", {"completed_investment": "60000", "version": report.version,
                                                      "confirmed_warnings": keys})
    assert confirmed.status_code == 200, confirmed.content
    assert {w["code"] for w in confirmed.json()["warnings"]} >= {"over_total", "spike"}
    # A workbook row with the stored note and a new figure: an error for its row until the note changes.
    from projects.importing import import_progress

    from .test_dispatch_cycle import progress_workbook

    stored = MonthlyReport.objects.get(pk=report.pk)
    result = import_progress(progress_workbook([(project.name, "正定县", "65000", "主体施工", stored.note)]), "p.xlsx",
                             user=users["county_editor"], month=month)
    assert [error.column for error in result.errors] == ["本月完成投资（万元）"]
    result = import_progress(progress_workbook([(project.name, "正定县", "65000", "主体施工", "追加设备款")]), "p.xlsx",
                             user=users["county_editor"], month=month)
    assert not result.errors
    assert MonthlyReport.objects.get(pk=report.pk).completed_investment == 65000


def test_warnings_are_stored_as_codes_and_read_in_the_readers_language(users, spiking):
    project, month = spiking
    client = client_for(users["county_editor"])  # writes in Chinese
    client.post(form_url(), row(project, "6000", note="设备款", version=0))
    report = MonthlyReport.objects.get(project=project, month=month)
    assert report.warnings == [{"code": "spike", "params": {"amount": "6000.00", "average": "1000.00", "multiple": "3"},
                                "figure": "6000.00"}]
    review = reverse("report_review") + f"?month={month:%Y-%m}"
    chinese = client_for(users["city_coordinator"]).get(review).content.decode()
    assert "本月 6,000.00 万元，超过本年已报月份月均 1,000.00 万元的 3 倍" in chinese
    english_page = english(client_for(users["city_coordinator"])).get(review).content.decode()
    assert "6,000.00 (CNY 10k) is more than 3 times" in english_page and "月均" not in english_page
    admin_list = english(client_for(users["city_coordinator"])).get(reverse("admin:projects_monthlyreport_changelist"))
    assert "6,000.00 (CNY 10k) is more than 3 times" in admin_list.content.decode()
    api = english(client_for(users["city_coordinator"]))
    [warning] = api.get(f"/api/v1/reports/{report.pk}/").json()["warnings"]
    assert (warning["code"], warning["key"]) == ("spike", "spike:6000.00") and warning["message"].startswith("This month")


# --- 4. What a reviewer approves is what they saw -----------------------------------------------------------


def review_versions(response):
    return {f"version-{pk}": version for pk, version in re.findall(r'name="version-(\d+)" value="(\d+)"', response.content.decode())}


def test_a_report_changed_after_the_review_page_was_loaded_is_not_approved(users, projects):
    editor, coordinator = client_for(users["county_editor"]), client_for(users["city_coordinator"])
    zhengding, qiaoxi = projects["zhengding"], projects["qiaoxi"]
    editor.post(form_url(), row(zhengding, "100", version=0))
    client_for(make_user("qx", Role.COUNTY_EDITOR, "130104")).post(form_url(), row(qiaoxi, "80", version=0))
    review = reverse("report_review") + f"?month={this_month():%Y-%m}"
    page = coordinator.get(review)
    shown = review_versions(page)
    watched = MonthlyReport.objects.get(project=zhengding, month=this_month())
    assert f"version-{watched.pk}" in shown
    # Meanwhile the county re-saves 100 as 9,999.
    form = editor.get(form_url())
    editor.post(form_url(), row(zhengding, "9999", note="更正", version=page_versions(form)[zhengding.pk]))
    other = MonthlyReport.objects.get(project=qiaoxi, month=this_month())
    answer = coordinator.post(review, {"action": "approve", "selected": [watched.pk, other.pk], **shown}, follow=True)
    text = answer.content.decode()
    assert "打开页面后已被修改" in text and "9,999.00" in text and zhengding.name in text
    watched.refresh_from_db()
    other.refresh_from_db()
    assert (watched.review_status, watched.completed_investment) == (ReviewStatus.SUBMITTED, 9999)
    assert other.review_status == ReviewStatus.APPROVED  # the others are reviewed
    # One by one, likewise; with the page reloaded it goes through.
    assert coordinator.post(review, {"one": f"approve:{watched.pk}", **shown}).status_code == 302
    assert MonthlyReport.objects.get(pk=watched.pk).review_status == ReviewStatus.SUBMITTED
    coordinator.post(review, {"one": f"approve:{watched.pk}", **review_versions(coordinator.get(review))})
    assert MonthlyReport.objects.get(pk=watched.pk).review_status == ReviewStatus.APPROVED


def test_the_admin_review_actions_carry_the_version_seen(users, projects):
    editor, coordinator = client_for(users["county_editor"]), client_for(users["city_coordinator"])
    zhengding = projects["zhengding"]
    editor.post(form_url(), row(zhengding, "100", version=0))
    report = MonthlyReport.objects.get(project=zhengding, month=this_month())
    changelist = reverse("admin:projects_monthlyreport_changelist")
    shown = review_versions(coordinator.get(changelist))
    assert shown[f"version-{report.pk}"] == str(report.version)
    form = editor.get(form_url())
    editor.post(form_url(), row(zhengding, "9999", note="更正", version=page_versions(form)[zhengding.pk]))
    answer = coordinator.post(changelist, {"action": "approve_reports", "_selected_action": [report.pk], **shown}, follow=True)
    assert "打开页面后已被修改" in answer.content.decode()
    assert MonthlyReport.objects.get(pk=report.pk).review_status == ReviewStatus.SUBMITTED
    # A post without the versions reviews nothing.
    coordinator.post(changelist, {"action": "approve_reports", "_selected_action": [report.pk]})
    assert MonthlyReport.objects.get(pk=report.pk).review_status == ReviewStatus.SUBMITTED
    # The reason page carries what it shows.
    reason_page = coordinator.post(changelist, {"action": "return_reports", "_selected_action": [report.pk],
                                                **review_versions(coordinator.get(changelist))})
    coordinator.post(changelist, {"action": "return_reports", "apply": "1", "reason": "请核实",
                                  "_selected_action": [report.pk], **review_versions(reason_page)})
    assert MonthlyReport.objects.get(pk=report.pk).review_status == ReviewStatus.RETURNED


# --- 7. Smaller ones ------------------------------------------------------------------------------------------


def test_a_report_only_for_a_month_that_has_ended(users, projects):
    current = rules.month_start(rules.today())
    zhengding = projects["zhengding"]
    client = client_for(users["county_editor"])
    page = client.get(reverse("monthly_report") + f"?month={current:%Y-%m}")
    assert page.context["month"] == rules.add_months(current, -1)  # the month not ended is not offered
    assert f'value="{current:%Y-%m}"' not in page.content.decode()
    entry = reports.ReportEntry(project=zhengding, month=current, completed_investment=Decimal(5))
    [outcome] = reports.reports_submit(user=users["county_editor"], entries=[entry])
    assert outcome.code == "future"
    api = Caller(users["county_editor"], "token").post("reports/", {
        "project": zhengding.pk, "month": current.isoformat(), "completed_investment": "5", "version": 0})
    assert api.status_code == 400 and "month" in api.json()
    assert not MonthlyReport.objects.filter(project=zhengding, month=current).exists()


def test_deleting_a_locked_report_in_the_inline_says_so_and_writes_nothing(users, projects):
    project = projects["zhengding"]
    january = project.reports.get()
    reports.reports_review(user=users["city_coordinator"], versions={january.pk: january.version}, action=ReviewAction.APPROVE)
    project.refresh_from_db()
    version, history = project.version, project.history.count()
    data = change_form_data(project, **{
        "reports-TOTAL_FORMS": 1, "reports-INITIAL_FORMS": 1, "reports-0-id": january.pk, "reports-0-project": project.pk,
        "reports-0-month": january.month.strftime("%Y-%m"), "reports-0-completed_investment": "100",
        "reports-0-image_progress": january.image_progress, "reports-0-DELETE": "on",
    })
    response = client_for(users["county_editor"]).post(reverse("admin:projects_project_change", args=[project.pk]), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "已锁定，不能删除" in page and "成功" not in page
    assert MonthlyReport.objects.filter(pk=january.pk).exists()
    project.refresh_from_db()
    assert (project.version, project.history.count()) == (version, history)


def test_the_return_notice_goes_to_someone_who_can_open_the_report_now(users, projects, mail_server,
                                                                       django_capture_on_commit_callbacks):
    zhengding = projects["zhengding"]
    mover = make_user("mover", Role.COUNTY_EDITOR, "130123")
    client_for(mover).post(form_url(), row(zhengding, "50", version=0))
    report = MonthlyReport.objects.get(project=zhengding, month=this_month())
    assert report.reported_by == mover
    # The reporter moves to 南宫市 and can no longer open 正定县's projects.
    mover.region = Project.objects.get(pk=projects["nangong"].pk).county
    mover.save()
    user_set_role(user=mover, role=Role.COUNTY_EDITOR)
    with django_capture_on_commit_callbacks(execute=True):
        reports.reports_review(user=users["city_coordinator"], versions={report.pk: report.version},
                                 action=ReviewAction.RETURN, reason="请核实", enqueue=__import__("projects.tasks").tasks.enqueue_delivery)
    assert sorted(mail["To"] for mail in mail_server.messages) == ["zd@example.org"]  # 正定县's editor, not mover
    assert ReportTransition.objects.filter(report=report, action=ReviewAction.RETURN).exists()


# --- No accepted value makes a page answer 500 --------------------------------------------------------------


def test_the_largest_figures_the_rules_accept_leave_every_page_answering(users, projects, settings):
    """The worst a user can confirm: the largest plausible total, a tiny plan, and every month of the year
    at the amount limit (each confirmed with a note). Sums, rates and every surface still answer."""
    from projects.domain.figures import MONEY_LIMIT
    from projects.shared.editing import progress_refresh

    project = make_project("正定县极值项目", "130123", total_investment=Decimal(str(settings.FIGURE_MAX_TOTAL_INVESTMENT)))
    month = this_month()
    AnnualPlan.objects.create(project=project, year=month.year, planned_investment=Decimal("0.01"),
                              completed_before_year=MONEY_LIMIT)
    entries = [reports.ReportEntry(project=project, month=month.replace(month=number), completed_investment=MONEY_LIMIT,
                                     note="确认") for number in range(1, month.month + 1)]
    outcomes = reports.reports_submit(user=users["county_editor"], entries=entries)
    assert {outcome.status for outcome in outcomes} == {reports.EntryStatus.CREATED}
    progress_refresh()
    too_much = reports.ReportEntry(project=project, month=month, completed_investment=MONEY_LIMIT + Decimal("0.01"))
    assert parse_refused(str(MONEY_LIMIT + Decimal("0.01")))
    del too_much
    report = MonthlyReport.objects.get(project=project, month=month)
    for user in (users["county_editor"], users["city_coordinator"], users["province_admin"]):
        client = client_for(user)
        for url in (reverse("dashboard"), reverse("project_list"), reverse("project_list") + "?sort=-rate",
                    reverse("project_detail", args=[project.pk]), form_url(), reverse("action_plan"),
                    reverse("report_review") + f"?month={month:%Y-%m}&status=all",
                    reverse("project_export") + "?format=xlsx", reverse("project_export") + "?format=json",
                    reverse("admin:projects_project_changelist"), reverse("admin:projects_project_change", args=[project.pk]),
                    reverse("admin:projects_monthlyreport_changelist"), "/api/v1/projects/", f"/api/v1/projects/{project.pk}/",
                    "/api/v1/dashboard/", "/api/v1/reports/", f"/api/v1/reports/{report.pk}/", "/api/v1/plans/"):
            response = client.get(url)
            assert response.status_code in (200, 403), (user.username, url, response.status_code)
    from projects.mail import digests
    from projects.models import DigestSubscription

    subscription = DigestSubscription.objects.create(user=users["province_admin"], frequency="monthly")
    period = digests.period_for("monthly", rules.today())
    assert digests.digest_render(subscription, period)


def parse_refused(text):
    from projects.domain.figures import parse_money

    try:
        parse_money(text, Decimal(1))
    except ValueError:
        return True
    return False


@pytest.mark.django_db(transaction=True)
def test_an_amount_an_older_version_let_in_is_returned_for_a_new_report_and_the_database_then_refuses_one():
    """SQLite stored any number before; such a row could not be read back and no page could repair it."""
    from django.db import IntegrityError, connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    from projects.reference.data import reference_data_load

    reference_data_load()
    try:
        project = make_project("正定县旧数据项目", "130123")
        executor = MigrationExecutor(connection)
        executor.migrate([("projects", "0014_figures")])
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO projects_monthlyreport (project_id, month, completed_investment, image_progress, note, warnings,"
                " reported_at, review_status, review_reason, version) VALUES (%s, %s, %s, '', '', '[]', %s, 'submitted', '', 1)",
                [project.pk, datetime.date(2026, 1, 1), "99999999999999999" if connection.vendor == "sqlite" else "-5",
                 datetime.datetime(2026, 2, 1, tzinfo=datetime.timezone.utc)])
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        report = MonthlyReport.objects.get(project=project)
        assert (report.completed_investment, report.review_status) == (0, ReviewStatus.RETURNED)
        assert "请重新填报" in report.review_reason
        with pytest.raises(IntegrityError), transaction.atomic():
            MonthlyReport.objects.filter(pk=report.pk).update(completed_investment=Decimal("-1"))
    finally:
        reference_data_load()


def test_the_admin_form_refuses_an_implausible_total_and_an_absurd_plan(users, projects):
    project = Project.objects.get(pk=projects["zhengding"].pk)
    client = client_for(users["county_editor"])
    url = reverse("admin:projects_project_change", args=[project.pk])
    response = client.post(url, change_form_data(project, total_investment="80000000"))
    assert response.status_code == 200 and "合理上限" in response.content.decode()
    plan = project.plans.get()
    response = client.post(url, change_form_data(project, **{
        "plans-TOTAL_FORMS": 1, "plans-INITIAL_FORMS": 1, "plans-0-id": plan.pk, "plans-0-project": project.pk,
        "plans-0-year": plan.year, "plans-0-planned_investment": ABSURD, "plans-0-completed_before_year": "0"}))
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.total_investment, project.plans.get().planned_investment) == (Decimal("10000"), Decimal("1200"))


def test_a_bulk_status_action_writes_only_projects_whose_status_changes(users, projects):
    project = Project.objects.get(pk=projects["zhengding"].pk)
    version, history = project.version, project.history.count()
    client = client_for(users["county_editor"])
    changelist = reverse("admin:projects_project_changelist")
    client.post(changelist, {"action": "mark_normal", "_selected_action": [project.pk]})  # already normal
    project.refresh_from_db()
    assert (project.version, project.history.count()) == (version, history)
    client.post(changelist, {"action": "mark_stalled", "_selected_action": [project.pk]})
    project.refresh_from_db()
    assert (project.status, project.version, project.history.count()) == ("stalled", version + 1, history + 1)
