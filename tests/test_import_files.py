"""Files as the province's clerks really have them (issue 9): legacy .xls, formulas Excel never calculated,
names that look like formulas in the workbooks the app writes, and a preview and summary a clerk can read."""

import datetime
import io
from decimal import Decimal

import xlwt
from django.urls import reverse
from openpyxl import load_workbook

from projects.models import ImportBatch, Programme, Project

from .test_access import client_for
from .test_import import HEADER, row, run, snapshot, workbook
from .test_import_admin import upload


def xls(rows, header=HEADER, title="河北省2023年省重点建设项目计划表"):
    """A legacy Excel 97–2003 workbook, as WPS and older Excel save it."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("项目清单")
    month = xlwt.easyxf(num_format_str="yyyy-mm")
    preamble = [[title], ["单位：万元"]] if title else []
    for number, line in enumerate([*preamble, header, *rows]):
        for column, value in enumerate(line):
            if isinstance(value, datetime.date):
                sheet.write(number, column, value, month)
            else:
                sheet.write(number, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_legacy_xls_reads_like_xlsx(db, tmp_path):
    line = row("1", "正定县新能源装备项目", "石家庄市", "正定县", total=1234.5, plan=300)
    line[12] = datetime.date(2023, 3, 1)  # a real date cell, as Excel stores dates
    code, out = run(tmp_path, xls([line]), "list.xls")
    assert (code, out) == (0, ["created 1, updated 0, unchanged 0, skipped 0, errors 0"])
    project = Project.objects.get()
    assert (project.total_investment, project.planned_start) == (Decimal("1234.50"), datetime.date(2023, 3, 1))
    assert project.county.name == "正定县" and project.plans.get().planned_investment == Decimal("300")
    # The same list as xlsx is the same projects: nothing changes.
    line[12] = "2023-03"
    assert run(tmp_path, workbook([line]), "list.xlsx")[1] == ["created 0, updated 0, unchanged 1, skipped 0, errors 0"]


def test_a_damaged_xls_is_refused_by_name(db, tmp_path):
    code, out = run(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "broken.xls")
    assert code == 1 and "无法读取 xls 工作簿" in out[1]


def test_a_formula_excel_never_calculated_is_an_error_naming_its_cell(db, tmp_path):
    before = snapshot()
    rows = [row("1", "正定县新能源装备项目", "石家庄市", "正定县"), row("2", "某项目", "石家庄市", "正定县", total="=O4*3")]
    code, out = run(tmp_path, workbook(rows))  # openpyxl stores a formula and no result, as programs do
    assert code == 1
    assert "第 5 行 O 列" in out[1] and "没有计算结果" in out[1] and "Excel" in out[1], out
    assert snapshot() == before


def test_a_formula_with_its_calculated_result_imports_its_value(db, tmp_path):
    # What Excel saves: the formula and its result (<f> and <v>); written here by editing the sheet's XML.
    import re
    import zipfile

    data = workbook([row("1", "某项目", "石家庄市", "正定县", total="1")])
    source, target = io.BytesIO(data), io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            content = original.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<c r="O4"[^>]*>.*?</c>', b'<c r="O4"><f>1+2999</f><v>3000</v></c>', content)
            copy.writestr(item, content)
    code, out = run(tmp_path, target.getvalue())
    assert code == 0, out
    assert Project.objects.get().total_investment == Decimal("3000")


def test_workbooks_the_app_writes_keep_formula_like_names_as_text(users, projects):
    projects["zhengding"].name = '=HYPERLINK("http://evil","点击")'
    projects["zhengding"].save()
    Programme.objects.create(name="=1+1类项目")
    client = client_for(users["county_editor"])
    response = client.get(reverse("admin:projects_monthlyreport_import_template"), {"month": "2026-10"})
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    cell = sheet["C4"]
    assert (cell.data_type, cell.value) == ("s", "'" + projects["zhengding"].name)
    # The coordinator fills it in and sends it back: the row still finds its project.
    sheet["E4"] = 42
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, buffer.getvalue(), "p.xlsx", url="admin:projects_monthlyreport_import", month="2026-10")
    assert response.context["batch"].result["counts"]["created"] == 1
    assert not response.context["batch"].result["errors"]

    template = load_workbook(io.BytesIO(client.get(reverse("admin:projects_project_import_template")).content))
    options = [cell for cell in template["选项"]["B"] if cell.value and "1+1" in cell.value]
    assert [(cell.data_type, cell.value) for cell in options] == [("s", "'=1+1类项目")]


def test_the_preview_shows_new_rows_as_converted_and_the_summary_is_in_the_readers_language(users, projects):
    client = client_for(users["city_coordinator"])
    header = list(HEADER)
    header[14] = "总投资（亿元）"
    data = workbook([row("1", "正定县新能源装备项目", "石家庄市", "正定县", total="1.5", plan="0.3", stage="新开工")], header=header)
    page = upload(client, data).content.decode()
    # The clerk checks the 亿元 → 万元 conversion and the values before confirming.
    for shown in ("正定县新能源装备项目", "总投资（万元）：15,000", "新开工", "正定县", "省重点", "重大产业项目"):
        assert shown in page, shown
    batch = ImportBatch.objects.get()
    response = client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]), follow=True)
    page = response.content.decode()
    assert "导入完成：新增 1，更新 0，不变 0，跳过 0，错误 0" in page
    assert "created" not in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("admin:projects_project_import_confirm", args=[batch.pk])).content.decode()
    assert "created 1, updated 0, unchanged 0, skipped 0, errors 0" in page
    assert "新增 1" not in page
    changelist = client.get(reverse("admin:projects_importbatch_changelist")).content.decode()
    assert "created 1, updated 0" in changelist
