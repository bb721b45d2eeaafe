"""Importing through the admin: upload, preview, confirm; the template; export from the changelist."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from projects.models import ImportBatch, Project

from .test_access import client_for
from .test_import import HEADER, row, snapshot, workbook


def upload(client, data, name="list.xlsx", url="admin:projects_project_import", **extra):
    """Upload and follow to the batch's page (the preview)."""
    return client.post(reverse(url), {"file": SimpleUploadedFile(name, data), **extra}, follow=True)


def test_preview_then_confirm_applies_exactly_the_previewed_file(users, projects):
    client = client_for(users["city_coordinator"])
    data = workbook([
        row("1", "正定县新能源装备项目", "石家庄市", "正定县", total="2000"),
        row("2", projects["qiaoxi"].name, "石家庄市", "桥西区", total="12000"),  # was 10000
    ])
    before = snapshot()
    response = upload(client, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["batch"].result["counts"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert "10,000 → 12,000" in page and "确认导入" in page
    assert snapshot() == before  # a preview writes nothing
    batch = ImportBatch.objects.get()
    response = client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("admin:projects_project_changelist")
    assert Project.objects.get(name="正定县新能源装备项目").county.code == "130123"
    projects["qiaoxi"].refresh_from_db()
    assert projects["qiaoxi"].total_investment == Decimal("12000")
    assert projects["qiaoxi"].history.latest().history_user == users["city_coordinator"]
    batch.refresh_from_db()
    assert batch.status == "applied"
    # A batch is applied once; confirming again says so on the batch's page (no bare 404 for its owner).
    again = client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]), follow=True)
    assert again.status_code == 200 and "该文件已经导入" in again.content.decode()
    assert Project.objects.filter(name="正定县新能源装备项目").count() == 1


def test_errors_are_shown_by_row_and_column_with_markup_escaped(users, projects):
    client = client_for(users["county_editor"])
    data = workbook([
        row("1", "<script>alert(1)</script>项目", "石家庄市", "正定县", total="-1"),
        row("2", "南宫项目", "邢台市", "南宫市"),
    ])
    response = upload(client, data)
    page = response.content.decode()
    assert "确认导入" not in page
    errors = [(e["row"], e["column"]) for e in response.context["batch"].result["errors"]]
    assert (4, "总投资（万元）") in errors
    assert "<script>alert(1)</script>" not in page


def test_a_change_between_preview_and_confirm_applies_nothing(users, projects):
    client = client_for(users["city_coordinator"])
    upload(client, workbook([row("1", projects["qiaoxi"].name, "石家庄市", "桥西区", total="12000")]))
    Project.objects.filter(pk=projects["qiaoxi"].pk).update(name="桥西区数据中心（改名）")  # someone else, meanwhile
    batch = ImportBatch.objects.get()
    before = snapshot()
    response = client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]), follow=True)
    assert "导入失败" in response.content.decode() and "导入完成" not in response.content.decode()
    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == "failed"


def test_leaders_cannot_import_and_others_cannot_confirm_someone_elses_batch(users, projects):
    assert client_for(users["leader"]).get(reverse("admin:projects_project_import")).status_code == 403
    upload(client_for(users["city_coordinator"]), workbook([row("1", "某项目", "石家庄市", "正定县")]))
    batch = ImportBatch.objects.get()
    other = client_for(users["province_admin"])
    assert other.post(reverse("admin:projects_project_import_confirm", args=[batch.pk])).status_code == 404


def test_file_errors_are_shown_on_the_upload_form(users):
    response = upload(client_for(users["province_admin"]), b"not a workbook at all")
    assert "不是有效的 xlsx" in response.content.decode()


def test_the_template_has_the_header_units_note_and_drop_downs(users):
    response = client_for(users["county_editor"]).get(reverse("admin:projects_project_import_template"))
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["项目清单"]
    assert "单位：万元" in sheet["A2"].value
    assert [cell.value for cell in sheet[3]][:4] == ["序号", "项目代码", "项目名称", "项目类别"]
    validated = {str(validation.sqref) for validation in sheet.data_validations.dataValidation}
    assert len(validated) == 4  # stage, programmes, five batches, actions
    assert "续建" in [cell.value for cell in book["选项"]["A"]]


def test_changelist_export_carries_the_filters(users, projects):
    client = client_for(users["province_admin"])
    county = projects["nangong"].county_id
    response = client.get(reverse("admin:projects_project_changelist"), {"county": county})
    link = response.context["export_links"]["csv"]
    assert f"county={county}" in link
    export = client.get(link)
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "南宫市羊绒深加工项目" in text and "正定" not in text


def test_progress_import_in_the_admin_with_a_prefilled_template(users, projects):
    from openpyxl import load_workbook as load

    from projects.models import MonthlyReport

    client = client_for(users["county_editor"])
    response = client.get(reverse("admin:projects_monthlyreport_import_template"), {"month": "2026-10"})
    book = load(io.BytesIO(response.content))
    sheet = book.active
    names = [row[2] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert names == [projects["zhengding"].name]  # only their own projects
    sheet["E4"] = 42
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, buffer.getvalue(), "p.xlsx", url="admin:projects_monthlyreport_import", month="2026-10")
    assert response.context["batch"].result["counts"]["created"] == 1
    batch = ImportBatch.objects.get(kind="progress")
    client.post(reverse("admin:projects_monthlyreport_import_confirm", args=[batch.pk]))
    assert MonthlyReport.objects.get(project=projects["zhengding"], month="2026-10-01").completed_investment == 42
    assert client_for(users["leader"]).get(reverse("admin:projects_monthlyreport_import")).status_code == 403


def test_large_files_are_checked_and_applied_in_the_background(users, projects, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_BACKGROUND_ROWS = 3  # a "large" file for this test
    client = client_for(users["city_coordinator"])
    rows = [row(str(i), f"正定批量项目{i}", "石家庄市", "正定县") for i in range(1, 5)]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("big.xlsx", workbook(rows))})
    batch = ImportBatch.objects.get()
    assert batch.status == "checking" and len(queued) == 1
    page = client.get(response["Location"]).content.decode()
    assert "<progress" in page and 'http-equiv="refresh"' in page
    queued[0]()  # the worker runs the check (eager here)
    page = client.get(response["Location"]).content.decode()
    assert "确认导入" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.progress) == ("applied", 100)
    assert Project.objects.filter(name__startswith="正定批量项目").count() == 4
    assert "已导入" in client.get(response["Location"]).content.decode()
    # A redelivered task does not apply it again.
    from projects.tasks import run_import_batch

    assert run_import_batch(batch.pk, True) == "already done"


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "empty.xlsx", "空"),
        (b"just,some,words\n1,2,3\n", "nohead.csv", "没有找到表头行"),
        ("序号,项目名称,项目单位\n1,无市项目,某公司\n".encode("gb18030"), "nocity.csv", "缺少必需的列"),
        (b"%PDF-1.4", "scan.pdf", "只接受 xlsx、xls 或 csv"),
    ],
)
def test_odd_files_through_the_admin(users, data, name, message):
    response = upload(client_for(users["province_admin"]), data, name)
    assert message in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_skip_rules_through_the_admin(users):
    rows = [
        ["一、重大产业项目（2项）"] + [None] * 15,
        row("1", "正定某项目", "石家庄市", "正定县"),
        [None] * 16,
        ["小计", "", "", "", "", "", "", "", "", "", "", "", "", "", "1000", "300"],
    ]
    response = upload(client_for(users["province_admin"]), workbook(rows))
    result = response.context["batch"].result
    assert (result["counts"]["created"], result["skipped"], result["errors"]) == (1, 3, [])


# --- Background imports under faults ----------------------------------------------------------------------


def streamed_workbook(rows):
    """A list as programs write them: openpyxl's write-only mode, as our own export does (no size tag)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("清单")
    for line in [["河北省2023年省重点建设项目计划表"], ["单位：万元"], HEADER] + rows:
        sheet.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bulk_rows(count, prefix="正定批量项目"):
    return [row(str(i), f"{prefix}{i}", "石家庄市", "正定县") for i in range(1, count + 1)]


def test_rows_are_counted_in_the_file_not_from_its_size_tag():
    from projects.importing import count_rows

    assert count_rows(streamed_workbook(bulk_rows(250)), "list.xlsx") == 253
    assert count_rows(workbook(bulk_rows(250)), "list.xlsx") == 253
    assert count_rows(b"not a zip", "list.xlsx") == 0


def test_a_streamed_workbook_above_the_threshold_goes_to_the_worker(users, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_BACKGROUND_ROWS = 20
    client = client_for(users["city_coordinator"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("gen.xlsx", streamed_workbook(bulk_rows(30)))})
    assert len(queued) == 1 and ImportBatch.objects.get().status == "checking"  # today: checked inside the request


def previewed_in_background(client, django_capture_on_commit_callbacks, rows):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("big.xlsx", workbook(rows))})
    batch = ImportBatch.objects.get()
    assert batch.status == "previewed"
    return batch


def test_an_import_whose_worker_died_is_shown_interrupted_and_reconfirm_applies_it_once(
    users, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 3
    client = client_for(users["city_coordinator"])
    batch = previewed_in_background(client, django_capture_on_commit_callbacks, bulk_rows(5))
    confirm = reverse("admin:projects_project_import_confirm", args=[batch.pk])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(confirm)
    assert len(queued) == 1  # the task went to Redis ... and the whole worker was killed before it finished
    ImportBatch.objects.filter(pk=batch.pk).update(claim_token="dead-task", progress=40)
    page = client.get(confirm).content.decode()
    assert "<progress" in page and "中断" not in page  # within the heartbeat time it is still running
    settings.IMPORT_HEARTBEAT_STALE_SECONDS = 0
    page = client.get(confirm).content.decode()
    assert "后台导入已中断" in page and "重新确认导入" in page and 'http-equiv="refresh"' not in page
    assert not Project.objects.filter(name__startswith="正定批量项目").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm)  # today: a bare 404
    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.result_summary) == ("applied", "created 5, updated 0, unchanged 0, skipped 0, errors 0")
    assert Project.objects.filter(name__startswith="正定批量项目").count() == 5
    # The lost task, redelivered an hour later by Redis, finds it done.
    from projects.tasks import run_import_batch

    assert run_import_batch.apply(args=[batch.pk, True], task_id="dead-task").get() == "already done"
    assert Project.objects.filter(name__startswith="正定批量项目").count() == 5


def test_a_redelivered_import_task_resumes_its_own_run_and_no_other(users, settings, django_capture_on_commit_callbacks):
    from projects.tasks import run_import_batch

    settings.IMPORT_BACKGROUND_ROWS = 3
    client = client_for(users["city_coordinator"])
    batch = previewed_in_background(client, django_capture_on_commit_callbacks, bulk_rows(4))
    # The worker process applying it was killed: its transaction rolled back, its claim stays behind.
    ImportBatch.objects.filter(pk=batch.pk).update(status="applying", claim_token="task-1", heartbeat_at=timezone.now())
    assert run_import_batch.apply(args=[batch.pk, True], task_id="task-2").get() == "held by another run"
    assert run_import_batch.apply(args=[batch.pk, True], task_id="task-1").get().startswith("created 4")
    batch.refresh_from_db()
    assert batch.status == "applied" and Project.objects.filter(name__startswith="正定批量项目").count() == 4


def test_two_confirms_apply_once(users, projects):
    client = client_for(users["city_coordinator"])
    upload(client, workbook([row("1", "正定县新能源装备项目", "石家庄市", "正定县")]))
    batch = ImportBatch.objects.get()
    confirm = reverse("admin:projects_project_import_confirm", args=[batch.pk])
    client.post(confirm)
    second = client.post(confirm, follow=True)
    assert "该文件已经导入" in second.content.decode()
    assert Project.objects.filter(name="正定县新能源装备项目").count() == 1
    assert Project.history.filter(name="正定县新能源装备项目").count() == 1


def test_operators_see_and_restart_stalled_batches(users, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_BACKGROUND_ROWS = 3
    coordinator = client_for(users["city_coordinator"])
    batch = previewed_in_background(coordinator, django_capture_on_commit_callbacks, bulk_rows(4))
    ImportBatch.objects.filter(pk=batch.pk).update(status="applying", claim_token="dead", heartbeat_at=timezone.now())
    settings.IMPORT_HEARTBEAT_STALE_SECONDS = 0
    changelist = reverse("admin:projects_importbatch_changelist")
    admin_client = client_for(users["province_admin"])
    listed = admin_client.get(changelist, {"attention": "stalled"})
    assert list(listed.context["cl"].result_list) == [batch]
    # Someone else's batch is not listed for a county editor.
    assert list(client_for(users["county_editor"]).get(changelist).context["cl"].result_list) == []
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(changelist, {"action": "restart", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.status == "applied" and Project.objects.filter(name__startswith="正定批量项目").count() == 4


def test_recover_command_queues_again_what_was_lost(users, projects, settings, mail_server, django_capture_on_commit_callbacks):
    from projects.models import DeliveryStatus, DigestDelivery, DigestSubscription

    from .test_digests import claim_as_dead_attempt, record

    delivery = record(DigestSubscription.objects.create(user=users["county_editor"], frequency="weekly"))
    claim_as_dead_attempt(delivery, lease_seconds=-1)
    out = io.StringIO()
    call_command("recover_background_work", "--dry-run", stdout=out)
    assert "would queue again: mail" in out.getvalue() and not mail_server.messages
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recover_background_work", stdout=out)
    assert "queued again 1 mail(s) and 0 import(s)" in out.getvalue()
    assert DigestDelivery.objects.get().status == DeliveryStatus.SENT and len(mail_server.messages) == 1
