"""Import and export of accounts and catalogues in the admin, on django-import-export (issue 9): rights
follow the model's permissions, the files are read by our reader, new accounts get a set-password mail once."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from projects.importing.formats import FORMATS
from projects.models import Batch, Region, User

from .test_access import client_for

USER_HEADER = ["用户名", "姓名或单位", "电子邮箱", "联系电话", "所属区划", "角色"]


def sheet(rows, header):
    book = Workbook()
    book.active.append(header)
    for line in rows:
        book.active.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def format_index(extension):
    return str([fmt().get_extension() for fmt in FORMATS].index(extension))


def import_file(client, model, data, name="list.xlsx", extension="xlsx", model_app="projects"):
    """Upload (the preview), then confirm as the page's form does; returns (preview, result) responses."""
    url = reverse(f"admin:{model_app}_{model}_import")
    preview = client.post(url, {"import_file": SimpleUploadedFile(name, data), "format": format_index(extension), "resource": "0"})
    assert preview.status_code == 200, preview.status_code
    confirm = preview.context.get("confirm_form")
    if confirm is None:
        return preview, None
    result = client.post(reverse(f"admin:{model_app}_{model}_process_import"), confirm.initial, follow=True)
    return preview, result


def test_the_province_opens_accounts_in_bulk_and_each_gets_one_set_password_mail(
        users, mail_server, django_capture_on_commit_callbacks):
    client = client_for(users["province_admin"])
    data = sheet([
        ["xt_nangong2", "南宫市发展改革局（二）", "ng2@example.org", "0319-1234567", "130581", "县级填报员"],
        ["sjz_city2", "石家庄市发展改革委（二）", "sjz2@example.org", "", "石家庄市", "市级调度员"],
        [users["county_editor"].username, "正定县发展改革局（新名）", users["county_editor"].email, "", "130123", "县级填报员"],
    ], USER_HEADER)
    with django_capture_on_commit_callbacks(execute=True):
        preview, result = import_file(client, "user", data)
    shown = preview.content.decode()
    assert "xt_nangong2" in shown and "县级填报员" in shown and "市级调度员" in shown  # the preview shows each role
    assert result.status_code == 200
    opened = User.objects.get(username="xt_nangong2")
    assert (opened.region.code, opened.role.value, opened.is_staff, opened.has_usable_password()) == (
        "130581", "county_editor", True, False)
    assert User.objects.get(username="sjz_city2").region.name == "石家庄市"
    users["county_editor"].refresh_from_db()
    assert users["county_editor"].first_name == "正定县发展改革局（新名）"
    assert users["county_editor"].has_usable_password()  # an existing account keeps its password
    # One mail to each new account, with a link that sets the password and lets them log in.
    assert sorted(m["To"] for m in mail_server.messages) == ["ng2@example.org", "sjz2@example.org"]
    mail = next(m for m in mail_server.messages if m["To"] == "ng2@example.org")
    text = mail.get_body(("plain",)).get_content()
    assert "xt_nangong2" in text and "设置密码" in text
    link = re.search(r"https?://\S+/accounts/reset/\S+/", text)[0]
    anonymous = client_for(users["province_admin"])
    anonymous.logout()
    form_page = anonymous.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]), follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    answer = anonymous.post(set_url, {"new_password1": "Hebei-2026-项目", "new_password2": "Hebei-2026-项目"})
    assert answer.status_code == 302
    opened.refresh_from_db()
    assert opened.check_password("Hebei-2026-项目")
    # The same list again changes nothing, writes nothing and mails nobody.
    from django.contrib.admin.models import LogEntry

    logged, stamps = LogEntry.objects.count(), sorted(User.objects.values_list("username", "first_name", "email", "password"))
    with django_capture_on_commit_callbacks(execute=True):
        preview, _result = import_file(client, "user", data)
    assert {row.import_type for row in preview.context["result"].rows} == {"skip"}
    assert LogEntry.objects.count() == logged
    assert sorted(User.objects.values_list("username", "first_name", "email", "password")) == stamps
    assert len(mail_server.messages) == 2


def test_a_bad_account_row_is_named_and_nothing_is_written(users):
    client = client_for(users["province_admin"])
    before = User.objects.count()
    data = sheet([
        ["ok_user", "某单位", "ok@example.org", "", "130123", "县级填报员"],
        ["bad_user", "某单位", "bad@example.org", "", "不存在县", "县级填报员"],
        ["bad_role", "某单位", "", "", "130123", "局长"],
    ], USER_HEADER)
    preview, result = import_file(client, "user", data)
    page = preview.content.decode()
    assert result is None  # no confirm button
    assert "未知的区划“不存在县”" in page and "未知的角色“局长”" in page
    # Named by their rows in the sheet (the header is row 1), empty cells shown empty.
    assert [row.number for row in preview.context["result"].invalid_rows] == [3, 4]
    assert ">None<" not in page.replace(" ", "")
    assert User.objects.count() == before


def test_a_division_name_several_cities_share_asks_for_its_code(users):
    client = client_for(users["province_admin"])
    data = sheet([["qx_user", "桥西区发展改革局", "qx@example.org", "", "桥西区", "县级填报员"],
                  ["zd_user2", "正定县发展改革局（二）", "zd2@example.org", "", "正定", "县级填报员"]], USER_HEADER)
    preview, result = import_file(client, "user", data)
    assert "请填写区划代码" in preview.content.decode() and result is None  # 桥西区: 石家庄 and 张家口 both have one
    data = sheet([["zd_user2", "正定县发展改革局（二）", "zd2@example.org", "", "正定", "县级填报员"]], USER_HEADER)
    import_file(client, "user", data)
    assert User.objects.get(username="zd_user2").region.code == "130123"  # a short form, as lists write it


@pytest.mark.parametrize("role, may_import, may_export", [
    ("province_admin", True, True), ("city_coordinator", False, True), ("county_editor", False, True), ("leader", False, True),
])
def test_catalogue_import_follows_the_models_permissions(users, role, may_import, may_export):
    client = client_for(users[role])
    changelist = client.get(reverse("admin:projects_batch_changelist")).content.decode()
    assert ("/admin/projects/batch/import/" in changelist) is may_import
    assert ("/admin/projects/batch/export/" in changelist) is may_export
    response = client.post(reverse("admin:projects_batch_import"), {})
    assert (response.status_code == 403) is not may_import


def test_catalogue_export_then_import_is_unchanged_and_a_new_row_is_created(users):
    client = client_for(users["province_admin"])
    exported = client.post(reverse("admin:projects_batch_export"), {"format": format_index("xlsx"), "resource": "0",
                                                                      **{f"batchresource_{f}": "on" for f in ("code", "name", "name_en", "order")}})
    assert exported.status_code == 200, exported.content[:500]
    book = load_workbook(io.BytesIO(exported.content))
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert rows[0] == ["代码", "名称", "英文名称", "排序"] and len(rows) == Batch.objects.count() + 1
    rows.append(["trial", "=试点批次", "Trial", 9])
    buffer = io.BytesIO()
    out = Workbook()
    for row in rows:
        out.active.append(row if row[1] != "=试点批次" else [row[0], "'=试点批次", row[2], row[3]])
    out.save(buffer)
    before = Batch.objects.count()
    preview, result = import_file(client, "batch", buffer.getvalue())
    assert result.status_code == 200
    assert Batch.objects.count() == before + 1 and Batch.objects.get(code="trial").name == "=试点批次"


def test_csv_in_gb18030_and_a_cluster_named_by_county(users):
    client = client_for(users["province_admin"])
    text = "名称,所属县（市、区）,所属产业,简介\n正定测试集群,正定县,,\n"
    preview, result = import_file(client, "cluster", text.encode("gb18030"), "c.csv", "csv")
    assert result is not None and result.status_code == 200, preview.content.decode()[:2000]
    from projects.models import Cluster

    assert Cluster.objects.get(name="正定测试集群").county == Region.objects.get(code="130123")


def test_an_export_holds_only_the_users_region(users):
    from projects.models import Cluster

    Cluster.objects.create(name="正定测试集群", county=Region.objects.get(code="130123"))
    Cluster.objects.create(name="南宫测试集群", county=Region.objects.get(code="130581"))
    data = {"format": format_index("csv"), "resource": "0", **{f"clusterresource_{f}": "on" for f in ("name", "county", "industry", "description")}}
    text = client_for(users["county_editor"]).post(reverse("admin:projects_cluster_export"), data).content.decode("utf-8-sig")
    assert "正定测试集群" in text and "南宫测试集群" not in text  # another county's row is not exported
    text = client_for(users["province_admin"]).post(reverse("admin:projects_cluster_export"), data).content.decode("utf-8-sig")
    assert "正定测试集群" in text and "南宫测试集群" in text


def test_an_install_without_tablibs_xls_writer_still_reads_xls(users, monkeypatch):
    """requirements.txt has xlrd but not xlwt, so tablib registers no xls format in production."""
    from tablib.formats import registry

    from .test_import_files import xls

    monkeypatch.delitem(registry._formats, "xls", raising=False)
    client = client_for(users["province_admin"])
    assert client.get(reverse("admin:projects_user_import")).status_code == 200
    data = xls([["xls_user", "某单位", "x@example.org", "", "130123", "县级填报员"]], header=USER_HEADER, title=None)
    preview, result = import_file(client, "user", data, "u.xls", "xls")
    assert result is not None and User.objects.get(username="xls_user").region.code == "130123"


def workbook_of(response):
    return [list(row) for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]


def rewrite(rows):
    out = Workbook()
    for row in rows:
        out.active.append(row)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def test_a_citys_thresholds_are_imported_and_a_new_division_is_refused(users, projects):
    from projects.domain import rules
    from projects.shared import lights

    client = client_for(users["province_admin"])
    exported = client.post(reverse("admin:projects_region_export"), {
        "format": format_index("xlsx"), "resource": "0",
        **{f"regionresource_{f}": "on" for f in ("code", "name", "level", "yellow_lag", "red_lag")}})
    rows = workbook_of(exported)
    assert rows[0] == ["区划代码", "名称", "级别", "黄灯阈值（百分点）", "红灯阈值（百分点）"]
    shijiazhuang = next(row for row in rows if row[0] == "130100")
    shijiazhuang[3], shijiazhuang[4] = 1, 2  # 石家庄 tightens its own thresholds
    preview, result = import_file(client, "region", rewrite(rows))
    assert result.status_code == 200
    city = Region.objects.get(code="130100")
    assert (city.yellow_lag, city.red_lag) == (1, 2)
    assert lights.stored_lights_fresh(rules.today())  # its projects' lights were judged again on save
    # A code the official list does not have: refused, named by row, nothing written.
    preview, result = import_file(client, "region", rewrite([rows[0], ["139999", "某新区", "", 5, 9]]))
    assert result is None and "区划代码“139999”不存在" in preview.content.decode()
    assert not Region.objects.filter(code="139999").exists()
    # A city sees and exports its own divisions only, and imports nothing.
    city_client = client_for(users["city_coordinator"])
    assert "/admin/projects/region/import/" not in city_client.get(reverse("admin:projects_region_changelist")).content.decode()
    codes = [row[0] for row in workbook_of(city_client.post(reverse("admin:projects_region_export"), {
        "format": format_index("xlsx"), "resource": "0", "regionresource_code": "on"}))[1:]]
    assert "130100" in codes and "130500" not in codes and "130581" not in codes


def test_the_action_tables_round_trip_and_take_new_rows(users):
    from actions.models import Measure, Target

    client = client_for(users["province_admin"])
    fields = ("plan", "action", "number", "title", "title_en", "text")
    rows = workbook_of(client.post(reverse("admin:actions_measure_export"), {
        "format": format_index("xlsx"), "resource": "0", **{f"measureresource_{f}": "on" for f in fields}}))
    assert rows[0] == ["行动方案", "专项行动", "序号", "举措", "英文", "内容"] and len(rows) == Measure.objects.count() + 1
    preview, result = import_file(client, "measure", rewrite(rows), model_app="actions")
    assert {row.import_type for row in preview.context["result"].rows} == {"skip"}  # unchanged: nothing written
    header = ["行动方案", "专项行动", "指标", "目标值", "单位", "目标年份"]
    preview, result = import_file(client, "target", rewrite([header, ["", "1", "规上工业增加值增速", "6.5", "%", "2025"]]),
                                  model_app="actions")
    assert result.status_code == 200
    target = Target.objects.get(indicator="规上工业增加值增速")
    assert (target.action.number, target.action.plan.is_primary, str(target.value)) == (1, True, "6.50")
    preview, result = import_file(client, "target", rewrite([header, ["", "99", "某指标", "1", "%", "2025"]]), model_app="actions")
    assert result is None and "未知的专项行动“99”" in preview.content.decode()


def test_plans_and_problems_export_only_the_users_region_and_import_nowhere(users, projects):
    from projects.models import AnnualPlan, Problem

    Problem.objects.create(project=projects["zhengding"], description="用地指标未落实", status="open")
    Problem.objects.create(project=projects["nangong"], description="环评未批复", status="open")
    data = {"format": format_index("xlsx"), "resource": "0"}
    plan_fields = {f"annualplanresource_{f}": "on" for f in ("project_code", "project_name", "county", "year", "planned_investment")}
    problem_fields = {f"problemresource_{f}": "on" for f in ("project_name", "county", "description", "status")}
    county = client_for(users["county_editor"])  # 正定县: may add and change plans on the project page
    changelist = county.get(reverse("admin:projects_annualplan_changelist")).content.decode()
    assert "/admin/projects/annualplan/export/" in changelist and "/admin/projects/annualplan/import/" not in changelist
    rows = workbook_of(county.post(reverse("admin:projects_annualplan_export"), {**data, **plan_fields}))
    assert rows[0] == ["项目代码", "项目名称", "所属县（市、区）", "年度", "年度计划投资（万元）"]
    assert {row[2] for row in rows[1:]} == {"正定县"} and len(rows) - 1 == AnnualPlan.objects.filter(project__county__code="130123").count()
    rows = workbook_of(county.post(reverse("admin:projects_problem_export"), {**data, **problem_fields}))
    assert rows[1:] == [[projects["zhengding"].name, "正定县", "用地指标未落实", "待协调"]]  # the status by its label
    province = workbook_of(client_for(users["province_admin"]).post(reverse("admin:projects_problem_export"), {**data, **problem_fields}))
    assert {row[2] for row in province[1:]} == {"用地指标未落实", "环评未批复"}


def test_an_upload_lost_from_the_cache_before_confirming_asks_for_it_again(users):
    """Redis emptied or away between preview and confirm: a clear message, nothing imported, never a 500."""
    from django.core.cache import cache

    client = client_for(users["province_admin"])
    data = sheet([["lost", "丢失批次", "Lost", 9]], ["代码", "名称", "英文名称", "排序"])
    url = reverse("admin:projects_batch_import")
    preview = client.post(url, {"import_file": SimpleUploadedFile("b.xlsx", data), "format": format_index("xlsx"), "resource": "0"})
    confirm = preview.context["confirm_form"]
    cache.clear()
    result = client.post(reverse("admin:projects_batch_process_import"), confirm.initial, follow=True)
    assert result.status_code == 200 and "请重新上传" in result.content.decode()
    assert not Batch.objects.filter(code="lost").exists()
