"""Importing provincial lists as they really arrive, through `manage.py import_projects`."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from projects.models import AnnualPlan, Project

from .conftest import make_project

HEADER = ["序号", "项目代码", "项目名称", "项目类别", "五个一批", "建设阶段", "所属市", "所属县（市、区）", "所属产业",
          "八项行动", "项目单位", "建设起止年限", "计划开工", "计划竣工", "总投资（万元）", "年度计划投资（万元）"]


def row(seq, name, city, county, *, code="", programmes="省重点", batch="重大产业项目", stage="续建", industry="装备制造",
        actions="1", owner="某公司", period="2023-2025", start="2023-03", end="2025-12", total="1000", plan="300"):
    return [seq, code, name, programmes, batch, stage, city, county, industry, actions, owner, period, start, end, total, plan]


def workbook(rows, header=HEADER, title=("河北省2023年省重点建设项目计划表",), note=("单位：万元",)):
    book = Workbook()
    sheet = book.active
    for line in (title, note):
        if line:
            sheet.append(list(line))
    sheet.append(header)
    for line in rows:
        sheet.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run(tmp_path, data, name="list.xlsx", *args):
    path = tmp_path / name
    path.write_bytes(data)
    out = io.StringIO()
    try:
        call_command("import_projects", str(path), *args, stdout=out)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue().splitlines()


def snapshot():
    return (
        sorted(Project.objects.values_list("key", "name", "version")),
        sorted(AnnualPlan.objects.values_list("project_id", "year", "planned_investment")),
        Project.history.count(),
    )


def test_a_real_looking_list_is_imported(db, tmp_path):
    rows = [
        ["一、重大产业项目（3项）"] + [None] * 15,
        row("1", "正定县智能装备产业园项目", "石家庄市", "正定县", code="2023-130123-26-03-00001A",
            programmes="省重点项目、 招商引资", actions="1、5", start=datetime.datetime(2023, 3, 15), stage=" 续建 "),
        row("2", "容城县数字经济产业园项目", "保定市", "容城县", start="2023.03", end="2025年6月", actions="产业链现代化攻坚行动"),
        row("3", "张家口桥西区冰雪装备项目", "张家口市", "桥西区", start="2023年3月", end="2024/6/15", industry="新能源产业"),
        [None] * 16,
        ["", "", "合计", "", "", "", "", "", "", "", "", "", "", "", "3000", "900"],
        ["二、基础设施和民生项目（1项）"] + [None] * 15,
        row("4", "雄安新区某医院项目", "雄安新区", "雄县", total="1,200", batch="基础设施和民生项目", programmes="市重点"),
    ]
    code, out = run(tmp_path, workbook(rows))
    assert (code, out) == (0, ["created 4, updated 0, unchanged 0, skipped 4, errors 0"])
    zhengding = Project.objects.get(code="2023-130123-26-03-00001A")
    assert {p.name for p in zhengding.programmes.all()} == {"省重点", "招商引资"}
    assert sorted(a.number for a in zhengding.actions.all()) == [1, 5]
    assert (zhengding.planned_start, zhengding.stage) == (datetime.date(2023, 3, 15), "continuing")
    assert zhengding.plans.get(year=2023).planned_investment == Decimal("300")  # the year from the title row
    rongcheng = Project.objects.get(name="容城县数字经济产业园项目")
    assert rongcheng.city.name == "雄安新区" and rongcheng.county.name == "容城县"
    assert (rongcheng.planned_start, rongcheng.planned_end) == (datetime.date(2023, 3, 1), datetime.date(2025, 6, 1))
    assert [a.number for a in rongcheng.actions.all()] == [2]
    qiaoxi = Project.objects.get(name="张家口桥西区冰雪装备项目")
    assert qiaoxi.county.code == "130703" and qiaoxi.planned_end == datetime.date(2024, 6, 15)
    assert qiaoxi.industry.name == "新能源"
    assert Project.objects.get(name="雄安新区某医院项目").total_investment == Decimal("1200")
    assert zhengding.history.first().history_type == "+"

    # The same file again: every row unchanged, nothing written.
    before = snapshot()
    code, out = run(tmp_path, workbook(rows))
    assert out == ["created 0, updated 0, unchanged 4, skipped 4, errors 0"]
    assert snapshot() == before


def test_yi_yuan_columns_are_converted_and_headers_matched_loosely(db, tmp_path):
    header = list(HEADER)
    header[2] = " 项目 名称 "
    header[7] = "所属县(市、区)"
    header[14] = "总投资（亿元）"
    header[15] = "年度计划投资(亿元)"
    code, out = run(tmp_path, workbook([row("1", "某项目", "邢台市", "南宫市", total="1.2345", plan="0.5")], header=header), "x.xlsx", "--year", "2024")
    assert code == 0, out
    project = Project.objects.get(name="某项目")
    assert project.total_investment == Decimal("12345")
    assert project.plans.get(year=2024).planned_investment == Decimal("5000")


def test_english_aliases_and_csv_encodings(db, tmp_path):
    lines = "code,name,city,county,stage,total_investment,annual_plan\n,邯郸紧固件项目,邯郸市,永年区,新开工,800,200\n"
    for encoding, suffix in (("utf-8-sig", "bom.csv"), ("utf-8", "plain.csv"), ("gb18030", "gbk.csv")):
        Project.objects.all().delete()
        code, out = run(tmp_path, lines.encode(encoding), suffix)
        assert (code, out[0]) == (0, "created 1, updated 0, unchanged 0, skipped 0, errors 0"), encoding
        assert Project.objects.get().county.name == "永年区"


BAD_ROWS = [
    (row("1", "坏县", "石家庄市", "不存在县"), "所属县（市、区）", "未知的县"),
    (row("2", "错市", "石家庄市", "南宫市"), "所属县（市、区）", "不属于"),
    (row("3", "负数", "石家庄市", "正定县", total="-5"), "总投资（万元）", "负数"),
    (row("4", "非数", "石家庄市", "正定县", plan="三百"), "年度计划投资（万元）", "不是数字"),
    (row("5", "坏日期", "石家庄市", "正定县", start="明年春天"), "计划开工", "日期"),
    (row("6", "坏阶段", "石家庄市", "正定县", stage="施工中"), "建设阶段", "建设阶段"),
    (row("7", "坏代码", "石家庄市", "正定县", code="2023-139999-26-03-00001A"), "项目代码", "区划"),
    (row("8", "重复", "石家庄市", "正定县", code="2023-130123-26-03-00002B"), None, None),
    (row("9", "重复2", "石家庄市", "正定县", code="2023-130123-26-03-00002B"), "项目代码", "重复"),
    (row("10", "", "石家庄市", "正定县"), "项目名称", "必填"),
]


def test_wrong_rows_are_reported_by_row_and_column_and_nothing_is_written(db, tmp_path):
    make_project("已有项目", "130123")
    before = snapshot()
    good = row("0", "好项目", "石家庄市", "正定县")
    code, out = run(tmp_path, workbook([good] + [bad for bad, _c, _m in BAD_ROWS]))
    assert code == 1
    assert out[0].endswith(f"errors {sum(1 for _b, column, _m in BAD_ROWS if column)}")
    for index, (_bad, column, message) in enumerate(BAD_ROWS):
        if column:
            sheet_row = 5 + index  # title, note, header, the good row, then these
            assert any(line.startswith(f"row {sheet_row}, column {column}: ") and message in line for line in out), (column, out)
    assert snapshot() == before


def test_an_error_on_the_last_row_leaves_the_database_as_it_was(db, tmp_path):
    before = snapshot()
    rows = [row(str(i), f"项目{i}", "石家庄市", "正定县") for i in range(1, 30)]
    rows.append(row("30", "最后一行", "石家庄市", "正定县", total="abc"))
    code, out = run(tmp_path, workbook(rows))
    assert code == 1 and out[1].startswith("row 33, column 总投资（万元）")
    assert snapshot() == before


def test_dry_run_reports_and_writes_nothing(db, tmp_path):
    before = snapshot()
    code, out = run(tmp_path, workbook([row("1", "预演项目", "石家庄市", "正定县")]), "d.xlsx", "--dry-run")
    assert (code, out) == (0, ["created 1, updated 0, unchanged 0, skipped 0, errors 0"])
    assert snapshot() == before


def test_a_users_region_limits_what_the_file_may_touch(users, projects, tmp_path):
    nangong = projects["nangong"]
    rows = [
        row("1", "正定新项目", "石家庄市", "正定县"),
        row("2", "南宫新项目", "邢台市", "南宫市"),
        row("3", nangong.name, "邢台市", "南宫市", total="999"),  # matches 南宫's existing project
    ]
    before = snapshot()
    code, out = run(tmp_path, workbook(rows), "u.xlsx", "--user", "zd")
    assert code == 1
    assert any(line.startswith("row 5, ") for line in out) and any(line.startswith("row 6, ") for line in out)
    assert not any(line.startswith("row 4, ") for line in out)
    assert snapshot() == before
    code, out = run(tmp_path, workbook(rows[:1]), "u.xlsx", "--user", "zd")
    assert code == 0 and Project.objects.get(name="正定新项目").county.code == "130123"
    code, out = run(tmp_path, workbook(rows[:1]), "u.xlsx", "--user", "boss")
    assert code == 1 and "不能导入" in out[1]


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "empty.xlsx", "空"),
        (b"this is not a workbook", "notes.xlsx", "不是有效的 xlsx"),
        (b"just,some,words\n1,2,3\n", "nohead.csv", "没有找到表头行"),
        (None, "nocity.xlsx", "缺少必需的列"),
        (None, "bomb.xlsx", "解压后过大"),
        (b"%PDF-1.4", "scan.pdf", "只接受 xlsx、xls 或 csv"),
    ],
)
def test_hostile_and_odd_files_get_a_clear_message(db, tmp_path, settings, data, name, message):
    if name == "nocity.xlsx":
        data = workbook([["1", "无市项目"]], header=["序号", "项目名称", "项目单位"])
    if name == "bomb.xlsx":
        settings.IMPORT_MAX_UNPACKED_BYTES = 10 * 2**20
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 2**20))
        data = buffer.getvalue()
        assert len(data) < 100_000
    before = snapshot()
    code, out = run(tmp_path, data, name)
    assert code == 1 and message in out[1], out
    assert snapshot() == before


def test_export_then_import_is_unchanged_in_every_format(users, projects, tmp_path):
    projects["qiaoxi"].name = "=SUM(1,2)号楼"
    projects["qiaoxi"].save()
    projects["zhengding"].actions.add(9)  # an action of the 2023 plan: exported by name
    for fmt in ("xlsx", "csv"):
        path = tmp_path / f"export.{fmt}"
        call_command("export_projects", "--format", fmt, "--output", str(path), stdout=io.StringIO())
        before = snapshot()
        code, out = run(tmp_path, path.read_bytes(), f"again.{fmt}")
        assert (code, out) == (0, ["created 0, updated 0, unchanged 3, skipped 0, errors 0"]), fmt
        assert snapshot() == before
    text = (tmp_path / "export.csv").read_bytes().decode("utf-8-sig")
    assert "'=SUM(1,2)号楼" in text  # escaped for spreadsheets


def test_export_options_filter(users, projects, tmp_path):
    path = tmp_path / "e.json"
    out = io.StringIO()
    call_command("export_projects", "--format", "json", "--output", str(path), "--county", "130581", stdout=out)
    assert "exported 1 projects" in out.getvalue()
    assert "南宫市羊绒深加工项目" in path.read_text(encoding="utf-8")
    with pytest.raises(Exception, match="--stage"):
        call_command("export_projects", "--format", "csv", "--output", str(path), "--stage", "施工", stdout=out)


def progress_book(rows, title="2026年10月重点项目月度调度表"):
    header = ["序号", "项目代码", "项目名称", "所属县（市、区）", "本月完成投资（万元）", "形象进度", "存在问题"]
    return workbook(rows, header=header, title=(title,))


def test_monthly_progress_workbook(users, projects, tmp_path):
    from projects.models import MonthlyReport, Problem

    zhengding, qiaoxi, nangong = projects["zhengding"], projects["qiaoxi"], projects["nangong"]
    rows = [
        ["1", zhengding.code, "", "", "150", "主体封顶", "缺少用电指标"],
        ["2", "", qiaoxi.name, "桥西区", "80.5", "设备安装", ""],
        ["3", "", "未列入的项目", "正定县", None, None, None],  # prefilled, left empty: not reported
    ]
    path = tmp_path / "p.xlsx"
    path.write_bytes(progress_book(rows))
    out = io.StringIO()
    call_command("import_progress", str(path), "--month", "2026-10", "--user", "sjz", stdout=out)
    assert out.getvalue().splitlines() == ["created 2, updated 0, unchanged 0, skipped 1, errors 0"]
    report = MonthlyReport.objects.get(project=zhengding, month=datetime.date(2026, 10, 1))
    assert (report.completed_investment, report.image_progress) == (Decimal("150"), "主体封顶")
    assert Problem.objects.filter(project=zhengding, description="缺少用电指标").exists()
    zhengding.refresh_from_db()
    assert zhengding.last_report_month == datetime.date(2026, 10, 1)

    # Another region's project, a wrong amount: reported by row, and nothing written.
    before = MonthlyReport.objects.count()
    bad = [["1", nangong.code or "", nangong.name, "南宫市", "10", "", ""], ["2", zhengding.code, "", "", "-3", "", ""]]
    path.write_bytes(progress_book(bad))
    with pytest.raises(SystemExit):
        call_command("import_progress", str(path), "--month", "2026-10", "--user", "sjz", stdout=(out := io.StringIO()))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("errors 2")
    assert lines[1].startswith("row 4, column 项目") and "管辖" in lines[1]
    assert lines[2].startswith("row 5, column 本月完成投资（万元）")
    assert MonthlyReport.objects.count() == before


def test_reporting_units_either_way(db, tmp_path):
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML  # xlsx is parsed with defusedxml
    rows = [
        row("1", "定州项目", "定州市", "定州市"),
        row("2", "辛集项目", "石家庄市", "辛集市"),
        row("3", "辛集项目二", "辛集市", "辛集市"),
        row("4", "安新项目", "雄安新区", "安新县"),
    ]
    code, out = run(tmp_path, workbook(rows))
    assert code == 0, out
    cities = dict(Project.objects.values_list("name", "city__name"))
    assert cities == {"定州项目": "定州市", "辛集项目": "辛集市", "辛集项目二": "辛集市", "安新项目": "雄安新区"}


def test_matching_by_code_else_by_name_and_county(db, tmp_path):
    uncoded = make_project("正定县先期项目", "130123")
    coded = make_project("正定县已赋码项目", "130123", code="2023-130123-26-03-00009Z")
    rows = [
        row("1", "正定县先期项目", "石家庄市", "正定县", code="2024-130123-26-03-00010A"),  # gets its code now
        row("2", "正定县已赋码项目", "石家庄市", "正定县"),  # the list leaves the code out
    ]
    code, out = run(tmp_path, workbook(rows))
    assert (code, out[0]) == (0, "created 0, updated 2, unchanged 0, skipped 0, errors 0")
    uncoded.refresh_from_db()
    coded.refresh_from_db()
    assert uncoded.code == "2024-130123-26-03-00010A"
    assert coded.code == "2023-130123-26-03-00009Z"  # an empty cell does not take the code away
    assert Project.objects.count() == 2


def test_history_records_link_changes_with_the_importing_user(users, db, tmp_path):
    """Each history row written by an import carries the importing user and the programme and action
    links the project had at that moment; a re-import that changes nothing writes no history row."""
    code, out = run(tmp_path, workbook([row("1", "正定县链接项目", "石家庄市", "正定县", programmes="省重点", actions="1")]),
                    "a.xlsx", "--user", "prov")
    assert code == 0, out
    project = Project.objects.get(name="正定县链接项目")
    first = project.history.get()
    assert first.history_user == users["province_admin"]
    assert [link.programme.name for link in first.programmes.all()] == ["省重点"]
    assert [link.action.number for link in first.actions.all()] == [1]

    code, out = run(tmp_path, workbook([row("1", "正定县链接项目", "石家庄市", "正定县", programmes="省重点", actions="1、3")]),
                    "b.xlsx", "--user", "prov")
    assert (code, out[0]) == (0, "created 0, updated 1, unchanged 0, skipped 0, errors 0")
    latest = project.history.latest()
    assert latest.history_type == "~" and latest.history_user == users["province_admin"]
    assert sorted(link.action.number for link in latest.actions.all()) == [1, 3]
    assert [link.programme.name for link in latest.programmes.all()] == ["省重点"]  # unchanged links recorded too
    project.refresh_from_db()
    assert project.version == 2 and sorted(project.actions.values_list("number", flat=True)) == [1, 3]

    before = snapshot()
    code, out = run(tmp_path, workbook([row("1", "正定县链接项目", "石家庄市", "正定县", programmes="省重点", actions="3、1")]),
                    "c.xlsx", "--user", "prov")
    assert (code, out[0]) == (0, "created 0, updated 0, unchanged 1, skipped 0, errors 0")
    assert snapshot() == before


def test_the_list_is_a_django_import_export_resource(db):
    """The import is the library's: a ModelResource whose loader, bulk steps and widgets are ours."""
    from import_export.resources import ModelResource

    from projects.importing.project_fields import ProjectListLoader
    from projects.importing.project_list import ProjectListResource
    from projects.importing.resources import sheet_dataset

    resource = ProjectListResource(user=None)
    assert isinstance(resource, ModelResource) and resource._meta.instance_loader_class is ProjectListLoader
    header = [heading.replace("总投资（万元）", "总投资（亿元）") for heading in HEADER]
    dataset = sheet_dataset(workbook([row("1", "正定县资源项目", "石家庄市", "正定县", total="2")], header=header), "l.xlsx")
    result = resource.import_data(dataset, dry_run=True)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 1 and result.rows == []  # counted, not kept: the resource keeps what it shows
    assert resource.outcome.rows[0].row == 4  # the sheet's row, under title, note and header
    assert ("总投资（万元）", "", "20,000") in resource.outcome.rows[0].changes  # 2 亿元 shown as converted
    assert not Project.objects.exists()
