"""The investment-promotion lifecycle (招商引资, issue 25): the stage follows the dates (Python and the database
agree), the investor's source follows its region, an absurd contract amount or funds figure is refused on
every write path, a signed project not registered in time gets its own light, funds in place go through the
monthly form and review and add up for the year, the list's new columns round-trip, and the list page and the
API filter by the lifecycle alike."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from projects.dispatch.reports import reports_review
from projects.domain import rules
from projects.domain.choices import InvestmentStage, InvestorSource, Light, LightReason, ReviewAction, Stage
from projects.domain.investment import investment_stage, investor_source_of, months_before
from projects.models import AnnualPlan, MonthlyReport, Programme, Project
from projects.shared import lights

from .conftest import NANGONG, QIAOXI_SJZ, ZHENGDING, make_project
from .test_access import change_form_data, client_for
from .test_api import issue_token
from .test_dispatch_cycle import form_url, page_versions, row, this_month

D = datetime.date
pytestmark = pytest.mark.django_db


def investment_project(name, county=ZHENGDING, **fields):
    project = make_project(name, county, **fields)
    project.programmes.set([Programme.objects.get(code="investment-promotion")])
    return project


def today():
    return rules.today()


# --- The stage follows the dates --------------------------------------------------------------------------

DATES = ("signed_on", "registered_on", "actual_start", "production_on", "terminated_on")
CASES = [
    ({}, ""),
    ({"actual_start": D(2024, 5, 1)}, ""),  # an ordinary project's start makes no lifecycle
    ({"signed_on": D(2024, 1, 5)}, InvestmentStage.SIGNED),
    ({"signed_on": D(2024, 1, 5), "registered_on": D(2024, 3, 1)}, InvestmentStage.REGISTERED),
    ({"signed_on": D(2024, 1, 5), "registered_on": D(2024, 3, 1), "actual_start": D(2024, 5, 1)}, InvestmentStage.STARTED),
    ({"signed_on": D(2024, 1, 5), "actual_start": D(2024, 5, 1), "production_on": D(2025, 6, 1)}, InvestmentStage.IN_PRODUCTION),
    ({"signed_on": D(2024, 1, 5), "production_on": D(2025, 6, 1), "terminated_on": D(2025, 9, 1)}, InvestmentStage.TERMINATED),
    ({"registered_on": D(2024, 3, 1)}, InvestmentStage.REGISTERED),
]


@pytest.mark.parametrize("dates, stage", CASES)
def test_the_stage_follows_the_dates_in_python_and_in_the_database(dates, stage):
    assert investment_stage(**{"started_on" if k == "actual_start" else k: v for k, v in
                               {name: dates.get(name) for name in DATES}.items()}) == stage
    project = make_project("雄安招商项目", ZHENGDING, **dates)
    assert Project.objects.get(pk=project.pk).investment_stage == stage
    # Any write path, a plain UPDATE included, keeps it: the database derives it.
    Project.objects.filter(pk=project.pk).update(terminated_on=D(2026, 1, 1))
    assert Project.objects.get(pk=project.pk).investment_stage == InvestmentStage.TERMINATED


@pytest.mark.parametrize("region, source", [
    ("北京市海淀区", InvestorSource.BEIJING_TIANJIN), ("天津滨海新区", InvestorSource.BEIJING_TIANJIN),
    ("河北省唐山市", InvestorSource.IN_PROVINCE), ("石家庄", InvestorSource.IN_PROVINCE),
    ("广东省深圳市", InvestorSource.OTHER_PROVINCE), ("香港", InvestorSource.ABROAD), ("德国慕尼黑", InvestorSource.ABROAD),
    ("", ""), ("某地", ""),
])
def test_the_investors_source_follows_its_region(region, source):
    assert investor_source_of(region) == source


def test_a_chosen_source_is_kept_and_a_blank_one_derived_on_save():
    derived = investment_project("京企落地项目", investor="北京某科技有限公司", investor_region="北京市朝阳区")
    assert derived.investor_source == InvestorSource.BEIJING_TIANJIN
    chosen = investment_project("外资项目", QIAOXI_SJZ, investor_region="北京市", investor_source=InvestorSource.ABROAD)
    assert Project.objects.get(pk=chosen.pk).investor_source == InvestorSource.ABROAD


# --- Absurd amounts are refused on every write path ---------------------------------------------------------


def test_the_admin_form_refuses_an_absurd_contract_amount_and_takes_a_plausible_one(users, projects):
    project = projects["zhengding"]
    client = client_for(users["county_editor"])
    url = reverse("admin:projects_project_change", args=[project.pk])
    absurd = client.post(url, change_form_data(project, contract_amount="600000000", investor="京东方"))
    assert absurd.status_code == 200 and "协议投资额" in absurd.content.decode() and "请核对单位" in absurd.content.decode()
    negative = client.post(url, change_form_data(project, contract_amount="-5"))
    assert negative.status_code == 200 and "金额不能为负数" in negative.content.decode()
    assert Project.objects.get(pk=project.pk).contract_amount is None
    fine = client.post(url, change_form_data(project, contract_amount="350000", investor="京东方", investor_region="北京市",
                                             signed_on="2025-03-18", signing_event="京津冀协同发展集中签约"))
    assert fine.status_code == 302, fine.content.decode()[:2000]
    stored = Project.objects.get(pk=project.pk)
    assert (stored.contract_amount, stored.investor_source, stored.investment_stage) == (
        Decimal("350000"), InvestorSource.BEIJING_TIANJIN, InvestmentStage.STARTED if stored.actual_start else InvestmentStage.SIGNED)


def import_lines(path, *args):
    out = io.StringIO()
    try:
        call_command("import_projects", str(path), *args, stdout=out, stderr=io.StringIO())
    except SystemExit:
        pass
    return out.getvalue().splitlines()


SIGNING_HEADER = "序号,项目名称,所属市,所属县（市、区）,项目类别,投资方,投资方所在地,签约时间,签约活动,协议投资额（亿元）,注册时间,投产时间"


def test_a_signing_list_imports_investor_dates_and_amounts_in_yi_and_refuses_an_absurd_one(tmp_path):
    path = tmp_path / "signing.csv"
    path.write_text("\n".join([
        "2025年石家庄市招商引资签约项目清单",
        SIGNING_HEADER,
        "1,正定县新能源电池项目,石家庄市,正定县,招商引资,北京某新能源有限公司,北京市海淀区,2025-03-18,京津冀集中签约,12.5,2025-05-20,",
        "2,正定县生物医药产业园,石家庄市,正定县,招商引资,深圳某医药集团,广东省深圳市,2025年4月,廊坊经洽会,3,,",
    ]), encoding="utf-8")
    assert import_lines(path)[0] == "created 2, updated 0, unchanged 0, skipped 0, errors 0"
    battery = Project.objects.get(name="正定县新能源电池项目")
    assert (battery.investor, battery.investor_source, battery.signed_on, battery.signing_event, battery.contract_amount,
            battery.registered_on, battery.investment_stage) == (
        "北京某新能源有限公司", InvestorSource.BEIJING_TIANJIN, D(2025, 3, 18), "京津冀集中签约", Decimal("125000.00"),
        D(2025, 5, 20), InvestmentStage.REGISTERED)
    assert Project.objects.get(name="正定县生物医药产业园").investor_source == InvestorSource.OTHER_PROVINCE
    # 万元 typed into a 亿元 column (12000 亿元): refused with its row and column, nothing written.
    absurd = tmp_path / "absurd.csv"
    absurd.write_text("\n".join([SIGNING_HEADER, "1,正定县光伏组件项目,石家庄市,正定县,招商引资,某公司,北京,2025-06-01,,12000,,"]),
                      encoding="utf-8")
    lines = import_lines(absurd)
    assert lines[0].endswith("errors 1") and "协议投资额" in lines[1] and "请核对单位" in lines[1]
    assert not Project.objects.filter(name="正定县光伏组件项目").exists()


@pytest.mark.parametrize("header", ["签约额", "合同投资额", "签约金额", "协议投资额"])
def test_the_signing_lists_headings_name_the_contract_amount(tmp_path, header):
    path = tmp_path / "list.csv"
    path.write_text(f"项目名称,所属市,所属县（市、区）,投资方,签约日期,{header}（万元）\n正定县装备项目,石家庄市,正定县,某投资方,2025.6,800\n",
                    encoding="utf-8")
    assert import_lines(path)[0] == "created 1, updated 0, unchanged 0, skipped 0, errors 0"
    project = Project.objects.get(name="正定县装备项目")
    assert (project.investor, project.contract_amount, project.signed_on) == ("某投资方", Decimal("800"), D(2025, 6, 1))


def test_the_api_refuses_absurd_funds_in_place_and_keeps_them_when_not_sent(users, projects):
    project = projects["zhengding"]
    month = this_month()
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    body = {"project": project.pk, "month": month.isoformat(), "completed_investment": "100", "version": 0}
    for bad in ("1e20", "-3", "1.234"):
        response = client.post("/api/v1/reports/", {**body, "funds_in_place": bad}, content_type="application/json")
        assert response.status_code == 400 and "funds_in_place" in response.json(), (bad, response.content)
    created = client.post("/api/v1/reports/", {**body, "funds_in_place": "80"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["funds_in_place"] == "80.00"
    report = MonthlyReport.objects.get(project=project, month=month)
    # A write that does not carry funds in place keeps them.
    again = client.patch(f"/api/v1/reports/{report.pk}/", {"completed_investment": "120", "version": report.version},
                         content_type="application/json")
    assert again.status_code == 200, again.content
    assert MonthlyReport.objects.get(pk=report.pk).funds_in_place == Decimal("80")


# --- Behind: signed and not registered within N months ------------------------------------------------------


def light_args(**overrides):
    args = {"stage": Stage.PREPARATORY, "status": "normal", "planned_start": None, "actual_start": None, "planned": None,
            "completed": None, "last_report_month": None, "year": 2025, "on": D(2025, 9, 10),
            "thresholds": rules.Thresholds(Decimal(10), Decimal(30))}
    return {**args, **overrides}


@pytest.mark.parametrize("signed, registered, expected", [
    (D(2025, 3, 10), None, LightReason.ON_PACE),  # exactly 6 months: not more than 6
    (D(2025, 3, 9), None, LightReason.NOT_REGISTERED),
    (D(2024, 1, 9), D(2024, 5, 1), LightReason.ON_PACE),  # registered
    (None, None, LightReason.ON_PACE),  # not an investment-promotion item
])
def test_a_signed_project_not_registered_within_n_months_is_behind_in_python_and_sql(settings, signed, registered, expected):
    settings.INVESTMENT_REGISTER_WITHIN_MONTHS = 6
    stage = investment_stage(signed_on=signed, registered_on=registered, started_on=None, production_on=None, terminated_on=None)
    light, reason = rules.traffic_light(**light_args(investment_stage=stage, signed_on=signed))
    assert reason == expected and light == rules.light_of(expected)
    project = investment_project("招商签约项目", signed_on=signed, registered_on=registered, stage=Stage.PREPARATORY)
    on = D(2025, 9, 10)
    sql = lights.annotate_progress(Project.objects.filter(pk=project.pk), year=2025, on=on, use_stored=False).get()
    assert sql.light_reason == expected


def test_the_register_deadline_is_a_setting_and_the_light_says_so_in_the_readers_language(settings):
    signed = months_before(today(), 4)
    project = investment_project("廊坊招商签约项目", signed_on=signed - datetime.timedelta(days=1), stage=Stage.PREPARATORY)
    settings.INVESTMENT_REGISTER_WITHIN_MONTHS = 6
    lights.lights_refresh(projects=[project.pk])
    assert Project.objects.get(pk=project.pk).current_light_reason == LightReason.ON_PACE
    settings.INVESTMENT_REGISTER_WITHIN_MONTHS = 4
    lights.lights_refresh(projects=[project.pk])
    stored = Project.objects.get(pk=project.pk)
    assert stored.current_light_reason == LightReason.NOT_REGISTERED  # stored as a code
    assert rules.light_of(stored.current_light_reason) == Light.YELLOW
    text = rules.describe_light(reason=stored.current_light_reason, project=stored, year=today().year, on=today())
    assert "签约逾期未注册" in text and "4" in text
    # The words come through gettext: the English catalogue has them (compiled with the others).
    with open("locale/en/LC_MESSAGES/django.po", encoding="utf-8") as handle:
        catalogue = handle.read()
    assert 'msgid "签约逾期未注册"' in catalogue and 'msgid "%(label)s（%(date)s 签约，超过 %(months)s 个月未注册）"' in catalogue


# --- Funds in place through the monthly cycle -------------------------------------------------------------


def test_funds_in_place_through_the_report_form_and_review_add_up_for_the_year(users, projects):
    project = projects["zhengding"]
    Project.objects.filter(pk=project.pk).update(signed_on=D(2024, 6, 1), registered_on=D(2024, 8, 1))
    client = client_for(users["county_editor"])
    page = client.get(form_url())
    assert f'name="p{project.pk}-funds"' in page.content.decode()  # an investment-promotion row asks for them
    assert f'name="p{projects["qiaoxi"].pk}-funds"' not in page.content.decode()
    version = page_versions(page)[project.pk]
    bad = client.post(form_url(), {**row(project, "100", "主体施工", version=version), f"p{project.pk}-funds": "-1"})
    assert bad.status_code == 400 and "金额不能为负数" in bad.content.decode()
    saved = client.post(form_url(), {**row(project, "100", "主体施工", version=version), f"p{project.pk}-funds": "60"})
    assert saved.status_code == 302
    report = MonthlyReport.objects.get(project=project, month=this_month())
    assert report.funds_in_place == Decimal("60")
    plan = AnnualPlan.objects.get(project=project, year=this_month().year)
    assert plan.funds_in_place == Decimal("60")
    review = client_for(users["city_coordinator"]).get(reverse("report_review") + f"?month={this_month():%Y-%m}")
    assert "实际到位资金" in review.content.decode()
    reports_review(user=users["city_coordinator"], versions={report.pk: report.version}, action=ReviewAction.RETURN, reason="核实到位资金")
    plan.refresh_from_db()
    assert plan.funds_in_place == 0  # a returned report counts as not reported


def test_funds_above_the_contract_amount_want_a_note_like_any_checked_figure(users, projects):
    project = projects["zhengding"]
    Project.objects.filter(pk=project.pk).update(signed_on=D(2024, 6, 1), contract_amount=Decimal("5000"))
    client = client_for(users["county_editor"])
    version = page_versions(client.get(form_url()))[project.pk]
    first = client.post(form_url(), {**row(project, "100", version=version), f"p{project.pk}-funds": "6000"})
    assert first.status_code == 400 and "超过协议投资额" in first.content.decode()
    assert not MonthlyReport.objects.filter(project=project, month=this_month()).exists()
    noted = client.post(form_url(), {**row(project, "100", note="含设备款预付", version=version), f"p{project.pk}-funds": "6000"})
    assert noted.status_code == 302
    assert MonthlyReport.objects.get(project=project, month=this_month()).funds_in_place == Decimal("6000")


# --- The list's columns round-trip -----------------------------------------------------------------------------


def test_the_export_with_the_investment_columns_imports_back_unchanged(users, tmp_path):
    investment_project("正定县招商电池项目", investor="北京某新能源有限公司", investor_region="北京市", signed_on=D(2025, 3, 18),
                       signing_event="京津冀集中签约", contract_amount=Decimal("125000.50"), registered_on=D(2025, 5, 20),
                       actual_start=D(2025, 8, 1))
    make_project("南宫市羊绒项目", NANGONG)
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"export.{fmt}"
        call_command("export_projects", "--format", fmt, "--output", str(path), stdout=io.StringIO())
        before = sorted(Project.objects.values_list("pk", "investor", "investor_source", "signed_on", "contract_amount",
                                                    "registered_on", "actual_start", "version"))
        assert import_lines(path) == ["created 0, updated 0, unchanged 2, skipped 0, errors 0"]
        assert sorted(Project.objects.values_list("pk", "investor", "investor_source", "signed_on", "contract_amount",
                                                  "registered_on", "actual_start", "version")) == before
    text = (tmp_path / "export.csv").read_text(encoding="utf-8-sig")
    assert "投资方" in text and "协议投资额（万元）" in text and "125000.5" in text and "京津" in text


def test_a_changed_investment_cell_updates_the_project(tmp_path):
    project = investment_project("正定县招商装备项目", investor="某公司", signed_on=D(2025, 1, 1))
    path = tmp_path / "update.csv"
    path.write_text(f"项目名称,所属市,所属县（市、区）,注册时间,协议投资额（万元）\n{project.name},石家庄市,正定县,2025-04-01,900\n",
                    encoding="utf-8")
    assert import_lines(path)[0] == "created 0, updated 1, unchanged 0, skipped 0, errors 0"
    stored = Project.objects.get(pk=project.pk)
    assert (stored.registered_on, stored.contract_amount, stored.investment_stage) == (
        D(2025, 4, 1), Decimal("900"), InvestmentStage.REGISTERED)


# --- Filters: the list page and the API alike ---------------------------------------------------------------


@pytest.fixture
def pipeline(db):
    signed = months_before(today(), 9)
    return {
        "stalled": investment_project("正定县逾期未注册项目", signed_on=signed, investor_region="北京市", contract_amount=Decimal("5000"),
                                      stage=Stage.PREPARATORY),
        "registered": investment_project("正定县已注册项目", signed_on=signed, registered_on=months_before(today(), 7),
                                         investor_region="广东省深圳市", stage=Stage.PREPARATORY),
        "producing": investment_project("桥西区已投产项目", QIAOXI_SJZ, signed_on=D(today().year - 2, 5, 1),
                                        actual_start=D(today().year - 2, 9, 1), production_on=D(today().year - 1, 10, 1),
                                        investor_region="香港", contract_amount=Decimal("20000")),
        "other": make_project("正定县普通项目", ZHENGDING),
    }


@pytest.mark.parametrize("params, expected", [
    ({"investment_stage": "signed"}, {"stalled"}),
    ({"investment_stage": "in_production"}, {"producing"}),
    ({"investor_source": "beijing_tianjin"}, {"stalled"}),
    ({"investor_source": "abroad"}, {"producing"}),
    ({"signed_year": "PRODUCING_YEAR"}, {"producing"}),
    ({"signed_from": "NINE_MONTHS_AGO"}, {"stalled", "registered"}),
    ({"signed_to": "NINE_MONTHS_AGO"}, {"stalled", "registered", "producing"}),
    ({"has_contract_amount": "true"}, {"stalled", "producing"}),
    ({"registration_overdue": "true"}, {"stalled"}),
    ({"q": "逾期未注册"}, {"stalled"}),
])
def test_the_lifecycle_filters_give_the_same_projects_on_the_list_page_and_in_the_api(users, pipeline, params, expected):
    values = {"PRODUCING_YEAR": str(today().year - 2), "NINE_MONTHS_AGO": months_before(today(), 9).isoformat()}
    params = {key: values.get(value, value) for key, value in params.items()}
    user = users["province_admin"]
    page = client_for(user).get(reverse("project_list"), params)
    assert page.status_code == 200
    on_page = {project.pk for project in page.context["page"].paginator.object_list}
    api = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}").get("/api/v1/projects/", params)
    in_api = {item["id"] for item in api.json()["results"]}
    wanted = {pipeline[name].pk for name in expected}
    assert on_page == in_api == wanted


def test_the_list_shows_the_lifecycle_columns_for_investment_items_and_the_api_its_fields(users, pipeline):
    user = users["province_admin"]
    programme = Programme.objects.get(code="investment-promotion")
    page = client_for(user).get(reverse("project_list"), {"programme": programme.pk}).content.decode()
    assert "投资方来源" in page and "协议投资额" in page and "签约" in page
    plain = client_for(user).get(reverse("project_list")).content.decode()
    assert "协议投资额（万元）</th>" not in plain
    body = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}").get(
        f"/api/v1/projects/{pipeline['producing'].pk}/").json()
    assert (body["investment_stage"], body["investment_stage_display"], body["investor_source"], body["contract_amount"]) == (
        "in_production", "投产", "abroad", "20000.00")
    detail = client_for(user).get(reverse("project_detail", args=[pipeline["producing"].pk])).content.decode()
    assert 'id="investment"' in detail and "投产" in detail and "20,000" in detail


@pytest.mark.parametrize("investment", [True, False])
def test_a_list_page_reads_what_its_rows_show_with_the_page_not_row_by_row(users, pipeline, investment):
    """The list reads only the columns its rows show (ROW_FIELDS): one a row shows but the page did not read would be
    read again for every row, here the lifecycle's dates and amounts, a reason's planned start, the regions' names."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(users["province_admin"])
    params = {"programme": Programme.objects.get(code="investment-promotion").pk} if investment else {}

    def queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("project_list"), params)
        return page, len(captured.captured_queries)

    first, few = queries()
    for index in range(6):
        investment_project(f"正定县招商项目{index}", signed_on=months_before(today(), 9), investor_region="北京市",
                           contract_amount=Decimal("100"), planned_start=months_before(today(), 2), stage=Stage.PREPARATORY)
    page, more = queries()
    assert more == few
    text = page.content.decode()
    assert "正定县招商项目5" in text and "正定县" in text
    if investment:
        assert "京津" in text and page.context["page"].paginator.count == first.context["page"].paginator.count + 6


def test_the_admin_lists_and_filters_by_the_lifecycle_and_shows_its_fields(users, pipeline):
    client = client_for(users["province_admin"])
    listed = client.get(reverse("admin:projects_project_changelist"), {"investment_stage": "signed"})
    assert listed.status_code == 200
    text = listed.content.decode()
    assert pipeline["stalled"].name in text and pipeline["producing"].name not in text
    change = client.get(reverse("admin:projects_project_change", args=[pipeline["producing"].pk])).content.decode()
    assert 'name="contract_amount"' in change and 'name="investor_source"' in change and "投产" in change


# --- Funds in place through the progress workbook (the monthly cycle's third path) ---------------------------


def test_funds_in_place_through_the_progress_workbook(users, tmp_path):
    """The month's prefilled workbook has a funds column; a 招商 row's funds are stored through the same
    service and checks as the report page's, a wrong cell is refused by row and column with nothing
    written, and a workbook without the column keeps the funds stored."""
    import openpyxl

    from projects.importing.progress import progress_template_workbook

    month = D(2026, 10, 1)
    signed = investment_project("正定县招商资金项目", signed_on=D(2026, 1, 5), contract_amount=Decimal("5000"))
    plain = make_project("正定县普通调度项目", ZHENGDING)
    book = openpyxl.load_workbook(io.BytesIO(progress_template_workbook(user=users["county_editor"], month=month)))
    sheet = book.active
    headings = [cell.value for cell in sheet[3]]
    assert "本月实际到位资金（万元）" in headings
    funds_column, completed_column = headings.index("本月实际到位资金（万元）"), headings.index("本月完成投资（万元）")
    for cells in sheet.iter_rows(min_row=4):
        name = cells[2].value
        if name in (signed.name, plain.name):
            cells[completed_column].value = 100
            cells[funds_column].value = 300 if name == signed.name else None
    path = tmp_path / "progress.xlsx"
    book.save(path)
    out = io.StringIO()
    call_command("import_progress", str(path), "--month", "2026-10", "--user", "zd", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("created 2,")
    assert MonthlyReport.objects.get(project=signed, month=month).funds_in_place == Decimal("300")
    assert MonthlyReport.objects.get(project=plain, month=month).funds_in_place is None

    # The funds alone changed: written, and shown as the row's change.
    sheet_row = next(cells for cells in sheet.iter_rows(min_row=4) if cells[2].value == signed.name)
    sheet_row[funds_column].value = 350
    book.save(path)
    call_command("import_progress", str(path), "--month", "2026-10", "--user", "zd", stdout=(out := io.StringIO()))
    assert out.getvalue().splitlines()[0].startswith("created 0, updated 1, unchanged 1")
    assert MonthlyReport.objects.get(project=signed, month=month).funds_in_place == Decimal("350")

    # A negative amount: refused with its row and column; nothing written.
    sheet_row[funds_column].value = -5
    book.save(path)
    with pytest.raises(SystemExit):
        call_command("import_progress", str(path), "--month", "2026-10", "--user", "zd", stdout=(out := io.StringIO()))
    assert f"row {sheet_row[0].row}, column 本月实际到位资金（万元）" in out.getvalue()
    assert MonthlyReport.objects.get(project=signed, month=month).funds_in_place == Decimal("350")

    # A workbook of the old shape (no funds column) leaves the funds as they are.
    sheet.delete_cols(funds_column + 1)
    sheet_row[completed_column].value = 120
    book.save(path)
    call_command("import_progress", str(path), "--month", "2026-10", "--user", "zd", stdout=io.StringIO())
    report = MonthlyReport.objects.get(project=signed, month=month)
    assert (report.completed_investment, report.funds_in_place) == (Decimal("120"), Decimal("350"))


@pytest.mark.parametrize(("investor", "region", "source"), [
    ("北京某汽车集团有限公司", "", InvestorSource.BEIJING_TIANJIN),
    ("天津某家具股份有限公司", "", InvestorSource.BEIJING_TIANJIN),
    ("深圳某电子有限公司", "", InvestorSource.OTHER_PROVINCE),
    ("某某新材料有限公司", "", ""),  # no place in the name: left to be chosen
    ("广东某电子有限公司", "", InvestorSource.OTHER_PROVINCE),
    ("中国石化北京分公司", "", ""),  # mentions 北京, registered as 中国…: says nothing
    ("某某科技有限公司", "香港", InvestorSource.ABROAD),  # the region first
])
def test_a_signing_list_without_source_or_region_takes_the_source_from_the_investors_name(db, tmp_path, investor, region, source):
    """A signing list names the investor only (北京某汽车集团有限公司): its source is the place its name begins
    with, on the import and on a save."""
    project = investment_project("正定县招商来源项目", investor=investor, investor_region=region)
    assert project.investor_source == source
    path = tmp_path / "signing.csv"
    path.write_text(f"项目名称,所属市,所属县（市、区）,投资方\n正定县招商新签项目,石家庄市,正定县,{investor}\n", encoding="utf-8")
    import_lines(path)
    assert Project.objects.get(name="正定县招商新签项目").investor_source == (source if not region else "")
