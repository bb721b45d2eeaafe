"""The security audit trail (issue 22, “controls of a level-3 system”): logins, failed logins and lockouts,
logouts, password and role changes, API token issue and revocation, every export (who, what filter, how many
rows) and every import confirm are kept as data — actor, time, address, event code, target, parameters —
worded in the reader's language; only the province sees and exports them (the export audited too); they are
kept AUDIT_RETENTION_DAYS and pruned by a daily beat task and `manage.py prune_audit`."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from projects.accounts.services import user_set_role
from projects.audit.messages import describe
from projects.domain.choices import Role
from projects.models import ApiToken, AuditEvent, User
from projects.reference.data import reference_data_load

from .test_access import client_for
from .test_import import row, workbook


def format_index(extension):
    """The position of a format in the admin's export form (the export formats, as the form lists them)."""
    from projects.admin.transfer import ExportRights

    return str([fmt().get_extension() for fmt in ExportRights.export_formats].index(extension))


ADDRESS = "10.22.0.7"
Code = AuditEvent.Code


def events(code):
    return list(AuditEvent.objects.filter(code=code).order_by("at", "pk"))


def only(code):
    found = events(code)
    assert len(found) == 1, [(event.code, event.params) for event in AuditEvent.objects.all()]
    return found[0]


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ADDRESS)


# --- Each event, with its actor, address and parameters ------------------------------------------------


def test_a_login_a_failed_login_and_a_logout_are_recorded_with_the_address(users):
    user = users["county_editor"]
    client = Client()
    assert login(client, "zd", "wrong-password-123").status_code == 200
    failed = only(Code.LOGIN_FAILED)
    assert failed.actor is None and failed.username == "zd" and failed.ip_address == ADDRESS
    assert failed.params == {"username": "zd"}

    assert login(client, "zd", "correct-horse-battery-staple").status_code == 302
    logged_in = only(Code.LOGIN)
    assert logged_in.actor == user and logged_in.username == "zd" and logged_in.ip_address == ADDRESS

    client.post(reverse("logout"), REMOTE_ADDR=ADDRESS)
    logged_out = only(Code.LOGOUT)
    assert logged_out.actor == user and logged_out.ip_address == ADDRESS


def test_a_lockout_is_recorded_once_with_the_username_and_address(users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _attempt in range(3):
        login(client, "zd", "wrong-password-123")
    assert login(client, "zd", "correct-horse-battery-staple").status_code == 429
    locked = events(Code.LOCKED_OUT)
    assert locked and locked[0].username == "zd" and locked[0].ip_address == ADDRESS
    assert locked[0].params["username"] == "zd"
    assert len(events(Code.LOGIN_FAILED)) >= 3 and not events(Code.LOGIN)


def test_a_password_changed_by_its_owner_and_by_an_administrator(users):
    user = users["county_editor"]
    client = client_for(user)
    response = client.post(reverse("password_change"), {
        "old_password": "correct-horse-battery-staple",
        "new_password1": "a-brand-new-passphrase-2026", "new_password2": "a-brand-new-passphrase-2026",
    }, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302
    changed = only(Code.PASSWORD_CHANGED)
    assert (changed.actor, changed.target_id, changed.ip_address) == (user, str(user.pk), ADDRESS)
    assert changed.params["user"] == "zd"

    province = client_for(users["province_admin"])
    new = "set-by-the-province-2026"
    response = province.post(f"/admin/projects/user/{user.pk}/password/",
                             {"password1": new, "password2": new, "usable_password": "true"}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302, response.content[:500]
    by_admin = events(Code.PASSWORD_CHANGED)[-1]
    assert by_admin.actor == users["province_admin"] and by_admin.target_id == str(user.pk)
    # A login (which only touches last_login) is not a password change.
    login(Client(), "zd", new)
    assert len(events(Code.PASSWORD_CHANGED)) == 2


def test_a_role_change_is_one_event_with_the_old_and_the_new_role(users):
    user = users["county_editor"]
    AuditEvent.objects.all().delete()
    user_set_role(user=user, role=Role.CITY_COORDINATOR)  # removes the old group, adds the new one
    changed = only(Code.ROLE_CHANGED)
    assert changed.target_id == str(user.pk)
    assert changed.params == {"user": "zd", "before": Role.COUNTY_EDITOR.value, "after": Role.CITY_COORDINATOR.value}
    # The admin's form sets the groups in one go (a remove and an add): still one event.
    fresh = User.objects.get(pk=user.pk)
    from django.contrib.auth.models import Group

    fresh.groups.set([Group.objects.get(name="领导（只读）")])
    assert len(events(Code.ROLE_CHANGED)) == 2
    assert events(Code.ROLE_CHANGED)[-1].params["after"] == Role.LEADER.value
    user_set_role(user=User.objects.get(pk=user.pk), role=Role.LEADER)  # no change, no event
    assert len(events(Code.ROLE_CHANGED)) == 2


def test_a_token_issued_and_revoked_in_the_admin(users):
    province = client_for(users["province_admin"])
    target = users["county_editor"]
    response = province.post(reverse("admin:projects_apitoken_add"), {
        "user": target.pk, "name": "县级系统", "read_only": "on", "valid_days": "30",
    }, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302, response.content[:800]
    token = ApiToken.objects.get(user=target)
    issued = only(Code.TOKEN_ISSUED)
    assert (issued.actor, issued.ip_address, issued.target_id) == (users["province_admin"], ADDRESS, str(target.pk))
    assert issued.params["name"] == "县级系统" and issued.params["read_only"] is True
    assert token.digest not in str(issued.params) and token.token_key not in str(issued.params)

    response = province.post(reverse("admin:projects_apitoken_delete", args=[token.pk]), {"post": "yes"}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302
    revoked = only(Code.TOKEN_REVOKED)
    assert (revoked.actor, revoked.ip_address, revoked.params["name"]) == (users["province_admin"], ADDRESS, "县级系统")


def test_a_token_past_its_expiry_is_recorded_as_expired_not_revoked(users):
    _token, key = ApiToken.objects.create(user=users["county_editor"], expiry=datetime.timedelta(days=-1), name="过期的")
    issued = only(Code.TOKEN_ISSUED)
    assert issued.actor is None and issued.params["name"] == "过期的"  # issued outside a request: no actor
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/projects/", REMOTE_ADDR=ADDRESS).status_code == 401
    expired = only(Code.TOKEN_EXPIRED)
    assert expired.actor is None and expired.target_id == str(users["county_editor"].pk)
    assert not events(Code.TOKEN_REVOKED)


def test_the_project_list_export_records_who_what_filter_and_how_many_rows(users, projects):
    client = client_for(users["city_coordinator"])
    county = projects["zhengding"].county_id
    response = client.get(reverse("project_export"), {"format": "csv", "county": county}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    exported = only(Code.EXPORT)
    assert (exported.actor, exported.ip_address) == (users["city_coordinator"], ADDRESS)
    assert exported.params["table"] == "projects.project" and exported.params["format"] == "csv"
    assert exported.params["filters"] == {"county": [str(county)]}
    assert exported.params["rows"] == 1
    client.get(reverse("project_export"), {"format": "json"}, REMOTE_ADDR=ADDRESS)
    assert events(Code.EXPORT)[-1].params["rows"] == 2 and events(Code.EXPORT)[-1].params["filters"] == {}


def test_an_admin_table_export_is_recorded_with_its_rows(users):
    from projects.models import Batch

    client = client_for(users["province_admin"])
    data = {"format": format_index("csv"), "resource": "0", **{f"batchresource_{f}": "on" for f in ("code", "name")}}
    response = client.post(reverse("admin:projects_batch_export") + "?q=", data, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    exported = only(Code.EXPORT)
    assert exported.actor == users["province_admin"] and exported.ip_address == ADDRESS
    assert exported.params["table"] == "projects.batch" and exported.params["rows"] == Batch.objects.count()


def test_an_import_confirm_is_recorded_with_its_file_and_counts(users, projects):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from projects.models import ImportBatch

    client = client_for(users["city_coordinator"])
    data = workbook([row("1", "正定县新能源装备项目", "石家庄市", "正定县", total="2000")])
    client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("list.xlsx", data)})
    assert not events(Code.IMPORT_CONFIRMED)  # a preview is not a confirm
    batch = ImportBatch.objects.get()
    client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]), REMOTE_ADDR=ADDRESS)
    confirmed = only(Code.IMPORT_CONFIRMED)
    assert (confirmed.actor, confirmed.ip_address) == (users["city_coordinator"], ADDRESS)
    assert confirmed.params["file"] == "list.xlsx" and confirmed.params["table"] == "projects.project"
    assert confirmed.params["counts"]["created"] == 1


def test_a_table_import_confirm_is_recorded(users):
    from openpyxl import Workbook

    from .test_table_transfer import import_file

    book = Workbook()
    book.active.append(["代码", "名称", "英文名称", "排序"])
    book.active.append(["audit-trial", "审计试点批次", "Audit trial", 9])
    buffer = io.BytesIO()
    book.save(buffer)
    _preview, result = import_file(client_for(users["province_admin"]), "batch", buffer.getvalue())
    assert result is not None and result.status_code == 200
    confirmed = only(Code.IMPORT_CONFIRMED)
    assert confirmed.actor == users["province_admin"] and confirmed.params["table"] == "projects.batch"
    assert confirmed.params["counts"]["created"] == 1


# --- Who sees it: the province only ---------------------------------------------------------------------


AUDIT_LIST = "/admin/projects/auditevent/"


@pytest.mark.parametrize("role, status", [
    ("province_admin", 200), ("leader", 403), ("city_coordinator", 403), ("county_editor", 403), ("other_county_editor", 403),
])
def test_only_the_province_sees_the_audit_trail(users, role, status):
    login(Client(), "zd", "wrong-password-123")
    client = client_for(users[role])
    assert client.get(AUDIT_LIST).status_code == status
    assert client.post(AUDIT_LIST + "export/", {"format": format_index("csv"), "resource": "0"}).status_code == status
    index = client.get("/admin/").content.decode()
    assert (AUDIT_LIST in index) is (status == 200)
    event = AuditEvent.objects.first()
    assert client.get(f"{AUDIT_LIST}{event.pk}/change/").status_code in ((200,) if status == 200 else (403, 302))


def test_the_province_cannot_change_or_delete_an_event(users):
    login(Client(), "zd", "wrong-password-123")
    event = AuditEvent.objects.get(code=Code.LOGIN_FAILED)
    client = client_for(users["province_admin"])
    assert client.get(AUDIT_LIST + "add/").status_code == 403
    assert client.post(f"{AUDIT_LIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"{AUDIT_LIST}{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_filters_by_event_user_and_date(users):
    from projects.audit.filtersets import AuditEventFilterSet

    login(Client(), "zd", "wrong-password-123")
    login(Client(), "zd", "correct-horse-battery-staple")
    login(Client(), "sjz", "correct-horse-battery-staple")
    old = AuditEvent.objects.create(code=Code.LOGIN, actor=users["leader"], username="boss", ip_address=ADDRESS,
                                    at=timezone.now() - datetime.timedelta(days=40))
    client = client_for(users["province_admin"])

    def shown(**params):
        response = client.get(AUDIT_LIST, params)
        assert response.status_code == 200
        return {event.pk for event in response.context["cl"].result_list}

    failed = {event.pk for event in events(Code.LOGIN_FAILED)}
    assert shown(code=Code.LOGIN_FAILED) == failed
    logins_of_zd = {event.pk for event in events(Code.LOGIN) if event.actor == users["county_editor"]}
    assert shown(code=Code.LOGIN, actor=users["county_editor"].pk) == logins_of_zd
    assert old.pk not in shown(period="7") and old.pk in shown(period="180")
    # The FilterSet behind them, by the same names, also takes a date range.
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    filterset = AuditEventFilterSet({"code": Code.LOGIN, "date_from": since}, queryset=AuditEvent.objects.all())
    assert filterset.is_valid(), filterset.errors
    assert old.pk not in {event.pk for event in filterset.qs}
    assert {"zd", "sjz"} <= {event.username for event in filterset.qs}
    filterset = AuditEventFilterSet({"username": "zd"}, queryset=AuditEvent.objects.all())
    assert {event.username for event in filterset.qs} == {"zd"}


def test_the_export_of_the_filtered_trail_is_itself_recorded(users):
    login(Client(), "zd", "wrong-password-123")
    login(Client(), "zd", "correct-horse-battery-staple")
    client = client_for(users["province_admin"])
    fields = {f"auditeventresource_{name}": "on" for name in ("at", "code", "message", "actor", "username", "ip_address",
                                                              "target", "params")}
    response = client.post(f"{AUDIT_LIST}export/?code={Code.LOGIN_FAILED}", {"format": format_index("csv"), "resource": "0",
                                                                           **fields}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "登录失败" in text and "用户名“zd”登录失败" in text and ADDRESS in text
    assert len([line for line in text.strip().splitlines()[1:] if line]) == 1  # only the filtered row
    exported = events(Code.EXPORT)[-1]
    assert exported.actor == users["province_admin"] and exported.params["table"] == "projects.auditevent"
    assert exported.params["rows"] == 1 and exported.params["filters"] == {"code": [Code.LOGIN_FAILED.value]}


def test_events_read_in_the_readers_language(users):
    login(Client(), "zd", "wrong-password-123")
    user_set_role(user=users["county_editor"], role=Role.CITY_COORDINATOR)
    for event in AuditEvent.objects.all():
        with translation.override("zh-hans"):
            chinese = describe(event)
        with translation.override("en"):
            english = describe(event)
        assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
        assert not re.search(r"[\u4e00-\u9fff]", english.replace("zd", "")), english
    client = client_for(users["province_admin"])
    client.cookies["django_language"] = "en"
    page = client.get(AUDIT_LIST).content.decode()
    assert "Failed login" in page and "City coordinator" in page


# --- Retention ------------------------------------------------------------------------------------------


def test_pruning_removes_only_events_older_than_the_retention(db, settings):
    from projects.audit.services import audit_prune

    settings.AUDIT_RETENTION_DAYS = 180
    now = timezone.now()
    keep = AuditEvent.objects.create(code=Code.LOGIN, username="a", at=now - datetime.timedelta(days=179))
    drop = AuditEvent.objects.create(code=Code.LOGIN, username="b", at=now - datetime.timedelta(days=181))
    assert audit_prune(now=now) == 1
    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {keep.pk}
    assert not AuditEvent.objects.filter(pk=drop.pk).exists()

    settings.AUDIT_RETENTION_DAYS = 30
    out = io.StringIO()
    call_command("prune_audit", stdout=out)
    assert not AuditEvent.objects.filter(pk=keep.pk).exists()
    assert "1" in out.getvalue()


def test_the_default_retention_is_six_months():
    from django.conf import settings

    assert settings.AUDIT_RETENTION_DAYS >= 180


def test_load_reference_data_creates_the_daily_prune_schedule(db):
    from django_celery_beat.models import PeriodicTask

    from hebei_projects.celery import app

    reference_data_load()
    task = PeriodicTask.objects.get(task="projects.audit.tasks.prune_audit")
    assert task.enabled and task.crontab.hour not in ("*", "") and task.crontab.minute not in ("*", "")
    app.loader.import_default_modules()
    assert "projects.audit.tasks.prune_audit" in app.tasks


def test_the_beat_task_prunes(db, settings):
    from projects.audit.tasks import prune_audit

    AuditEvent.objects.create(code=Code.LOGIN, username="b", at=timezone.now() - datetime.timedelta(days=400))
    prune_audit.delay()
    assert not AuditEvent.objects.exists()
