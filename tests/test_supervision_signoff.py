"""Issue 27: supervision that closes the loop. Opening notifies the acting level; the acting level requests
closure with 整改情况 and documents, the signing level signs it off (销号) or returns it; levels above urge
(once a working day), escalate by hand and reopen; extensions are asked and decided; every step is on the
timeline and in the history, mails go once each, the inbox lists what awaits the user, the permission
matrix holds by role and region, and a stale form is refused with its input kept."""

from datetime import date as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.domain import rules
from projects.domain.choices import MailKind, Role, SupervisionLevel, SupervisionStatus, SupervisionStepKind
from projects.inbox import reads as inbox
from projects.models import DigestDelivery, SupervisionItem
from projects.supervision import services, signoff

from .concurrency import at_once, on_postgresql  # noqa: F401  (the fixture)
from .conftest import SHIJIAZHUANG, ZHENGDING, make_project, make_user
from .test_access import client_for
from .test_supervision import run_on, stalled

DAY = D(2026, 9, 24)  # a Thursday, a working day
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def evidence_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "evidence")}}}


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(rules, "today", lambda: DAY)
    return DAY


@pytest.fixture
def item(users, monkeypatch, today):
    """An automatic item of a 正定 project, with the county: the city (石家庄) signs it off."""
    stalled("正定县停建项目", contracting_leader=users["leader"])
    run_on(monkeypatch, DAY)
    return SupervisionItem.objects.get()


def url(item):
    return reverse("supervision_item", args=[item.pk])


def post(user, item, action, capture=None, **fields):
    item.refresh_from_db()
    prefix = "decide" if action in ("grant", "refuse") else action
    data = {"action": action, f"{prefix}-version": item.version, **{f"{prefix}-{k}": v for k, v in fields.items()}}
    client = client_for(user)
    if capture is None:
        return client.post(url(item), data)
    with capture(execute=True):
        return client.post(url(item), data)


def kinds(item):
    return [step.kind for step in item.steps.order_by("at", "pk")]


def sent_to(mail_server, start=0):
    return [message["To"] for message in mail_server.messages[start:]]


# --- Opening tells the acting level -------------------------------------------------------------------------


def test_an_item_opened_by_hand_mails_the_acting_level_once_and_is_in_their_inbox(
        users, projects, today, mail_server, django_capture_on_commit_callbacks):
    city = client_for(users["city_coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        assert city.post(reverse("supervision_open", args=[projects["zhengding"].pk]),
                         {"level": SupervisionLevel.COUNTY, "description": "请说明开工滞后原因"}).status_code == 302
    item = SupervisionItem.objects.get()
    assert item.issuer_level == SupervisionLevel.CITY and signoff.signer_level(item) == SupervisionLevel.CITY
    assert sent_to(mail_server) == ["zd@example.org"]
    text = mail_server.messages[0].get_body(("plain",)).get_content()
    assert "请说明开工滞后原因" in text and url(item) in text
    assert DigestDelivery.objects.filter(kind=MailKind.SUPERVISION_NOTICE).count() == 1
    lines = [line for line in inbox.inbox_items(users["county_editor"]) if line.kind == "supervision"]
    assert lines and lines[0].count == 1


def test_an_item_opened_by_hand_is_in_the_acting_levels_menu_count_at_once(users, projects, today):
    before = inbox.inbox_count(users["county_editor"])  # the menu's number, now cached
    assert client_for(users["city_coordinator"]).post(reverse("supervision_open", args=[projects["zhengding"].pk]), {
        "level": SupervisionLevel.COUNTY, "description": "请说明开工滞后原因"}).status_code == 302
    assert inbox.inbox_count(users["county_editor"]) == before + 1


def test_the_daily_run_mails_what_it_opened_once_a_day(users, monkeypatch, mail_server, django_capture_on_commit_callbacks):
    stalled("正定县停建项目")
    stalled("正定县停建项目二")
    outcome = run_on(monkeypatch, DAY, django_capture_on_commit_callbacks)
    assert outcome.opened == 2 and sent_to(mail_server) == ["zd@example.org"]
    assert "新的督办事项：2 项" in mail_server.messages[0]["Subject"] or "2" in mail_server.messages[0]["Subject"]
    run_on(monkeypatch, DAY, django_capture_on_commit_callbacks)
    assert len(mail_server.messages) == 1


# --- Closure requested, signed off, returned --------------------------------------------------------------


def test_closure_is_requested_with_documents_and_signed_off_by_the_city(
        users, item, mail_server, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    page = client_for(users["county_editor"]).get(url(item)).content.decode()
    assert "申请办结" in page and "销号" in page
    upload = SimpleUploadedFile("整改报告.pdf", PDF, "application/pdf")
    response = post(users["county_editor"], item, "request", capture, text="已复工，补齐手续", files=upload)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == SupervisionStatus.SIGNOFF and item.is_unfinished
    step = item.steps.get(kind=SupervisionStepKind.CLOSURE_REQUESTED)
    [attachment] = step.attachments.all()
    assert attachment.document.original_name == "整改报告.pdf" and attachment.document.project_id == item.project_id
    assert sent_to(mail_server) == ["sjz@example.org"]
    # The file is served by evidence's access-checked view: the county sees it, another county does not.
    document = reverse("evidence_document", args=[attachment.document.pk])
    assert client_for(users["county_editor"]).get(document).status_code == 200
    assert client_for(users["other_county_editor"]).get(document).status_code == 404
    # Awaiting sign-off: in the city's inbox and counts; the county can neither sign off nor request again.
    lines = [line for line in inbox.inbox_items(users["city_coordinator"]) if line.kind == "supervision"]
    assert any("待销号" in line.title for line in lines)
    assert signoff.awaiting_counts(SupervisionItem.objects.all()) == {"signoff": 1, "extension": 0}
    assert post(users["county_editor"], item, "signoff").status_code == 403
    assert post(users["province_admin"], item, "signoff").status_code == 403  # the city signs off a county's item
    city_page = client_for(users["city_coordinator"]).get(url(item)).content.decode()
    assert "整改报告.pdf" in city_page and "同意销号" in city_page
    assert post(users["city_coordinator"], item, "signoff", capture, text="同意").status_code == 302
    item.refresh_from_db()
    assert (item.status, item.result, item.closed_on) == (SupervisionStatus.CLOSED, "已复工，补齐手续", DAY)
    assert sent_to(mail_server, 1) == ["zd@example.org"]
    assert kinds(item) == [SupervisionStepKind.OPENED, SupervisionStepKind.CLOSURE_REQUESTED, SupervisionStepKind.SIGNED_OFF]
    assert item.history.count() == 3 and item.history.latest().history_user == users["city_coordinator"]
    page = client_for(users["county_editor"]).get(url(item)).content.decode()
    assert "申请办结" in page and "销号" in page and "整改报告.pdf" in page


def test_a_return_sends_the_item_back_with_its_reason(users, item, mail_server, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    post(users["county_editor"], item, "request", capture, text="已整改")
    assert post(users["city_coordinator"], item, "return", capture, reason="").status_code == 400
    assert post(users["city_coordinator"], item, "return", capture, reason="材料不全，请补充验收报告").status_code == 302
    item.refresh_from_db()
    assert item.status == SupervisionStatus.OPEN
    assert item.steps.get(kind=SupervisionStepKind.RETURNED).text == "材料不全，请补充验收报告"
    assert sent_to(mail_server) == ["sjz@example.org", "zd@example.org"]
    assert "材料不全" in mail_server.messages[1].get_body(("plain",)).get_content()


def test_the_old_close_button_now_requests_sign_off(users, item):
    assert client_for(users["county_editor"]).post(url(item), {"close": "1", "result": "已复工"}).status_code == 302
    item.refresh_from_db()
    assert item.status == SupervisionStatus.SIGNOFF


def test_an_automatic_item_awaiting_sign_off_still_closes_itself_when_its_cause_is_gone(users, item, monkeypatch):
    from projects.domain.choices import Status
    from projects.models import Project

    post(users["county_editor"], item, "request", text="已复工")
    Project.objects.filter(pk=item.project_id).update(status=Status.NORMAL)
    run_on(monkeypatch, D(2026, 9, 25))
    item.refresh_from_db()
    assert item.status == SupervisionStatus.CLOSED and kinds(item)[-1] == SupervisionStepKind.CLOSED


# --- Urge, escalate, reopen -----------------------------------------------------------------------------------


def test_urging_mails_the_acting_level_at_most_once_a_working_day(
        users, item, monkeypatch, mail_server, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    assert post(users["county_editor"], item, "urge", capture).status_code == 403  # not above itself
    assert post(users["leader"], item, "urge", capture).status_code == 403  # a leader is read-only
    assert post(users["city_coordinator"], item, "urge", capture, text="请本周内复工").status_code == 302
    assert sent_to(mail_server) == ["zd@example.org"]
    again = post(users["province_admin"], item, "urge", capture, text="省里再催")
    assert again.status_code == 409 and "今天已催办" in again.content.decode() and "省里再催" in again.content.decode()
    assert len(mail_server.messages) == 1
    monkeypatch.setattr(rules, "today", lambda: D(2026, 9, 26))  # Saturday: counts as Monday the 28th (no 调休)
    assert post(users["province_admin"], item, "urge", capture).status_code == 302
    monkeypatch.setattr(rules, "today", lambda: D(2026, 9, 28))
    assert post(users["province_admin"], item, "urge", capture).status_code == 409
    assert [step.level for step in item.steps.filter(kind=SupervisionStepKind.URGED)] == [
        SupervisionLevel.CITY, SupervisionLevel.PROVINCE]
    assert len(mail_server.messages) == 2


def test_escalating_by_hand_and_reopening(users, item, mail_server, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    assert post(users["city_coordinator"], item, "escalate", capture).status_code == 302
    item.refresh_from_db()
    assert item.level == SupervisionLevel.CITY and item.escalated_on == DAY
    assert sent_to(mail_server) == []  # the city escalated to itself: nobody else to tell
    assert post(users["province_admin"], item, "escalate", capture).status_code == 302
    item.refresh_from_db()
    assert item.level == SupervisionLevel.PROVINCE and sent_to(mail_server) == []
    # At the province the province acts and signs off; a leader above may not escalate or sign.
    post(users["province_admin"], item, "request", capture, text="已协调解决")
    assert post(users["province_admin"], item, "signoff", capture).status_code == 302
    item.refresh_from_db()
    assert item.status == SupervisionStatus.CLOSED
    assert post(users["county_editor"], item, "reopen", capture, reason="又停工了").status_code == 403
    assert post(users["province_admin"], item, "reopen", capture, reason="又停工了").status_code == 302
    item.refresh_from_db()
    assert (item.status, item.closed_on, item.result) == (SupervisionStatus.OPEN, None, "")
    assert kinds(item)[-1] == SupervisionStepKind.REOPENED
    assert SupervisionStepKind.ESCALATED_BY_HAND in kinds(item)


# --- Extensions -------------------------------------------------------------------------------------------------


def test_an_extension_is_asked_for_a_later_working_day_and_granted_or_refused(
        users, item, mail_server, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    due = item.due_on  # 2026-10-09
    refused = post(users["county_editor"], item, "extend", capture, due_on="2026-10-11", reason="等审批")  # a Sunday
    assert refused.status_code == 400 and "工作日" in refused.content.decode() and "等审批" in refused.content.decode()
    assert post(users["county_editor"], item, "extend", capture, due_on=due.isoformat(), reason="x").status_code == 400
    # 2026-10-10 is a Saturday worked (调休): a working day.
    assert post(users["county_editor"], item, "extend", capture, due_on="2026-10-10", reason="等审批").status_code == 302
    item.refresh_from_db()
    assert item.extension_due_on == D(2026, 10, 10)
    assert post(users["city_coordinator"], item, "refuse", capture, text="时限不变").status_code == 302
    item.refresh_from_db()
    assert item.due_on == due and item.extension_due_on is None
    assert post(users["county_editor"], item, "extend", capture, due_on="2026-10-20", reason="等环评批复").status_code == 302
    item.refresh_from_db()
    assert item.extension_due_on == D(2026, 10, 20)
    assert signoff.awaiting_counts(SupervisionItem.objects.all()) == {"signoff": 0, "extension": 1}
    lines = [line for line in inbox.inbox_items(users["city_coordinator"]) if line.kind == "supervision"]
    assert any("延期" in line.title for line in lines)
    assert post(users["county_editor"], item, "grant", capture).status_code == 403
    assert post(users["city_coordinator"], item, "grant", capture).status_code == 302
    item.refresh_from_db()
    assert (item.due_on, item.extension_due_on) == (D(2026, 10, 20), None)
    assert SupervisionStepKind.EXTENSION_GRANTED in kinds(item)
    assert "sjz@example.org" in sent_to(mail_server) and sent_to(mail_server)[-1] == "zd@example.org"


# --- The permission matrix -----------------------------------------------------------------------------------

# A 正定 automatic item with the county. Expected status of each action's POST by role:
# 302 done, 403 may not, 404 another region, 409 the item is not in the state the action starts from.
MATRIX = {
    #                     request extend signoff return urge escalate reopen
    "county_editor":       (302,   302,   403,    403,   403,  403,     403),
    "city_coordinator":    (403,   403,   409,    409,   302,  302,     409),
    "province_admin":      (403,   403,   403,    403,   302,  302,     409),
    "leader":              (403,   403,   403,    403,   403,  403,     403),
    "other_county_editor": (404,   404,   404,    404,   404,  404,     404),
}
ACTIONS = ("request", "extend", "signoff", "return", "urge", "escalate", "reopen")
FIELDS = {"request": {"text": "已整改"}, "extend": {"due_on": "2026-10-20", "reason": "等批复"},
          "return": {"reason": "不全"}, "reopen": {"reason": "复发"}}


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("index, action", list(enumerate(ACTIONS)))
def test_the_permission_matrix(users, item, role, index, action):
    assert post(users[role], item, action, **FIELDS.get(action, {})).status_code == MATRIX[role][index]


# --- Two at once -------------------------------------------------------------------------------------------


def test_sign_off_and_return_at_once_the_second_is_refused_with_its_input_kept(users, item):
    post(users["county_editor"], item, "request", text="已整改")
    item.refresh_from_db()
    read_at = item.version
    city = client_for(users["city_coordinator"])
    assert city.post(url(item), {"action": "signoff", "signoff-version": read_at, "signoff-text": "同意"}).status_code == 302
    late = city.post(url(item), {"action": "return", "return-version": read_at, "return-reason": "请补充验收材料"})
    assert late.status_code == 409
    page = late.content.decode()
    assert "刚被他人处理" in page and "请补充验收材料" in page
    item.refresh_from_db()
    assert item.status == SupervisionStatus.CLOSED and SupervisionStepKind.RETURNED not in kinds(item)


# --- The 督办 page and the API ----------------------------------------------------------------------------------


def test_the_supervision_page_counts_what_awaits_sign_off_and_extension(users, item):
    post(users["county_editor"], item, "request", text="已整改")
    page = client_for(users["city_coordinator"]).get(reverse("supervision"))
    assert page.context["awaiting"] == {"signoff": 1, "extension": 0}
    assert "待销号" in page.content.decode()
    other = client_for(users["other_county_editor"]).get(reverse("supervision"))
    assert other.context["awaiting"] == {"signoff": 0, "extension": 0}


def test_the_api_shows_the_new_states_and_steps(users, item):
    from django.test import Client

    from .test_api import API, issue_token

    post(users["county_editor"], item, "request", text="已整改")
    county = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    found = county.get(f"{API}supervision-items/{item.pk}/").json()
    assert (found["status"], found["status_display"]) == ("signoff", "待销号")
    assert [step["kind"] for step in found["steps"]] == ["opened", "requested"]
    assert found["signer_level"] == "city" and found["extension_due_on"] is None


def test_a_manual_item_the_province_issued_is_signed_off_by_the_province(users, today):
    project = make_project("正定县省督项目", ZHENGDING)
    made = services.item_open(user=users["province_admin"], project=project, description="省督", level=SupervisionLevel.COUNTY)
    assert signoff.signer_level(made) == SupervisionLevel.PROVINCE
    post(users["county_editor"], made, "request", text="已整改")
    assert post(users["city_coordinator"], made, "signoff").status_code == 403
    assert post(users["province_admin"], made, "signoff").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_sign_off_and_return_at_the_same_moment_one_wins(on_postgresql, monkeypatch):
    """Two connections at once (PostgreSQL's row lock): one transition wins, the other is refused (409)."""
    monkeypatch.setattr(rules, "today", lambda: DAY)
    county = make_user("zd", Role.COUNTY_EDITOR, ZHENGDING)
    cities = [make_user(f"sjz{index}", Role.CITY_COORDINATOR, SHIJIAZHUANG) for index in range(2)]
    for round_ in range(3):
        project = stalled(f"正定县同时销号项目{round_}")
        made = services.item_open(user=cities[0], project=project, description="请整改", level=SupervisionLevel.COUNTY)
        signoff.item_request_closure(user=county, item=made, text="已整改")
        made.refresh_from_db()
        version = made.version
        clients = [client_for(city) for city in cities]
        answers = at_once([
            lambda: clients[0].post(url(made), {"action": "signoff", "signoff-version": version, "signoff-text": "同意"}),
            lambda: clients[1].post(url(made), {"action": "return", "return-version": version, "return-reason": "不全"}),
        ])
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [302, 409], statuses
        made.refresh_from_db()
        assert made.version == version + 1


def test_the_dashboard_and_the_digest_count_what_awaits_sign_off_and_extension_with_links_to_exactly_them(users, item):
    """The city's dashboard and digest say how many items await its sign-off and how many ask for more time;
    each dashboard figure links to the 督办 page filtered to exactly those items."""
    import datetime
    import re as _re

    from projects.mail import digests
    from projects.models import DigestSubscription

    city = client_for(users["city_coordinator"])
    dashboard = city.get(reverse("dashboard"))
    assert dashboard.context["supervision"]["signoff"] == 0
    post(users["county_editor"], item, "request", text="已整改")
    dashboard = city.get(reverse("dashboard"))
    assert (dashboard.context["supervision"]["signoff"], dashboard.context["supervision"]["extension"]) == (1, 0)
    html = dashboard.content.decode()
    href = _re.search(r'href="([^"]+)"[^>]*>● 待销号', html)[1].replace("&amp;", "&")
    assert [row.pk for row in city.get(href).context["page"]] == [item.pk]
    post(users["city_coordinator"], item, "return", reason="整改材料不全")
    assert post(users["county_editor"], item, "extend", reason="需要更多时间", due_on="2026-10-10").status_code == 302
    dashboard = city.get(reverse("dashboard"))
    assert (dashboard.context["supervision"]["signoff"], dashboard.context["supervision"]["extension"]) == (0, 1)
    href = _re.search(r'href="([^"]+)"[^>]*>● 延期申请待审批', dashboard.content.decode())[1].replace("&amp;", "&")
    assert [row.pk for row in city.get(href).context["page"]] == [item.pk]
    subscription = DigestSubscription.objects.create(user=users["city_coordinator"], frequency="weekly")
    period = digests.Period("weekly", DAY - datetime.timedelta(days=6), DAY)
    _subject, text, _html = digests.digest_render(subscription, period, shared=False)
    assert "延期申请待审批 1 项" in text


def test_an_item_awaiting_sign_off_is_not_counted_overdue_anywhere(users, item):
    """One rule for 逾期 (models.supervision.overdue_q): the acting level past its limit. An item waiting on
    the signer is overdue neither on the 督办 page's figures, its filter, the dashboard nor the inbox."""
    import datetime

    post(users["county_editor"], item, "request", text="已整改")
    item.refresh_from_db()
    item.due_on = DAY - datetime.timedelta(days=30)
    item.save()
    city = client_for(users["city_coordinator"])
    assert city.get(reverse("dashboard")).context["supervision"]["overdue"] == 0
    assert [row.pk for row in city.get(reverse("supervision"), {"overdue": "true", "status": ""}).context["page"]] == []
    item.refresh_from_db()
    item.status = SupervisionStatus.OPEN  # back with the acting level: overdue again
    item.save()
    assert city.get(reverse("dashboard")).context["supervision"]["overdue"] == 1
