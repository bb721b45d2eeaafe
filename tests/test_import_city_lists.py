"""Lists as cities actually send them: heading synonyms, units named in a note row, short region names,
市直 rows, stage synonyms, and no column dropped in silence."""

import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from projects.domain import rules
from projects.domain.choices import Stage
from projects.importing.catalogues import Regions, city_forms, county_forms
from projects.models import HeaderSynonym, ImportBatch, Project, Region

from .test_access import client_for

DIVISIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "hebei_divisions.csv"


def workbook(rows):
    book = Workbook()
    sheet = book.active
    for line in rows:
        sheet.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run(tmp_path, data, *args):
    path = tmp_path / "list.xlsx"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_projects", str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue().splitlines(), err.getvalue()


# A concentrated-start list as a city publishes it: its own headings, amounts in 亿元, zones by their
# short names, 市直 projects, a 合计 row, and a column the template does not have.
CONCENTRATED_START = [
    ["沧州市2026年第四季度重大项目集中开工项目表"],
    ["单位：亿元"],
    ["序号", "项目名称", "县（市、区）", "建设单位", "主要建设内容", "计划总投资（亿元）", "年度计划投资", "建设性质", "所属市", "开工时间", "拟完成月份"],
    ["1", "渤海新区绿色化工新材料项目", "渤海新区", "某化工公司", "年产20万吨", "12.5", "3", "计划开工", "沧州市", "2026-10", "2027-06"],
    ["2", "沧州高新区智能装备产业园", "沧州高新区", "某装备公司", "厂房10万平方米", "5.2", "1.2", "新开工", "沧州市", "2026-11", "2027-12"],
    ["3", "孟村弯头管件产业集群升级项目", "孟村县", "某管件公司", "技术改造", "1.05", "0.5", "续建", "沧州市", "2025-03", "2027-03"],
    ["4", "沧州市中心医院新院区", "市直", "沧州市卫健委", "床位1000张", "8", "2", "续建", "沧州市", "2025-06", "2028-06"],
    ["5", "沧州经开区数据中心项目", "经开区", "某数据公司", "机柜5000个", "3.3", "1", "保投产", "沧州市", "2024-05", "2026-12"],
    ["", "合计", "", "", "", "30.05", "7.7", "", "", "", ""],
]


def test_a_concentrated_start_list_imports_whole_into_the_right_counties(db, tmp_path):
    code, out, err = run(tmp_path, workbook(CONCENTRATED_START))
    assert (code, out) == (0, ["created 5, updated 0, unchanged 0, skipped 1, errors 0"])
    assert "未识别的列：拟完成月份，其内容不会导入" in err  # stdout stays as scripts parse it
    projects = {p.name: p for p in Project.objects.select_related("county", "city")}
    assert {name: p.county.name if p.county else None for name, p in projects.items()} == {
        "渤海新区绿色化工新材料项目": "沧州渤海新区",
        "沧州高新区智能装备产业园": "沧州高新技术产业开发区",
        "孟村弯头管件产业集群升级项目": "孟村回族自治县",
        "沧州市中心医院新院区": None,  # 市直: the city's own project
        "沧州经开区数据中心项目": "河北沧州经济开发区",
    }
    assert {p.city.name for p in projects.values()} == {"沧州市"}
    chemicals = projects["渤海新区绿色化工新材料项目"]
    assert chemicals.total_investment == Decimal("125000")  # 12.5 亿元
    assert chemicals.plans.get(year=2026).planned_investment == Decimal("30000")  # 3 亿元: the note row's unit
    assert chemicals.owner == "某化工公司" and chemicals.scope == "年产20万吨"
    assert chemicals.planned_start == datetime.date(2026, 10, 1)
    stages = {name: p.stage for name, p in projects.items()}
    assert stages["渤海新区绿色化工新材料项目"] == (Stage.NEW_START if rules.today().year >= 2026 else Stage.PREPARATORY)
    assert stages["沧州经开区数据中心项目"] == Stage.COMPLETED  # 保投产
    assert stages["孟村弯头管件产业集群升级项目"] == Stage.CONTINUING


def test_an_unknown_column_is_listed_in_the_preview(users, db):
    client = client_for(users["province_admin"])
    response = client.post(reverse("admin:projects_project_import"),
                           {"file": SimpleUploadedFile("list.xlsx", workbook(CONCENTRATED_START))}, follow=True)
    page = response.content.decode()
    assert response.context["batch"].result["unrecognized"] == ["拟完成月份"]
    assert "未识别的列：拟完成月份，其内容不会导入" in page


def test_a_county_column_the_importer_does_not_know_is_an_error_not_a_city_level_import(db, tmp_path):
    rows = [
        ["序号", "项目名称", "所在区域", "所属市", "总投资（万元）"],
        ["1", "正定某项目", "正定县", "石家庄市", "1000"],
        ["2", "藁城某项目", "藁城区", "石家庄市", "2000"],
    ]
    code, out, _err = run(tmp_path, workbook(rows))
    assert code == 1 and "“所在区域”列中是县（市、区）名称（如“正定县”）" in "\n".join(out)
    assert not Project.objects.exists()
    # Taught in the admin, the same list imports.
    HeaderSynonym.objects.create(text="所在区域", column="county")
    code, out, _err = run(tmp_path, workbook(rows))
    assert (code, out[0]) == (0, "created 2, updated 0, unchanged 0, skipped 0, errors 0")
    assert set(Project.objects.values_list("county__name", flat=True)) == {"正定县", "藁城区"}


def test_a_provincial_heading_with_its_own_unit_wins_over_the_note_row(db, tmp_path):
    rows = [
        ["单位：亿元"],
        ["序号", "项目名称", "所属市", "所属县（市、区）", "总投资（万元）", "当年计划投资"],
        ["1", "正定某项目", "石家庄市", "正定", "1000", "0.5"],
    ]
    code, _out, _err = run(tmp_path, workbook(rows), "--year", "2026")
    assert code == 0
    project = Project.objects.get()
    assert (project.total_investment, project.plans.get(year=2026).planned_investment) == (Decimal(1000), Decimal(5000))
    assert project.county.name == "正定县"


def test_an_ambiguous_short_form_is_an_error_naming_the_candidates(db):
    regions = Regions(list(Region.objects.all()))
    tangshan = Region.objects.get(code="130200")
    with pytest.raises(ValueError, match="请填写所属市"):
        regions.county("桥西", None)  # 石家庄市 and 张家口市 both have a 桥西区
    assert regions.county("桥西", Region.objects.get(code="130700")).code == "130703"
    assert regions.county("高新区", tangshan).name == "唐山高新技术产业开发区"
    assert regions.county("市本级", tangshan) is None
    assert regions.county("唐山市", tangshan) is None  # the city's own name in the county column


def divisions():
    with DIVISIONS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {row["code"]: row["name"] for row in rows}
    return [(row["code"], row["name"], names[row["parent_code"]]) for row in rows if row["level"] == "county"]


def test_every_division_resolves_from_its_name_and_every_short_form(db):
    regions = Regions(list(Region.objects.all()))
    by_code = {region.code: region for region in Region.objects.all()}
    checked, ambiguous = 0, []
    assert len(divisions()) == 190
    for code, name, city_name in divisions():
        city = by_code[code[:4] + "00"] if by_code[code].parent.level == "city" else by_code[code].parent
        for form in county_forms(name, city_name) | {code}:
            try:
                assert regions.county(form, city).code == code, (form, name)
            except ValueError as error:  # a form two divisions of the city share: reported, naming both
                assert name in str(error) and "请填写全称" in str(error), (form, name, error)
                ambiguous.append(form)
            checked += 1
        # Under the unit it reports to (容城县 under 雄安新区; 定州市 under itself) as well.
        reporting = by_code[code].reporting_city
        assert regions.county(name, reporting).code == code
    assert checked > 190 * 2
    assert ambiguous == []  # the generated forms do not collide within a city


def test_short_forms_for_zones_and_autonomous_counties():
    assert {"高新区", "衡水高新区"} <= county_forms("河北衡水高新技术产业开发区", "衡水市")
    assert {"渤海新区", "沧州渤海新区"} <= county_forms("沧州渤海新区", "沧州市")
    assert {"经开区", "开发区", "秦皇岛经开区"} <= county_forms("秦皇岛市经济技术开发区", "秦皇岛市")
    assert {"青龙县", "青龙"} <= county_forms("青龙满族自治县", "秦皇岛市")
    assert "围场县" in county_forms("围场满族蒙古族自治县", "承德市")
    assert {"芦台开发区", "芦台经开区"} <= county_forms("河北唐山芦台经济开发区", "唐山市")
    assert "开发区" not in county_forms("河北唐山芦台经济开发区", "唐山市")
    assert {"正定"} <= county_forms("正定县", "石家庄市") and "雄" not in county_forms("雄县", "保定市")
    assert {"雄安", "雄安新区", "河北雄安新区"} == city_forms("雄安新区")


@pytest.mark.parametrize("text, year, stage", [
    ("计划开工", None, Stage.NEW_START),
    ("计划开工", 2099, Stage.PREPARATORY),
    ("保投产", None, Stage.COMPLETED),
    ("建成投产", None, Stage.COMPLETED),
    ("新开工", None, Stage.NEW_START),
    ("在建", None, Stage.CONTINUING),
    ("前期", None, Stage.PREPARATORY),
])
def test_stage_synonyms(db, text, year, stage):
    from projects.importing.catalogues import Catalogues

    assert Catalogues(year=year or rules.today().year).stage(text) == stage


def test_stage_unknown_is_an_error(db):
    from projects.importing.catalogues import Catalogues

    with pytest.raises(ValueError, match="未知的建设阶段"):
        Catalogues().stage("暂停")


def test_the_batch_keeps_unrecognised_columns_after_confirming(users, db):
    client = client_for(users["province_admin"])
    client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", workbook(CONCENTRATED_START))})
    batch = ImportBatch.objects.get()
    client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "applied" and batch.result["unrecognized"] == ["拟完成月份"]
