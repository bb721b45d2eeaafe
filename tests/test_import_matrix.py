"""Who may import and export which table, through the admin as people use it: province, city, county and
leader, each on their own region and another's. A county's list naming another county's project — by
code, by name, or by moving its own project there — writes nothing."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from projects.models import ImportBatch, MonthlyReport, Project

from .test_access import client_for
from .test_import import row, snapshot, workbook
from .test_import_admin import upload

ROLES = ["province_admin", "leader", "city_coordinator", "county_editor"]
# Every admin list with an import: the library's (catalogues, accounts, actions) and the batch imports
# (the provincial list, the monthly progress workbook).
IMPORTS = {
    "projects.project": ("projects.add_project",),
    "projects.monthlyreport": ("projects.add_monthlyreport",),
    "projects.user": ("projects.add_user", "projects.change_user"),
    "projects.region": ("projects.add_region", "projects.change_region"),
    "projects.industry": ("projects.add_industry", "projects.change_industry"),
    "projects.cluster": ("projects.add_cluster", "projects.change_cluster"),
    "projects.programme": ("projects.add_programme", "projects.change_programme"),
    "projects.batch": ("projects.add_batch", "projects.change_batch"),
    "actions.actionplan": ("actions.add_actionplan", "actions.change_actionplan"),
    "actions.action": ("actions.add_action", "actions.change_action"),
    "actions.measure": ("actions.add_measure", "actions.change_measure"),
    "actions.target": ("actions.add_target", "actions.change_target"),
}
EXPORT_ONLY = ["projects.annualplan", "projects.problem"]


def admin_url(label, view):
    app, model = label.split(".")
    return reverse(f"admin:{app}_{model}_{view}")


@pytest.mark.parametrize("role", ROLES)
def test_an_import_is_offered_and_answered_exactly_where_the_role_may_add_and_change(users, role):
    user = users[role]
    client = client_for(user)
    for label, permissions in IMPORTS.items():
        allowed = all(user.has_perm(permission) for permission in permissions)
        status = client.get(admin_url(label, "import")).status_code
        assert status == (200 if allowed else 403), (role, label, status)
        changelist = client.get(admin_url(label, "changelist"))
        if changelist.status_code == 200:
            assert (admin_url(label, "import") in changelist.content.decode()) == allowed, (role, label)
    if role == "leader":  # a view-only leader never sees an import
        assert not any(all(user.has_perm(p) for p in permissions) for permissions in IMPORTS.values())
    if role == "province_admin":
        assert all(all(user.has_perm(p) for p in permissions) for permissions in IMPORTS.values())
    for label in EXPORT_ONLY:
        page = client.get(admin_url(label, "changelist")).content.decode()
        assert "/import/" not in page and admin_url(label, "export") in page


# What each role's export of the project list holds (the fixture's three projects).
EXPORTED = {
    "province_admin": {"zhengding", "qiaoxi", "nangong"},
    "leader": {"zhengding", "qiaoxi", "nangong"},
    "city_coordinator": {"zhengding", "qiaoxi"},
    "county_editor": {"zhengding"},
}


@pytest.mark.parametrize("role", ROLES)
def test_every_export_holds_exactly_the_users_region(users, projects, role):
    client = client_for(users[role])
    response = client.get(reverse("admin:projects_project_changelist"))
    export = client.get(response.context["export_links"]["xlsx"])
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)), read_only=True)
    names = {line[2] for line in book.active.iter_rows(min_row=4, values_only=True)}
    assert names == {projects[key].name for key in EXPORTED[role]}
    # The monthly reports, as the admin's export (the library's) writes them.
    data = {"format": "0", "resource": "0", "monthlyreportresource_project_name": "on", "monthlyreportresource_month": "on"}
    reports = client.post(admin_url("projects.monthlyreport", "export"), data)
    rows = list(load_workbook(io.BytesIO(reports.content), read_only=True).active.iter_rows(min_row=2, values_only=True))
    visible = {projects[key].name for key in EXPORTED[role]}
    assert {line[0] for line in rows} == visible
    assert len(rows) == MonthlyReport.objects.filter(project__name__in=visible).count()


def confirm(client, response):
    batch = ImportBatch.objects.latest("pk")
    if response.context and response.context["batch"].result.get("errors"):
        return batch, False
    client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    return batch, batch.status == "applied"


@pytest.mark.parametrize("how", ["by code", "by name", "by moving its own project"])
def test_a_countys_list_naming_another_countys_project_writes_nothing(users, projects, how):
    nangong, zhengding = projects["nangong"], projects["zhengding"]
    nangong.code = "2023-130581-26-03-00002B"
    nangong.save()
    rows = {
        "by code": [row("1", "改名的项目", "邢台市", "南宫市", code=nangong.code)],
        "by name": [row("1", nangong.name, "邢台市", "南宫市", total="999")],
        "by moving its own project": [row("1", zhengding.name, "邢台市", "南宫市", code=zhengding.code)],
    }[how]
    own = row("2", "正定县本县新项目", "石家庄市", "正定县")
    client = client_for(users["county_editor"])
    before = snapshot()
    response = upload(client, workbook([own, *rows]))
    errors = response.context["batch"].result["errors"]
    assert [error["row"] for error in errors] == [5], errors  # the other county's row, by its sheet row
    assert "确认导入" not in response.content.decode()
    batch, applied = confirm(client, response)
    assert not applied and snapshot() == before
    # 南宫's own editor and the province may write these rows; 石家庄's coordinator may not (南宫 is 邢台's).
    may = {"other_county_editor": how != "by moving its own project", "province_admin": True, "city_coordinator": False}
    for editor, allowed in may.items():
        errors = upload(client_for(users[editor]), workbook(rows)).context["batch"].result["errors"]
        assert (errors == []) == allowed, (editor, errors)


def test_a_county_progress_workbook_naming_another_countys_project_writes_nothing(users, projects):
    book_rows = [["2026年10月重点项目月度调度表"], ["单位：万元"],
                 ["序号", "项目代码", "项目名称", "所属县（市、区）", "本月完成投资（万元）"],
                 [1, "", projects["zhengding"].name, "正定县", 10],
                 [2, "", projects["nangong"].name, "南宫市", 10]]
    from openpyxl import Workbook

    book = Workbook()
    for line in book_rows:
        book.active.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    before = MonthlyReport.objects.count(), sorted(MonthlyReport.objects.values_list("pk", "completed_investment"))
    client = client_for(users["county_editor"])
    response = upload(client, buffer.getvalue(), "p.xlsx", url="admin:projects_monthlyreport_import", month="2026-10")
    errors = response.context["batch"].result["errors"]
    assert [(e["row"], e["message"]) for e in errors] == [(5, "找不到该项目，或不在您的管辖区域内")]
    batch = ImportBatch.objects.get(kind="progress")
    client.post(reverse("admin:projects_monthlyreport_import_confirm", args=[batch.pk]))
    assert (MonthlyReport.objects.count(), sorted(MonthlyReport.objects.values_list("pk", "completed_investment"))) == before
    assert not Project.objects.filter(name=projects["nangong"].name, reports__month="2026-10-01").exists()
