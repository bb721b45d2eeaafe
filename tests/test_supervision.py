"""Supervision (督办): items opened when projects fall behind and closed when they recover, escalation through
every level on China's working-day calendar with one mail per escalation, responses and closing by the
acting level only, the new pages by role and region over real HTTP, and the milestones' second light."""

import datetime
from datetime import date as D

import pytest
from django.core.management import call_command
from django.urls import reverse

from projects.domain import rules, workdays
from projects.domain.choices import (
    ProblemStatus,
    Role,
    Stage,
    Status,
    SupervisionCause,
    SupervisionLevel,
    SupervisionStatus,
    SupervisionStepKind,
)
from projects.models import (
    Milestone,
    MilestoneKind,
    MonthlyReport,
    Problem,
    Project,
    SupervisionItem,
    SupervisionStep,
)
from projects.shared import editing, lights
from projects.supervision import services as supervision

from .conftest import NANGONG, QIAOXI_SJZ, XINGTAI, ZHENGDING, make_project, make_user
from .test_access import client_for


def run_on(monkeypatch, day, capture=None):
    """The daily run as beat runs it on `day` (mail queued on commit, sent by the eager worker)."""
    monkeypatch.setattr(rules, "today", lambda: day)
    if capture is None:
        return supervision.supervision_run(on=day, enqueue=lambda pk: None)
    from projects import tasks

    with capture(execute=True):
        return supervision.supervision_run(on=day, enqueue=tasks.enqueue_delivery)


def stalled(name, county=ZHENGDING, **fields):
    """A project judged red (停缓建) whatever the day."""
    return make_project(name, county, stage=Stage.PREPARATORY, status=Status.STALLED, **fields)


def on_pace(name, county=ZHENGDING, **fields):
    return make_project(name, county, stage=Stage.PREPARATORY, **fields)


# --- Opening and closing by themselves ----------------------------------------------------------------------


def test_items_open_for_red_projects_old_problems_and_overdue_reports_and_close_when_the_cause_is_gone(users, monkeypatch, settings):
    day = D(2026, 9, 24)
    red = stalled("正定县停建项目")
    calm = on_pace("正定县平稳项目")
    owing = make_project("桥西区未报项目", QIAOXI_SJZ)  # under construction, never reported
    old = Problem.objects.create(project=calm, description="用地指标未落实", raised_on=day - datetime.timedelta(days=31))
    Problem.objects.create(project=calm, description="刚提出的问题", raised_on=day - datetime.timedelta(days=10))

    outcome = run_on(monkeypatch, day)
    items = {(item.project_id, item.cause): item for item in SupervisionItem.objects.all()}
    assert set(items) == {
        (red.pk, SupervisionCause.RED_LIGHT),
        (owing.pk, SupervisionCause.RED_LIGHT),  # never reporting is red too
        (owing.pk, SupervisionCause.OVERDUE_REPORT),
        (calm.pk, SupervisionCause.OLD_PROBLEM),
    }
    assert (outcome.opened, outcome.closed, outcome.escalated) == (4, 0, 0)
    assert items[(calm.pk, SupervisionCause.OLD_PROBLEM)].problem == old
    due = workdays.workdays_after(day, settings.SUPERVISION_TIME_LIMIT_WORKDAYS)
    assert {(item.level, item.opened_on, item.due_on) for item in items.values()} == {(SupervisionLevel.COUNTY, day, due)}
    assert due == D(2026, 10, 9)  # five working days: 9-28, 9-29, 9-30, then 10-8 and 10-9 after National Day
    overdue_month = supervision.overdue_report_month(day)
    assert items[(owing.pk, SupervisionCause.OVERDUE_REPORT)].report_month == overdue_month
    assert SupervisionStep.objects.filter(kind=SupervisionStepKind.OPENED).count() == 4
    assert SupervisionItem.history.filter(history_type="+").count() == 4

    history_rows = SupervisionItem.history.count()
    assert str(run_on(monkeypatch, day)) == "opened 0, closed 0, escalated 0, mails 0"  # the same day again
    assert SupervisionItem.history.count() == history_rows

    # The causes go: the project resumes, the problem is solved, the reports come in.
    red.status = Status.NORMAL
    red.save()
    old.status, old.resolution, old.resolved_on = ProblemStatus.RESOLVED, "已协调", day
    old.save()
    for month in (overdue_month, rules.latest_due_month(on=day)):
        MonthlyReport.objects.get_or_create(project=owing, month=month, defaults={"completed_investment": 10})
    editing.progress_refresh()
    outcome = run_on(monkeypatch, day + datetime.timedelta(days=1))
    assert (outcome.opened, outcome.closed) == (0, 4)
    closed = SupervisionItem.objects.get(project=red)
    assert (closed.status, closed.closed_on, closed.result) == (SupervisionStatus.CLOSED, D(2026, 9, 25), "项目已恢复正常进度，自动办结。")
    assert closed.steps.last().kind == SupervisionStepKind.CLOSED
    assert not SupervisionItem.objects.open().exists()


def test_a_problem_one_day_younger_than_the_setting_opens_nothing(users, monkeypatch, settings):
    day = D(2026, 11, 20)
    calm = on_pace("正定县平稳项目")
    Problem.objects.create(project=calm, description="刚好未满", raised_on=day - datetime.timedelta(days=settings.SUPERVISION_PROBLEM_DAYS - 1))
    assert run_on(monkeypatch, day).opened == 0
    Problem.objects.create(project=calm, description="刚好满", raised_on=day - datetime.timedelta(days=settings.SUPERVISION_PROBLEM_DAYS))
    assert run_on(monkeypatch, day).opened == 1


# --- Escalation --------------------------------------------------------------------------------------------


def test_escalation_climbs_every_level_on_working_days_and_mails_each_new_level_once(
        users, monkeypatch, mail_server, django_capture_on_commit_callbacks):
    project = stalled("正定县包联项目", contracting_leader=users["leader"])
    capture = django_capture_on_commit_callbacks

    run_on(monkeypatch, D(2026, 9, 24), capture)
    item = SupervisionItem.objects.get()
    assert (item.level, item.due_on) == (SupervisionLevel.COUNTY, D(2026, 10, 9))
    assert run_on(monkeypatch, D(2026, 10, 9), capture).escalated == 0  # the last day of the limit
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]  # issue 27: the opening, once

    steps = [
        # (day of the run, level after it, new limit, who is mailed)
        (D(2026, 10, 10), SupervisionLevel.CITY, D(2026, 10, 16), "sjz@example.org"),  # a Saturday worked (调休)
        (D(2026, 10, 19), SupervisionLevel.PROVINCE, D(2026, 10, 26), "prov@example.org"),
        (D(2026, 10, 27), SupervisionLevel.LEADER, D(2026, 11, 3), "boss@example.org"),
    ]
    for day, level, due, recipient in steps:
        sent = len(mail_server.messages)
        outcome = run_on(monkeypatch, day, capture)
        item.refresh_from_db()
        assert (outcome.escalated, item.level, item.due_on, item.escalated_on) == (1, level, due, day)
        assert due == workdays.workdays_after(day, 5)
        new = mail_server.messages[sent:]
        assert [message["To"] for message in new] == [recipient]
        text = new[0].get_body(("plain",)).get_content()
        assert project.name in text and "升级" in text and reverse("supervision_item", args=[item.pk]) in text
        again = run_on(monkeypatch, day, capture)  # beat retried, or an operator ran it twice
        assert (again.escalated, again.mails) == (0, 0) and len(mail_server.messages) == sent + 1
        if level == SupervisionLevel.CITY:
            # A rest day past the new limit escalates nothing: the limit counts working days.
            assert run_on(monkeypatch, D(2026, 10, 17), capture).escalated == 0

    # The 包联 leader is the top: past their limit the item stays with them, overdue.
    assert run_on(monkeypatch, D(2026, 11, 4), capture).escalated == 0
    item.refresh_from_db()
    assert item.level == SupervisionLevel.LEADER and item in SupervisionItem.objects.overdue(D(2026, 11, 4))
    assert [step.level for step in item.steps.filter(kind=SupervisionStepKind.ESCALATED)] == [
        SupervisionLevel.CITY, SupervisionLevel.PROVINCE, SupervisionLevel.LEADER]
    assert item.history.count() == 4  # opened, and three escalations


def test_without_a_leader_the_province_is_the_top(users, monkeypatch):
    stalled("正定县无包联项目")
    run_on(monkeypatch, D(2026, 9, 24))
    for day in (D(2026, 10, 10), D(2026, 10, 19), D(2026, 10, 27)):
        run_on(monkeypatch, day)
    assert SupervisionItem.objects.get().level == SupervisionLevel.PROVINCE


def test_the_command_runs_the_day(users, monkeypatch):
    stalled("正定县停建项目")
    monkeypatch.setattr(rules, "today", lambda: D(2026, 9, 24))
    from io import StringIO

    out = StringIO()
    call_command("supervise", "--date", "2026-09-24", stdout=out)
    assert out.getvalue().strip() == "opened 1, closed 0, escalated 0, mails 1"  # issue 27: the county is told


# --- Acting on an item, over HTTP --------------------------------------------------------------------------


@pytest.fixture
def county_item(users, monkeypatch):
    project = stalled("正定县停建项目", contracting_leader=users["leader"])
    run_on(monkeypatch, D(2026, 9, 24))
    return SupervisionItem.objects.get(project=project)


def test_only_the_acting_level_answers_and_closes(users, county_item):
    url = reverse("supervision_item", args=[county_item.pk])
    # Others who see the item may not act on it; another county does not see it at all.
    assert client_for(users["city_coordinator"]).post(url, {"text": "市里催办"}).status_code == 403
    assert client_for(users["leader"]).post(url, {"text": "领导批示"}).status_code == 403
    assert client_for(users["province_admin"]).post(url, {"close": "1", "result": "省里办结"}).status_code == 403
    assert client_for(users["other_county_editor"]).post(url, {"text": "越权"}).status_code == 404
    assert not county_item.steps.filter(kind=SupervisionStepKind.RESPONSE).exists()

    county = client_for(users["county_editor"])
    page = county.get(url).content.decode()
    assert "记录办理情况" in page and "办结" in page
    assert county.post(url, {"text": "已约谈建设单位，本周复工"}).status_code == 302
    response = county_item.steps.get(kind=SupervisionStepKind.RESPONSE)
    assert (response.user, response.level, response.text) == (users["county_editor"], SupervisionLevel.COUNTY, "已约谈建设单位，本周复工")
    assert county.post(url, {"text": "   "}).status_code == 200  # no text, no step
    assert county_item.steps.filter(kind=SupervisionStepKind.RESPONSE).count() == 1
    # Issue 27: the county's 办结 is a request; the city signs it off (tests/test_supervision_signoff.py).
    assert county.post(url, {"close": "1", "result": "项目已复工"}).status_code == 302
    county_item.refresh_from_db()
    assert (county_item.status, county_item.result) == (SupervisionStatus.SIGNOFF, "")
    assert county_item.history.latest().history_user == users["county_editor"]
    assert county.post(url, {"text": "再记一条"}).status_code == 403  # awaiting sign-off: the county waits
    city = client_for(users["city_coordinator"])
    assert city.post(url, {"action": "signoff", "signoff-version": county_item.version}).status_code == 302
    county_item.refresh_from_db()
    assert (county_item.status, county_item.result) == (SupervisionStatus.CLOSED, "项目已复工")
    assert "记录办理情况" not in county.get(url).content.decode()


def test_opening_by_hand_is_for_cities_and_the_province(users, projects):
    url = reverse("supervision_open", args=[projects["zhengding"].pk])
    data = {"level": SupervisionLevel.COUNTY, "description": "请说明开工滞后原因"}
    assert client_for(users["county_editor"]).post(url, data).status_code == 403
    assert client_for(users["leader"]).post(url, data).status_code == 403
    assert client_for(users["other_county_editor"]).post(url, data).status_code == 404
    assert client_for(users["city_coordinator"]).post(url, {**data, "level": SupervisionLevel.PROVINCE}).status_code == 302
    assert not SupervisionItem.objects.exists()  # a city may not hand an item to the province
    assert client_for(users["city_coordinator"]).post(url, data).status_code == 302
    item = SupervisionItem.objects.get()
    assert (item.cause, item.level, item.opened_by) == (SupervisionCause.MANUAL, SupervisionLevel.COUNTY, users["city_coordinator"])
    other = reverse("supervision_open", args=[projects["nangong"].pk])
    assert client_for(users["city_coordinator"]).post(other, data).status_code == 404
    assert client_for(users["province_admin"]).post(other, {**data, "level": SupervisionLevel.PROVINCE}).status_code == 302
    assert SupervisionItem.objects.get(project=projects["nangong"]).level == SupervisionLevel.PROVINCE


# Who sees which item page (the item is 正定's): province, the city above it, 正定 itself, the
# province-level leader see it; 南宫 does not; a 邢台 leader sees it only once they contract the project.
PAGE_ACCESS = [
    ("province_admin", 200), ("city_coordinator", 200), ("county_editor", 200), ("leader", 200), ("other_county_editor", 404),
]


@pytest.mark.parametrize("role, status", PAGE_ACCESS)
def test_the_supervision_pages_by_role_and_region(users, county_item, role, status):
    client = client_for(users[role])
    assert client.get(reverse("supervision_item", args=[county_item.pk])).status_code == status
    page = client.get(reverse("supervision"))
    assert page.status_code == 200
    listed = [item.pk for item in page.context["page"].object_list]
    assert listed == ([county_item.pk] if status == 200 else [])


def test_a_leader_sees_the_projects_they_contract_wherever_they_are(users, monkeypatch):
    xingtai_leader = make_user("xt_leader", Role.LEADER, XINGTAI)
    project = stalled("正定县包联项目")
    client = client_for(xingtai_leader)
    assert client.get(reverse("project_detail", args=[project.pk])).status_code == 404
    project.contracting_leader = xingtai_leader
    project.save()
    run_on(monkeypatch, D(2026, 9, 24))
    client = client_for(xingtai_leader)
    assert client.get(reverse("project_detail", args=[project.pk])).status_code == 200
    mine = client.get(reverse("project_list"), {"contracted": "true"})
    assert [p.pk for p in mine.context["page"].object_list] == [project.pk]
    item = SupervisionItem.objects.get(project=project)
    assert client.get(reverse("supervision_item", args=[item.pk])).status_code == 200
    assert "我包联的项目" in client.get(reverse("dashboard")).content.decode()  # the menu's "my projects"


def test_the_supervision_page_counts_link_to_their_items(users, monkeypatch):
    stalled("正定县停建项目")
    stalled("南宫市停建项目", NANGONG)
    run_on(monkeypatch, D(2026, 9, 24))
    monkeypatch.setattr(rules, "today", lambda: D(2026, 10, 12))
    client = client_for(users["province_admin"])
    page = client.get(reverse("supervision"))
    rows = {row["label"]: row for row in page.context["rows"]}
    assert set(rows) == {"石家庄市", "邢台市"}
    cell = rows["石家庄市"]["cells"][SupervisionLevel.COUNTY]
    assert (cell["open"], cell["overdue"]) == (1, 1)  # due 10-09
    followed = client.get(cell["open_href"])
    assert [item.project.name for item in followed.context["page"].object_list] == ["正定县停建项目"]
    ageing = {bucket["label"]: bucket for bucket in page.context["ageing"]}
    # 9-24 to 10-12: seven working days (9-28, 9-29, 9-30, 10-8, 10-9, the Saturday 10-10 worked, 10-12).
    assert [bucket["count"] for bucket in page.context["ageing"]] == [0, 2, 0, 0]
    assert len(client.get(ageing["6–10"]["href"]).context["page"].object_list) == 2
    city = client_for(users["city_coordinator"]).get(reverse("supervision"))
    assert [row["label"] for row in city.context["rows"]] == ["正定县"]  # a city sees its counties


# --- Milestones ----------------------------------------------------------------------------------------------


def test_node_lateness_boundaries():
    day = D(2026, 6, 30)
    assert not rules.milestone_is_late(planned_on=day, actual_on=None, on=day)  # due today: not yet late
    assert rules.milestone_is_late(planned_on=day, actual_on=None, on=day + datetime.timedelta(days=1))
    assert not rules.milestone_is_late(planned_on=day, actual_on=day + datetime.timedelta(days=9), on=D(2026, 12, 1))
    assert not rules.milestone_is_late(planned_on=None, actual_on=None, on=day)


def test_sql_and_python_node_rules_agree(db):
    kinds = list(MilestoneKind.objects.all()[:3])
    dates = [None, D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3)]
    combos = [(planned, actual) for planned in dates for actual in dates]
    projects = []
    for number, combo_start in enumerate(range(0, len(combos), 2)):
        project = on_pace(f"正定县节点项目{number}")
        for kind, (planned, actual) in zip(kinds, combos[combo_start:combo_start + 2]):
            Milestone.objects.create(project=project, kind=kind, planned_on=planned, actual_on=actual)
        projects.append(project)
    checked = 0
    for on in dates[1:] + [D(2026, 3, 4)]:
        in_sql = dict(Project.objects.annotate(late=lights.nodes_late_exists(on)).values_list("pk", "late"))
        for project in Project.objects.prefetch_related("milestones"):
            assert in_sql[project.pk] == rules.project_nodes_late(project.milestones.all(), on=on), (project.name, on)
            checked += 1
    assert checked == 4 * len(projects) and any(
        rules.project_nodes_late(p.milestones.all(), on=D(2026, 3, 4)) for p in Project.objects.all())


def test_nodes_are_edited_on_the_project_page_and_light_the_list(users, projects, monkeypatch):
    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 30))
    project = projects["zhengding"]
    land, start = MilestoneKind.objects.get(name="用地"), MilestoneKind.objects.get(name="开工")
    url = reverse("project_milestones", args=[project.pk])
    data = {f"node-{land.pk}-planned": "2026-05-01", f"node-{land.pk}-actual": "2026-04-20",
            f"node-{start.pk}-planned": "2026-11-29", f"node-{start.pk}-actual": ""}
    assert client_for(users["other_county_editor"]).post(url, data).status_code == 404
    assert client_for(users["leader"]).post(url, data).status_code == 404
    county = client_for(users["county_editor"])
    assert county.post(url, data).status_code == 302
    assert sorted(Milestone.objects.filter(project=project).values_list("kind__name", "planned_on", "actual_on")) == [
        ("开工", D(2026, 11, 29), None), ("用地", D(2026, 5, 1), D(2026, 4, 20))]
    assert Milestone.history.filter(history_user=users["county_editor"]).count() == 2
    county.post(url, data)  # the same dates again: no write
    assert Milestone.history.count() == 2
    page = county.get(reverse("project_detail", args=[project.pk])).content.decode()
    assert "节点滞后" in page
    late = county.get(reverse("project_list"), {"nodes_late": "true"})
    assert [p.pk for p in late.context["page"].object_list] == [project.pk]
    assert late.context["page"].object_list[0].nodes_late
    dashboard = county.get(reverse("dashboard"))
    assert dashboard.context["nodes_late"] == 1
    admin_list = county.get(reverse("admin:projects_project_changelist"), {"nodes_late": "true"})
    assert [p.pk for p in admin_list.context["cl"].result_list] == [project.pk]
    assert "项目节点滞后" in admin_list.content.decode()  # the sidebar's filter
    # A wrong date, or an actual date still to come: nothing is written, and the page comes back with what
    # was typed and what is wrong.
    typed = {**data, f"node-{land.pk}-planned": "2026-13-01", f"node-{start.pk}-actual": "2026-12-05"}
    refused = county.post(url, typed)
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "“2026-13-01”不是有效日期" in page and "实际日期 2026-12-05 晚于今天" in page
    assert 'value="2026-13-01"' in page and 'value="2026-12-05"' in page
    assert Milestone.objects.get(project=project, kind=land).planned_on == D(2026, 5, 1)
    assert Milestone.objects.get(project=project, kind=start).actual_on is None and Milestone.history.count() == 2


def test_node_dates_import_as_optional_columns_of_the_list(users, tmp_path):
    from .test_import import HEADER, row, run, workbook

    header = HEADER + ["开工计划日期", "投产计划时间"]
    rows = [row("1", "正定县节点导入项目", "石家庄市", "正定县") + ["2026-03", "2027年6月"]]
    code, out = run(tmp_path, workbook(rows, header=header), "n.xlsx", "--user", "prov")
    assert code == 0, out
    project = Project.objects.get(name="正定县节点导入项目")
    assert sorted(project.milestones.values_list("kind__name", "planned_on")) == [("开工", D(2026, 3, 1)), ("投产", D(2027, 6, 1))]
    assert Milestone.history.filter(history_user=users["province_admin"]).count() == 2
    code, out = run(tmp_path, workbook(rows, header=header), "n.xlsx", "--user", "prov")
    assert out[0] == "created 0, updated 0, unchanged 1, skipped 0, errors 0"
    rows[0][-2] = "2026-04"
    code, out = run(tmp_path, workbook(rows, header=header), "n.xlsx", "--user", "prov")
    assert out[0] == "created 0, updated 1, unchanged 0, skipped 0, errors 0"
    assert project.milestones.get(kind__name="开工").planned_on == D(2026, 4, 1)
    rows[0][-1] = "明年"
    code, out = run(tmp_path, workbook(rows, header=header), "n.xlsx", "--user", "prov")
    assert code == 1 and any("投产计划日期" in line for line in out)


def test_the_digest_has_the_supervision_section_and_the_leaders_own(users, monkeypatch):
    from projects.domain.choices import DigestFrequency
    from projects.mail import digests
    from projects.models import DigestSubscription

    project = stalled("正定县包联项目", contracting_leader=users["leader"])
    run_on(monkeypatch, D(2026, 9, 24))
    monkeypatch.setattr(rules, "today", lambda: D(2026, 10, 12))
    subscription = DigestSubscription.objects.create(user=users["leader"], frequency=DigestFrequency.WEEKLY)
    period = digests.period_for(DigestFrequency.WEEKLY, D(2026, 10, 12))
    _subject, text, html = digests.digest_render(subscription, period, shared=False)
    assert "督办事项（办理中 1 项，其中逾期 1 项，待销号 0 项，延期申请待审批 0 项）" in text and project.name in text
    assert "十二、我包联的项目" in text and "我包联的项目" in html
    county = DigestSubscription.objects.create(user=users["county_editor"], frequency=DigestFrequency.WEEKLY)
    _subject, text, _html = digests.digest_render(county, period, shared=False)
    assert "督办事项（办理中 1 项" in text and "我包联的项目" not in text


def test_the_api_lists_items_as_the_page_filters_them(users, monkeypatch):
    from django.test import Client

    from .test_api import API, issue_token

    stalled("正定县停建项目", contracting_leader=users["leader"])
    stalled("南宫市停建项目", NANGONG)
    run_on(monkeypatch, D(2026, 9, 24))
    run_on(monkeypatch, D(2026, 10, 10))  # both past their limit: now at the city level
    county = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    listed = county.get(API + "supervision-items/").json()["results"]
    assert [item["description"][:6] for item in listed] == ["项目亮红灯："]
    mine = listed[0]
    assert (mine["level"], mine["level_display"], mine["due_on"]) == ("city", "市级", "2026-10-16")
    assert [step["kind"] for step in mine["steps"]] == ["opened", "escalated"]
    other = SupervisionItem.objects.get(project__name="南宫市停建项目")
    assert county.get(f"{API}supervision-items/{other.pk}/").status_code == 404
    assert county.post(API + "supervision-items/", {}).status_code == 403  # read-only: the pages act
    assert SupervisionItem.objects.count() == 2
    province = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['province_admin'])}")
    assert len(province.get(API + "supervision-items/", {"level": "city"}).json()["results"]) == 2
    assert province.get(API + "supervision-items/", {"level": "county"}).json()["results"] == []
    assert province.get(API + "supervision-items/", {"level": "nowhere"}).status_code == 400


def test_the_admin_inline_refuses_an_actual_date_still_to_come(users, projects, monkeypatch):
    from .test_access import change_form_data

    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 30))
    project = projects["zhengding"]
    start = MilestoneKind.objects.get(name="开工")
    inline = {"milestones-TOTAL_FORMS": 1, "milestones-0-kind": start.pk, "milestones-0-planned_on": "2026-11-01",
              "milestones-0-actual_on": "2026-12-05"}
    url = reverse("admin:projects_project_change", args=[project.pk])
    client = client_for(users["county_editor"])
    refused = client.post(url, change_form_data(project, **inline))
    assert refused.status_code == 200 and "晚于今天" in refused.content.decode()
    assert not Milestone.objects.exists()
    assert client.post(url, change_form_data(project, **{**inline, "milestones-0-actual_on": "2026-11-03"})).status_code == 302
    assert Milestone.objects.get(project=project).actual_on == D(2026, 11, 3)
