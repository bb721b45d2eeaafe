"""Lists as cities send them, round 2 (issue 25, the lists part): unrecognised amount and owner columns refused
by name, a city's own list without 所属市, two-row headers of 调度表, one region reader for the list and the
progress import, 无 / 暂无 / — as empty text, names with line breaks, periods with months, — as a blank
amount, 约300, 注： rows and the programme from the title. Workbooks are built as messy as real ones: title
rows, unit notes, merged cells, footnotes."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from projects.domain.choices import Role
from projects.models import HeaderSynonym, MonthlyReport, Problem, Project

from .conftest import make_project, make_user
from .test_access import client_for

LANGFANG, XINGTAI = "131000", "130500"


def book(rows, merges=()):
    """A workbook of `rows` (lists of cells) with the ranges in `merges` merged, as Excel saves them."""
    workbook = Workbook()
    sheet = workbook.active
    for line in rows:
        sheet.append(list(line))
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(command, tmp_path, data, *args):
    path = tmp_path / "list.xlsx"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue().splitlines(), err.getvalue()


def upload(client, data, name="list.xlsx", url="admin:projects_project_import", **extra):
    return client.post(reverse(url), {"file": SimpleUploadedFile(name, data), **extra}, follow=True)


# --- 1. An unrecognised column of amounts or of organisations is refused by name -------------------------

SIGNING_LIST = [
    ["2023年秋季京津冀产业对接活动集中签约项目清单"],
    ["单位：亿元", None, None, None, None, "填报日期：2023年9月"],
    ["序号", "项目名称", "所属市", "落地县区", "外方出资方", "引资规模（亿元）", "项目单位", "备注2"],
    ["1", "固安某新能源汽车零部件项目", "廊坊市", "固安县", "北京某汽车集团有限公司", "12.5", "固安某科技有限公司", "已对接三轮"],
    ["2", "香河某家居智能制造项目", "廊坊市", "香河县", "天津某家具股份有限公司", "8", "香河某家居有限公司", "拟年内注册"],
    ["3", "大厂某影视基地配套项目", "廊坊市", "大厂回族自治县", "北京某文化传媒公司", "3.2", "大厂某文旅公司", ""],
    ["注：投资额为协议额，以实际到位为准。"],
]


def test_an_unknown_amount_column_and_an_unknown_investor_column_refuse_the_list_naming_them(db, tmp_path):
    code, out, _err = run("import_projects", tmp_path, book(SIGNING_LIST, merges=["A1:H1"]))
    text = "\n".join(out)
    assert code == 1 and out[0].endswith("errors 1"), out
    assert "“引资规模（亿元）”（F 列）" in text and "金额" in text
    assert "“外方出资方”（E 列）" in text
    assert "表头同义词" in text
    assert "备注2" not in text  # free text: passed with a warning, not an error
    assert not Project.objects.exists()
    # Taught in the admin, the columns import (or, for a column that is truly not wanted, are named as such).
    HeaderSynonym.objects.create(text="引资规模", column="total_investment")
    HeaderSynonym.objects.create(text="外方出资方", column="responsible_unit")
    code, out, err = run("import_projects", tmp_path, book(SIGNING_LIST, merges=["A1:H1"]))
    assert (code, out[0]) == (0, "created 3, updated 0, unchanged 0, skipped 1, errors 0"), out
    assert "备注2" in err  # still said on stderr
    project = Project.objects.get(name="固安某新能源汽车零部件项目")
    assert project.total_investment == Decimal("125000") and project.county.name == "固安县"


def test_the_admin_preview_names_the_refused_columns(users, db):
    client = client_for(users["province_admin"])
    response = upload(client, book(SIGNING_LIST))
    page = response.content.decode()
    assert "“引资规模（亿元）”（F 列）未能识别，但其中是金额" in page and "表头同义词" in page
    assert "确认导入" not in page
    assert not Project.objects.exists()


def test_numbers_with_a_unit_that_is_not_money_pass_with_a_warning(db, tmp_path):
    rows = [
        ["序号", "项目名称", "所属市", "所属县", "总投资（万元）", "占地面积（亩）", "带动就业（人）"],
        ["1", "正定某项目", "石家庄市", "正定县", "1000", "120", "300"],
    ]
    code, out, err = run("import_projects", tmp_path, book(rows))
    assert (code, out) == (0, ["created 1, updated 0, unchanged 0, skipped 0, errors 0"])
    assert "占地面积（亩）" in err and "带动就业（人）" in err


@pytest.mark.parametrize("heading", ["落地县区", "项目落地地", "项目落地县区", "落地县(市、区)", "所属区县"])
def test_county_headings_of_signing_lists(db, tmp_path, heading):
    rows = [["序号", "项目名称", "所属市", heading, "总投资（万元）"], ["1", "沙河某玻璃项目", "邢台市", "沙河", "5000"]]
    code, out, _err = run("import_projects", tmp_path, book(rows))
    assert code == 0, out
    assert Project.objects.get().county.name == "沙河市"


# --- 2. A city's own list: no 所属市 column ----------------------------------------------------------------

LANGFANG_LIST = [
    ["廊坊市2023年重点项目清单"],
    ["单位：亿元"],
    ["项目名称", "项目落地地", "计划总投资（亿元）", "进展情况"],
    ["廊坊开发区某物流园", "廊坊开发区", "6", "土建施工"],
    ["固安某生物医药产业园", "固安县", "3.5", "前期手续办理中"],
]


def test_a_city_list_without_a_city_column_takes_the_city_of_a_city_coordinator(db, tmp_path):
    make_user("lf", Role.CITY_COORDINATOR, LANGFANG)
    code, out, err = run("import_projects", tmp_path, book(LANGFANG_LIST, merges=["A1:D1"]), "--user", "lf")
    assert (code, out[0]) == (0, "created 2, updated 0, unchanged 0, skipped 0, errors 0"), out
    assert "所属市" in err and "廊坊市" in err and "导入用户" in err
    assert set(Project.objects.values_list("city__name", flat=True)) == {"廊坊市"}
    assert Project.objects.get(name="固安某生物医药产业园").total_investment == Decimal("35000")


def test_a_city_list_without_a_city_column_takes_the_city_of_its_title_in_the_preview(users, db):
    client = client_for(users["province_admin"])
    response = upload(client, book(LANGFANG_LIST, merges=["A1:D1"]))
    result = response.context["batch"].result
    assert result["counts"]["created"] == 2 and not result["errors"], result
    page = response.content.decode()
    assert "标题" in page and "廊坊市" in page and "所属市" in page


def test_a_list_without_a_city_column_nor_a_city_in_its_title_says_so(db, tmp_path):
    rows = [["2023年重点项目清单"], ["项目名称", "总投资"], ["某项目", "100"]]
    code, out, _err = run("import_projects", tmp_path, book(rows))
    assert code == 1
    assert "所属市" in out[1] and "没有找到表头行" not in out[1], out


def test_a_list_without_a_name_column_says_which_row_looked_like_the_header(db, tmp_path):
    rows = [["2023年重点项目清单"], ["序号", "工程", "所属市", "所属县", "总投资"], ["1", "某项目", "石家庄市", "正定县", "100"]]
    code, out, _err = run("import_projects", tmp_path, book(rows))
    assert code == 1
    assert "第 2 行" in out[1] and "项目名称" in out[1] and "表头同义词" in out[1], out


# --- 3. A 调度表 with a two-row header ----------------------------------------------------------------------

DISPATCH_TABLE = [
    ["石家庄市2023年重点项目建设进展调度表（1-10月）"],
    ["单位：万元"],
    ["序号", "项目名称", "所属市", "所属县（市、区）", "总投资", "2023年", None, "形象进度", "存在问题"],
    [None, None, None, None, None, "计划投资", "1-10月完成", None, None],
    ["一、重大产业项目（2项）"],
    ["1", "正定某装备制造项目", "石家庄市", "正定县", "20000", "5000", "4100", "主体完工", "无"],
    ["2", "藁城某食品项目", "石家庄市", "藁城区", "8000", "3000", "2500", "设备安装", "暂无"],
    [None, "合计", None, None, "28000", "8000", "6600", None, None],
]
DISPATCH_MERGES = ["A1:I1", "A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4", "F3:G3", "H3:H4", "I3:I4", "A5:I5"]


def test_a_dispatch_table_with_a_two_row_header_is_read(db, tmp_path):
    code, out, err = run("import_projects", tmp_path, book(DISPATCH_TABLE, merges=DISPATCH_MERGES))
    assert (code, out[0]) == (0, "created 2, updated 0, unchanged 0, skipped 2, errors 0"), out
    project = Project.objects.get(name="正定某装备制造项目")
    assert project.plans.get(year=2023).planned_investment == Decimal("5000")
    assert project.total_investment == Decimal("20000")
    assert "1-10月完成" in err  # a progress figure: named, read by the progress import


def test_a_header_under_a_row_of_years_is_read(db, tmp_path):
    rows = [
        ["石家庄市重点项目计划表"],
        [None, None, None, None, "2024年", None],
        ["序号", "项目名称", "所属市", "所属县", "年度计划投资", "总投资"],
        ["1", "正定某装备制造项目", "石家庄市", "正定县", "5000", "20000"],
    ]
    code, out, _err = run("import_projects", tmp_path, book(rows, merges=["E2:F2"]))
    assert code == 0, out
    assert Project.objects.get().plans.get(year=2024).planned_investment == Decimal("5000")


def test_a_row_of_units_under_the_headings_is_part_of_the_header(db, tmp_path):
    rows = [
        ["保定市2024年重点项目表"],
        ["序号", "项目名称", "所属市", "所属县", "总投资", "年度计划投资"],
        [None, None, None, None, "（亿元）", "万元"],
        ["1", "涿州某数据中心", "保定市", "涿州市", "2.5", "3000"],
    ]
    code, out, _err = run("import_projects", tmp_path, book(rows))
    assert (code, out) == (0, ["created 1, updated 0, unchanged 0, skipped 0, errors 0"])
    project = Project.objects.get()
    assert project.total_investment == Decimal("25000")
    assert project.plans.get(year=2024).planned_investment == Decimal("3000")


def progress_user_and_projects():
    make_user("xt", Role.CITY_COORDINATOR, XINGTAI)
    return {
        "qinghe": make_project("清河羊绒小镇项目", "130534"),
        "shahe": make_project("沙河玻璃深加工项目", "130582"),
        "zone": make_project("邢台经开区新能源项目", "130571"),
    }


def test_the_progress_import_reads_a_two_row_header(db, tmp_path):
    made = progress_user_and_projects()
    rows = [
        ["邢台市2026年10月重点项目调度表"],
        ["单位：万元"],
        ["序号", "项目名称", "县（市、区）", "2026年10月", None, "形象进度", "存在问题"],
        [None, None, None, "本月完成", "1-10月完成", None, None],
        ["1", "清河羊绒\n小镇项目", "清河县", "120", "900", "主体施工", "缺少用地指标"],  # a line break in the name
    ]
    merges = ["A3:A4", "B3:B4", "C3:C4", "D3:E3", "F3:F4", "G3:G4"]
    code, out, _err = run("import_progress", tmp_path, book(rows, merges=merges), "--month", "2026-10", "--user", "xt")
    assert (code, out) == (0, ["created 1, updated 0, unchanged 0, skipped 0, errors 0"]), out
    assert MonthlyReport.objects.get(project=made["qinghe"]).completed_investment == Decimal("120")


# --- 4. One region reader for the list and the progress import ---------------------------------------------


def test_the_progress_import_reads_counties_as_the_list_import_does(db, tmp_path):
    make_user("xt", Role.CITY_COORDINATOR, XINGTAI)
    rows = [
        ["序号", "项目名称", "所属市", "所属县", "建设阶段", "总投资（万元）", "本月完成投资", "形象进度"],
        ["1", "清河羊绒小镇项目", "邢台市", "清河", "续建", "10000", "100", "主体施工"],
        ["2", "沙河玻璃深加工项目", "邢台市", "沙河", "续建", "10000", "50", "设备安装"],
        ["3", "邢台经开区新能源项目", "邢台市", "邢台经济开发区", "续建", "10000", "80", "调试"],
    ]
    data = book(rows)
    code, out, err = run("import_projects", tmp_path, data, "--user", "xt")
    assert (code, out[0]) == (0, "created 3, updated 0, unchanged 0, skipped 0, errors 0"), (out, err)
    code, out, _err = run("import_progress", tmp_path, data, "--month", "2026-10", "--user", "xt")
    assert (code, out) == (0, ["created 3, updated 0, unchanged 0, skipped 0, errors 0"]), out
    assert MonthlyReport.objects.count() == 3


# --- 5. 无 / 暂无 / — as empty text -----------------------------------------------------------------------------


def test_empty_meaning_problem_cells_open_no_problem(db, tmp_path):
    made = progress_user_and_projects()
    rows = [
        ["邢台市2026年10月重点项目月度调度表"],
        ["序号", "项目名称", "所属县（市、区）", "本月完成投资（万元）", "形象进度", "存在问题"],
        ["1", made["qinghe"].name, "清河县", "100", "主体施工", "无"],
        ["2", made["shahe"].name, "沙河市", "50", "设备安装", "暂无"],
        ["3", made["zone"].name, "邢台经济开发区", "80", "—", "无问题"],
        ["4", "清河羊绒小镇二期", "", None, None, "／"],  # prefilled, nothing reported: passed over
    ]
    make_project("清河羊绒小镇二期", "130534")
    code, out, _err = run("import_progress", tmp_path, book(rows), "--month", "2026-10", "--user", "xt")
    assert (code, out) == (0, ["created 3, updated 0, unchanged 0, skipped 1, errors 0"]), out
    assert not Problem.objects.exists()
    assert MonthlyReport.objects.get(project=made["zone"]).image_progress == ""


def test_empty_meaning_text_in_a_list_is_empty(db, tmp_path):
    rows = [["序号", "项目名称", "所属市", "所属县", "项目单位", "备注"], ["1", "正定某项目", "石家庄市", "正定县", "/", "无"]]
    code, out, _err = run("import_projects", tmp_path, book(rows))
    assert code == 0, out
    project = Project.objects.get()
    assert (project.owner, project.remarks) == ("", "")


# --- 6. Names with line breaks and inner spaces ------------------------------------------------------------------


def test_a_name_with_a_line_break_matches_the_same_name_without_it(db, tmp_path):
    header = ["序号", "项目名称", "所属市", "所属县", "总投资（万元）"]
    code, out, _err = run("import_projects", tmp_path, book([header, ["1", "正定县新能源\n装备制造项目", "石家庄市", "正定县", "1000"]]))
    assert code == 0, out
    assert Project.objects.get().name == "正定县新能源装备制造项目"
    for name in ("正定县新能源装备制造项目", "正定县 新能源  装备制造项目", "正定县新能源\r\n装备制造项目"):
        code, out, _err = run("import_projects", tmp_path, book([header, ["1", name, "石家庄市", "正定县", "1000"]]))
        assert (code, out) == (0, ["created 0, updated 0, unchanged 1, skipped 0, errors 0"]), (name, out)
    assert Project.objects.count() == 1


def test_latin_words_keep_one_space(db, tmp_path):
    header = ["序号", "项目名称", "所属市", "所属县"]
    code, _out, _err = run("import_projects", tmp_path, book([header, ["1", "正定 年产10万吨 PVC\n  Film 项目", "石家庄市", "正定县"]]))
    assert code == 0
    assert Project.objects.get().name == "正定年产10万吨PVC Film项目"


# --- 7. Periods with months, — as blank, 约300, footnotes, the programme from the title ------------------------------


INVESTMENT_LIST = [
    ["邢台市2023年招商引资签约项目清单"],
    ["单位：万元"],
    ["序号", "项目名称", "所属市", "所属县", "建设起止年限", "总投资", "年度计划投资"],
    ["1", "清河羊绒小镇项目", "邢台市", "清河县", "2022.6-2024.12", "约300", "—"],
    ["2", "沙河玻璃深加工项目", "邢台市", "沙河市", "2023.3—2025.6", "1,200", "/"],
    ["3", "邢台经开区新能源项目", "邢台市", "邢台经济开发区", "2023年5月-2024年10月", "—", "-"],
    ["注：1. 总投资为协议投资额；2. 带“约”的为估算数。"],
    ["说明：本表由市商务局汇总。"],
]


def test_periods_blanks_approximate_amounts_footnotes_and_the_programme_from_the_title(db, tmp_path):
    code, out, err = run("import_projects", tmp_path, book(INVESTMENT_LIST, merges=["A1:G1", "A7:G7", "A8:G8"]))
    assert (code, out[0]) == (0, "created 3, updated 0, unchanged 0, skipped 2, errors 0"), (out, err)
    projects = {p.name: p for p in Project.objects.prefetch_related("programmes")}
    qinghe = projects["清河羊绒小镇项目"]
    assert (qinghe.start_year, qinghe.end_year) == (2022, 2024)
    assert (projects["邢台经开区新能源项目"].start_year, projects["邢台经开区新能源项目"].end_year) == (2023, 2024)
    assert qinghe.total_investment == Decimal("300")
    assert projects["邢台经开区新能源项目"].total_investment == Decimal("0")
    assert not qinghe.plans.exists()  # — : no plan
    assert "第 4 行" in err and "约300" in err  # the approximate amount, by row and column
    assert "招商引资" in err
    assert {p.name for p in qinghe.programmes.all()} == {"招商引资"}


def test_the_preview_says_the_programme_and_the_approximate_amounts(users, db):
    client = client_for(users["province_admin"])
    response = upload(client, book(INVESTMENT_LIST))
    result = response.context["batch"].result
    assert not result["errors"], result
    page = response.content.decode()
    assert "招商引资" in page and "约300" in page and "第 4 行" in page


def test_bad_cells_are_still_reported_one_by_one_and_nothing_is_written(db, tmp_path):
    rows = [
        ["邢台市2023年招商引资签约项目清单"],
        ["序号", "项目名称", "所属市", "所属县", "建设起止年限", "总投资"],
        ["1", "清河羊绒小镇项目", "邢台市", "清河县", "2024.13-2022.1", "约三百"],
        ["2", "沙河玻璃深加工项目", "邢台市", "某某县", "2023-2025", "-5"],
    ]
    code, out, _err = run("import_projects", tmp_path, book(rows))
    assert code == 1
    assert out[0].endswith("errors 4"), out
    assert [line.split(":")[0] for line in out[1:]] == [
        "row 3, column 建设起止年限", "row 3, column 总投资（万元）", "row 4, column 所属县（市、区）", "row 4, column 总投资（万元）",
    ]
    assert not Project.objects.exists()


def test_a_name_typed_with_a_line_break_elsewhere_is_stored_as_the_imports_store_it(db):
    """The admin, the API and the demo save through the model: the one rule for names applies there too, so
    a later list naming the project without the break matches it."""
    from .conftest import ZHENGDING, make_project

    project = make_project("正定县智能装备\n产业园  项目", ZHENGDING)
    project.refresh_from_db()
    assert project.name == "正定县智能装备产业园项目"
