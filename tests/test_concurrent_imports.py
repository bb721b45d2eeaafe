"""Two imports, one list (issue 20, point 6): imports of overlapping lists at the same moment give what one
after the other gives, or one is refused with nothing written; an import never writes over a change made
after its preview; the admin, the report page and the imports never deadlock.

The real-concurrency tests run on PostgreSQL only (threads, each with its own connection, started at the
same instant by a barrier); SQLite runs every transaction alone. They run in transactions of their own
(`transaction=True`), on a database flushed after each: the reference data is loaded at their start.
"""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import translation

from projects.domain import rules
from projects.domain.choices import Role
from projects.importing import import_projects
from projects.models import ImportBatch, MonthlyReport, Project
from projects.reference.data import reference_data_load

from . import concurrency
from .conftest import NANGONG, QIAOXI_SJZ, SHIJIAZHUANG, ZHENGDING, make_project, make_user
from .test_access import change_form_data, client_for
from .test_import import HEADER, row, snapshot, workbook

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="real concurrency needs PostgreSQL (SQLite runs one transaction at a time)")

CONFIRM = "admin:projects_project_import_confirm"


def names(first, last, prefix="正定并发项目"):
    return [f"{prefix}{number:04d}" for number in range(first, last)]


def county_list(project_names, county="正定县", city="石家庄市", total="1000"):
    return workbook([row(str(seq), name, city, county, total=total) for seq, name in enumerate(project_names, start=1)])


def at_once(*jobs, timeout=180):
    """("ok", value) or ("error", exception) per job, in order (concurrency.at_once)."""
    return [("error", answer) if isinstance(answer, BaseException) else ("ok", answer)
            for answer in concurrency.at_once(list(jobs), timeout=timeout)]




def duplicates():
    counted = Counter(Project.objects.values_list("name", "county_id", "city_id"))
    return {key: count for key, count in counted.items() if count > 1}


def test_a_change_in_the_admin_after_the_preview_refuses_the_confirm(users, projects):
    """Preview as one user, save one of the list's projects in the admin as another (联系人), confirm the
    preview: refused naming the project, the admin's value kept, nothing from the file written."""
    project = projects["qiaoxi"]
    Project.objects.filter(pk=project.pk).update(contact="张三")
    header = [*HEADER, "联系人"]
    data = workbook([[*row("1", project.name, "石家庄市", "桥西区", total="12000"), "张三"],  # was 10000
                     [*row("2", "桥西区新建项目", "石家庄市", "桥西区"), "王五"]], header=header)
    importer = client_for(users["city_coordinator"])
    importer.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    batch = ImportBatch.objects.get()
    assert batch.status == "previewed" and batch.result["counts"] == {"created": 1, "updated": 1, "unchanged": 0}

    project.refresh_from_db()
    editor = client_for(users["province_admin"])
    saved = editor.post(reverse("admin:projects_project_change", args=[project.pk]),
                        change_form_data(project, contact="李四"))
    assert saved.status_code == 302
    before = snapshot()

    response = importer.post(reverse(CONFIRM, args=[batch.pk]), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "导入失败" in page and "导入完成" not in page
    assert "已被他人修改" in page and project.name in page
    batch.refresh_from_db()
    assert batch.status == "failed" and project.name in batch.error
    project.refresh_from_db()
    assert (project.contact, project.total_investment) == ("李四", Decimal("10000"))
    assert not Project.objects.filter(name="桥西区新建项目").exists()
    assert snapshot() == before


def test_the_refusal_is_translated(users, projects):
    project = projects["qiaoxi"]
    importer = client_for(users["city_coordinator"])
    data = workbook([row("1", project.name, "石家庄市", "桥西区", total="12000")])
    importer.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    batch = ImportBatch.objects.get()
    Project.objects.filter(pk=project.pk).update(owner="另一单位", version=project.version + 1)  # someone else
    importer.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = importer.post(reverse(CONFIRM, args=[batch.pk]), follow=True)
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert "by someone else after the preview" in batch.error and project.name in batch.error
    assert "by someone else after the preview" in response.content.decode()
    project.refresh_from_db()
    assert project.total_investment == Decimal("10000")
    with translation.override("zh-hans"):  # the same refusal in Chinese, the default
        assert "已被他人修改" in translation.gettext(
            "预览之后，%(projects)s已被他人修改，本次未导入任何内容。请重新上传文件预览后再确认导入。")


def test_an_unchanged_project_edited_after_the_preview_does_not_stop_the_import(users, projects):
    """Only the projects the import writes are compared: a list that leaves a project as it is imports even
    if that project was edited meanwhile."""
    importer = client_for(users["city_coordinator"])
    qiaoxi = projects["qiaoxi"]
    data = workbook([row("1", "正定县另一新项目", "石家庄市", "正定县")])
    importer.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    batch = ImportBatch.objects.get()
    Project.objects.filter(pk=qiaoxi.pk).update(version=qiaoxi.version + 1)
    response = importer.post(reverse(CONFIRM, args=[batch.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("admin:projects_project_changelist")
    batch.refresh_from_db()
    assert batch.status == "applied" and Project.objects.filter(name="正定县另一新项目").count() == 1


def test_an_admin_form_opened_before_an_import_is_refused_after_it(users, projects):
    """The import's writes move each written project's version: a form opened before is stale."""
    project = projects["qiaoxi"]
    form = change_form_data(project, contact="李四")
    result = import_projects(workbook([row("1", project.name, "石家庄市", "桥西区", total="12000")]), "list.xlsx",
                             user=None)
    assert result.summary.startswith("created 0, updated 1")
    project.refresh_from_db()
    assert project.version == form["version"] + 1
    response = client_for(users["province_admin"]).post(reverse("admin:projects_project_change", args=[project.pk]), form)
    assert response.status_code == 200 and "已被他人修改" in response.content.decode()
    project.refresh_from_db()
    assert (project.contact, project.total_investment) == ("", Decimal("12000"))


# --- Real concurrency (PostgreSQL) ----------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_lists_imported_at_once_give_what_one_after_the_other_gives():
    reference_data_load()  # the flush of an earlier transactional test emptied it
    first, second = county_list(names(0, 600)), county_list(names(300, 900))
    outcomes = at_once(lambda: import_projects(first, "a.xlsx", user=None),
                       lambda: import_projects(second, "b.xlsx", user=None))
    assert [kind for kind, _value in outcomes] == ["ok", "ok"], outcomes
    summaries = sorted(result.summary for _kind, result in outcomes)
    # One after the other: 600 created, then 300 created and 300 unchanged — in either order.
    assert summaries in (
        ["created 300, updated 0, unchanged 300, skipped 0, errors 0", "created 600, updated 0, unchanged 0, skipped 0, errors 0"],
    ), summaries
    assert Project.objects.count() == 900
    assert duplicates() == {}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_lists_of_different_counties_import_at_once():
    """Imports of different places do not wait for each other's place, and both apply."""
    reference_data_load()
    first = county_list(names(0, 300))
    second = county_list(names(0, 300, prefix="南宫并发项目"), county="南宫市", city="邢台市")
    outcomes = at_once(lambda: import_projects(first, "a.xlsx", user=None),
                       lambda: import_projects(second, "b.xlsx", user=None))
    assert [kind for kind, _value in outcomes] == ["ok", "ok"], outcomes
    assert Project.objects.filter(county__code=ZHENGDING).count() == 300
    assert Project.objects.filter(county__code=NANGONG).count() == 300
    assert duplicates() == {}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_previewed_overlapping_lists_confirmed_at_once_apply_one_and_refuse_the_other():
    """Both previews say 600 new; confirmed at the same instant, one applies and the other is refused with
    a message naming the projects that appeared since its preview — never a 500, a deadlock or a duplicate."""
    reference_data_load()
    alice = make_user("zd-a", Role.COUNTY_EDITOR, ZHENGDING)
    bob = make_user("sjz-b", Role.CITY_COORDINATOR, SHIJIAZHUANG)
    clients = {}
    for user, data in ((alice, county_list(names(0, 600))), (bob, county_list(names(300, 900)))):
        client = clients[user.username] = client_for(user)
        client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    batches = {batch.user.username: batch for batch in ImportBatch.objects.select_related("user")}
    assert all(batch.result["counts"]["created"] == 600 for batch in batches.values())

    def confirm(username):
        return lambda: clients[username].post(reverse(CONFIRM, args=[batches[username].pk])).status_code

    outcomes = at_once(confirm("zd-a"), confirm("sjz-b"))
    assert outcomes == [("ok", 302), ("ok", 302)], outcomes
    statuses = {username: ImportBatch.objects.get(pk=batch.pk) for username, batch in batches.items()}
    assert sorted(batch.status for batch in statuses.values()) == ["applied", "failed"]
    loser = next(batch for batch in statuses.values() if batch.status == "failed")
    assert "已被他人修改" in loser.error and "正定并发项目0300" in loser.error, loser.error
    assert Project.objects.count() == 600
    assert duplicates() == {}
    # The loser's page says why, and nothing of its file was written.
    page = clients[loser.user.username].get(reverse(CONFIRM, args=[loser.pk])).content.decode()
    assert "正定并发项目0300" in page


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_import_and_admin_saves_of_its_projects_at_once_never_both_win():
    """The admin saves one project of the list from a form opened before the import while the import is
    confirmed: one of the two is refused, the other applies — never a lost update, a deadlock or a 500."""
    reference_data_load()
    editor = make_user("prov-e", Role.PROVINCE_ADMIN, "130000")
    importer = make_user("sjz-i", Role.CITY_COORDINATOR, SHIJIAZHUANG)
    made = [make_project(name, QIAOXI_SJZ, contact="张三") for name in names(0, 200, prefix="桥西并发项目")]
    header = [*HEADER, "联系人"]
    data = workbook([[*row(str(seq), project.name, "石家庄市", "桥西区", total="12000"), "张三"]
                     for seq, project in enumerate(reversed(made), start=1)], header=header)
    importing, editing = client_for(importer), client_for(editor)
    importing.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    batch = ImportBatch.objects.get()
    assert batch.result["counts"]["updated"] == 200
    target = made[100]
    form = change_form_data(target, contact="李四")

    outcomes = at_once(
        lambda: importing.post(reverse(CONFIRM, args=[batch.pk])).status_code,
        lambda: editing.post(reverse("admin:projects_project_change", args=[target.pk]), form).status_code,
    )
    assert [kind for kind, _value in outcomes] == ["ok", "ok"], outcomes
    batch.refresh_from_db()
    target.refresh_from_db()
    admin_saved = outcomes[1][1] == 302
    import_applied = batch.status == "applied"
    assert admin_saved != import_applied, (batch.status, batch.error, outcomes)
    if import_applied:
        assert (target.contact, target.total_investment) == ("张三", Decimal("12000"))
        assert Project.objects.filter(total_investment=Decimal("12000")).count() == 200
    else:
        assert target.name in batch.error
        assert (target.contact, target.total_investment) == ("李四", Decimal("10000"))
        assert not Project.objects.filter(total_investment=Decimal("12000")).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_import_and_the_report_page_on_the_same_projects_do_not_deadlock():
    """An import writing a list in descending id order while the report page saves reports of the same
    projects (the report page locks projects by id ascending): both complete."""
    from projects.dispatch import reports

    reference_data_load()
    user = make_user("sjz-r", Role.CITY_COORDINATOR, SHIJIAZHUANG)
    made = [make_project(name, QIAOXI_SJZ) for name in names(0, 300, prefix="桥西报送项目")]
    data = workbook([row(str(seq), project.name, "石家庄市", "桥西区", total="12000")
                     for seq, project in enumerate(sorted(made, key=lambda p: -p.pk), start=1)])
    month = rules.add_months(rules.month_start(rules.today()), -1)
    entries = [reports.ReportEntry(project=project, month=month, completed_investment=Decimal("10"),
                                     image_progress="施工", expected_version=0) for project in made]

    for round_ in range(3):
        outcomes = at_once(lambda: import_projects(data, "list.xlsx", user=user),
                           lambda: reports.reports_submit(user=user, entries=entries))
        assert [kind for kind, _value in outcomes] == ["ok", "ok"], outcomes
        assert not outcomes[0][1].errors
        data = workbook([row(str(seq), project.name, "石家庄市", "桥西区", total=str(13000 + round_))
                         for seq, project in enumerate(sorted(made, key=lambda p: -p.pk), start=1)])
        entries = [reports.ReportEntry(project=project, month=month, completed_investment=Decimal(11 + round_),
                                         image_progress="施工", expected_version=round_ + 1) for project in made]
    reports = MonthlyReport.objects.filter(project__in=made, month=month)
    assert sorted(set(reports.values_list("completed_investment", flat=True))) == [Decimal("12")]
    assert reports.count() == 300
    assert Project.objects.filter(total_investment=Decimal("13001")).count() == 300
    assert duplicates() == {}


def test_the_batch_keeps_what_its_preview_matched(users, projects):
    """What confirm compares: the version of every project the preview matched, and which it would write."""
    importer = client_for(users["city_coordinator"])
    data = workbook([row("1", projects["qiaoxi"].name, "石家庄市", "桥西区", total="12000"),
                     row("2", "正定县另一新项目", "石家庄市", "正定县")])
    importer.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    batch = ImportBatch.objects.get()
    qiaoxi = projects["qiaoxi"]
    assert batch.result["matched"][str(qiaoxi.pk)] == qiaoxi.version
    assert batch.result["updating"] == [qiaoxi.pk]
    assert list(batch.result["matched"]) == [str(qiaoxi.pk)]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_one_new_code_in_two_places_lists_at_once_makes_one_project():
    """The place locks do not order lists of different places; a project code new in both is written once:
    the second list moves it (as one after the other would) or is refused whole with a clear message."""
    reference_data_load()
    code = "2025-130123-26-03-00077A"
    first = workbook([row("1", "正定县同码项目", "石家庄市", "正定县", code=code)]
                     + [row(str(seq), name, "石家庄市", "正定县") for seq, name in enumerate(names(0, 200), start=2)])
    second = workbook([row("1", "南宫市同码项目", "邢台市", "南宫市", code=code)]
                      + [row(str(seq), name, "邢台市", "南宫市") for seq, name in enumerate(names(0, 200, prefix="南宫并发项目"), start=2)])
    outcomes = at_once(lambda: import_projects(first, "a.xlsx", user=None),
                       lambda: import_projects(second, "b.xlsx", user=None))
    from projects.importing import ImportFileError

    for kind, value in outcomes:
        assert kind == "ok" or isinstance(value, ImportFileError), outcomes
    refused = [value for kind, value in outcomes if kind == "error"]
    assert len(refused) <= 1
    for error in refused:
        assert "其他人正在同时导入或修改本文件中的项目" in str(error)
    assert Project.objects.filter(code=code).count() == 1
    assert Project.objects.count() == 201 + (200 if not refused else 0)
    assert duplicates() == {}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_import_waiting_too_long_for_another_import_of_its_county_is_refused(monkeypatch):
    """While another import holds the county, a list of it waits; past the limit it is refused whole with a
    clear message, never left hanging."""
    from django.db import transaction

    from projects.importing import ImportFileError, place_locks
    from projects.models import Region

    reference_data_load()
    monkeypatch.setattr(place_locks, "PLACE_LOCK_WAIT_SECONDS", 1)
    county = Region.objects.get(code=ZHENGDING)
    held, release = threading.Event(), threading.Event()

    def other_import():
        with transaction.atomic():
            place_locks.places_lock({county.pk})
            held.set()
            release.wait(30)
        return "done"

    def this_import():
        assert held.wait(30)
        try:
            return import_projects(county_list(names(0, 10)), "a.xlsx", user=None)
        finally:
            release.set()

    outcomes = at_once(other_import, this_import)
    assert outcomes[0] == ("ok", "done")
    kind, error = outcomes[1]
    assert kind == "error" and isinstance(error, ImportFileError), outcomes
    assert "另一个导入正在写入同一地区的项目" in str(error)
    assert not Project.objects.exists()
    # Once the other import is done, the same list imports.
    assert import_projects(county_list(names(0, 10)), "a.xlsx", user=None).summary.startswith("created 10")
