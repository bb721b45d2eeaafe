import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from projects.domain import rules
from projects.domain.choices import (
    DigestFrequency,
    Light,
    ProblemStatus,
    Stage,
    Status,
    SupervisionCause,
    SupervisionLevel,
)
from projects.mail import digests
from projects.mail.delivery import Outcome
from projects.models import (
    PROJECT_ORDER,
    AnnualPlan,
    DeliveryStatus,
    DigestDelivery,
    DigestSubscription,
    Milestone,
    MilestoneKind,
    MonthlyReport,
    Problem,
    Programme,
    SupervisionItem,
)
from projects.shared import lights, versions
from projects.shared.editing import progress_refresh
from projects.tasks import catch_up_digests, deliver_digest, dispatch_digests

from .conftest import ZHENGDING, make_project
from .test_access import client_for

D = datetime.date
WEEKLY = DigestFrequency.WEEKLY


def subscribe(user, frequency=WEEKLY, programmes=()):
    subscription = DigestSubscription.objects.create(user=user, frequency=frequency)
    subscription.programmes.set(programmes)
    return subscription


def current_week():
    return digests.period_for(WEEKLY, timezone.localdate())


# --- Periods and schedules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frequency, run_date, start, end",
    [
        (WEEKLY, D(2026, 11, 23), D(2026, 11, 16), D(2026, 11, 22)),  # Monday: the week just ended
        (WEEKLY, D(2026, 11, 29), D(2026, 11, 16), D(2026, 11, 22)),  # Sunday: still that week
        (DigestFrequency.MONTHLY, D(2026, 12, 6), D(2026, 11, 1), D(2026, 11, 30)),
        (DigestFrequency.MONTHLY, D(2027, 1, 6), D(2026, 12, 1), D(2026, 12, 31)),
        (DigestFrequency.MONTHLY, D(2024, 3, 6), D(2024, 2, 1), D(2024, 2, 29)),
    ],
)
def test_period_for(frequency, run_date, start, end):
    period = digests.period_for(frequency, run_date)
    assert (period.start, period.end) == (start, end)
    assert digests.period_from_start(frequency, start) == period


def test_schedules_are_created_with_the_reference_data(db):
    weekly = PeriodicTask.objects.get(task="projects.tasks.dispatch_digests", kwargs=json.dumps({"frequency": "weekly"}))
    cron = weekly.crontab
    # Every morning: whether it is a sending day is China's working-day calendar's to say (digests.periods_due).
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == ("30", "8", "*", "Asia/Shanghai")
    monthly = PeriodicTask.objects.get(task="projects.tasks.dispatch_digests", kwargs=json.dumps({"frequency": "monthly"}))
    assert (monthly.crontab.day_of_month, monthly.crontab.hour) == ("*", "8")
    assert PeriodicTask.objects.filter(task="projects.tasks.send_report_reminders", enabled=True).exists()
    assert PeriodicTask.objects.filter(task="projects.tasks.catch_up_digests").exists()


# --- Content ------------------------------------------------------------------------------------------


def test_a_red_project_is_listed_with_its_reason(users, projects):
    project = projects["zhengding"]
    project.status = Status.STALLED
    project.save()
    subscription = subscribe(users["county_editor"])
    context = digests.digest_context(subscription, current_week())
    assert [row["pk"] for row in context["red_projects"]] == [project.pk]
    assert context["red_projects"][0]["reason"] == "停缓建"
    _subject, text, html = digests.digest_render(subscription, current_week())
    assert "正定县智能装备产业园项目（正定县）：停缓建" in text
    assert reverse("project_detail", args=[project.pk]) in html


def test_a_county_digest_holds_only_its_county(users, projects):
    context = digests.digest_context(subscribe(users["county_editor"]), current_week())
    assert context["totals"]["count"] == 1
    assert context["scope_name"] == "正定县"
    _subject, text, html = digests.digest_render(subscribe(users["county_editor"], DigestFrequency.MONTHLY), current_week())
    for other in ("桥西区数据中心项目", "南宫市羊绒深加工项目"):
        assert other not in text and other not in html


def test_province_digest_by_city_adds_up_to_its_totals(users, projects):
    # A few more projects in more cities, some with plans and reports.
    year = timezone.localdate().year
    for index, county in enumerate(["130203", "130303", "130602", "130629"]):
        project = make_project(f"项目{index}", county)
        AnnualPlan.objects.create(project=project, year=year, planned_investment=Decimal(1000 * (index + 1)))
        MonthlyReport.objects.create(project=project, month=D(year, 1, 1), completed_investment=Decimal(77 * index))
    progress_refresh()
    context = digests.digest_context(subscribe(users["province_admin"]), current_week())
    totals, rows = context["totals"], context["area_rows"]
    assert context["area_title"] == "分市情况"
    assert len(rows) == 6  # 石家庄, 唐山, 秦皇岛, 邢台, 保定, 雄安 (容城县) and no others
    for key in ("count", "total_investment", "plan", "completed", "red", "yellow", "green"):
        assert sum(row[key] or 0 for row in rows) == (totals[key] or 0), key
    assert "雄安新区" in {row["label"] for row in rows}


@pytest.mark.parametrize("role", ["province_admin", "city_coordinator", "county_editor"])
def test_a_digests_figures_are_the_dashboards_cancelled_projects_included(users, projects, role, monkeypatch):
    """A county's dashboard said 2 projects, 2,200 万元 planned and 500 done (22.7 %); the same day its digest said 1
    project, 1,200 and 100 (8.3 %): the digest left cancelled projects out of its figures, whose plan and work the
    dashboard counts (their light is none). The figures are now summed over one scope; the digest's lists still
    leave cancelled projects out (an upcoming start of a cancelled project is none)."""
    period = current_week()
    monkeypatch.setattr(rules, "today", lambda: period.end)  # the dashboard judged on the digest's day
    year = period.end.year
    cancelled = make_project("正定县取消项目", ZHENGDING, status=Status.CANCELLED,
                             planned_start=period.end + datetime.timedelta(days=3))
    AnnualPlan.objects.create(project=cancelled, year=year, planned_investment=Decimal("1000"))
    MonthlyReport.objects.create(project=cancelled, month=D(year, 1, 1), completed_investment=Decimal("400"))
    projects["zhengding"].planned_start = period.end + datetime.timedelta(days=3)
    projects["zhengding"].save()
    progress_refresh()
    user = users[role]
    client = Client()
    client.force_login(user)
    dashboard = client.get(reverse("dashboard")).context
    digest = digests.digest_context(subscribe(user), period)
    assert digest["totals"] == dashboard["totals"]
    assert dashboard["totals"]["plan"] >= Decimal("2200") and dashboard["totals"]["none"] >= 1
    assert [(row["label"], row["count"], row["plan"], row["completed"]) for row in digest["area_rows"]] == [
        (row["label"], row["count"], row["plan"], row["completed"]) for row in dashboard["areas"]]
    assert digest["report_cycle"] == {row["key"]: row["count"] for row in dashboard["cycle"]}
    assert [row["project"].pk for row in digest["planned_starts"]] == [projects["zhengding"].pk]


def test_programme_narrowing(users, projects):
    municipal = Programme.objects.get(code="municipal")
    projects["qiaoxi"].programmes.add(municipal)
    context = digests.digest_context(subscribe(users["city_coordinator"], programmes=[municipal]), current_week())
    assert context["totals"]["count"] == 1
    assert "市重点" in context["scope_name"]


def test_events_problems_and_upcoming(users, projects):
    period = current_week()
    project = projects["zhengding"]
    project.actual_start = period.end - datetime.timedelta(days=2)
    project.planned_end = period.end + datetime.timedelta(days=10)
    project.save()
    Problem.objects.create(project=project, description="用地未落实", raised_on=period.end - datetime.timedelta(days=45))
    Problem.objects.create(project=project, description="刚提出的问题", raised_on=period.end - datetime.timedelta(days=3))
    Problem.objects.create(project=project, description="早已解决", raised_on=period.end - datetime.timedelta(days=90),
                           status=ProblemStatus.RESOLVED)
    context = digests.digest_context(subscribe(users["county_editor"]), period)
    assert [row["project"].pk for row in context["new_starts"]] == [project.pk]
    assert [row["project"].pk for row in context["planned_completions"]] == [project.pk]
    assert [problem.description for problem in context["old_problems"]] == ["用地未落实"]
    assert context["old_problems"][0].days_open == 45


def test_names_are_escaped_and_cannot_inject_headers(users, projects, mail_server):
    project = projects["zhengding"]
    project.name = '<script>alert("x")</script>工程'
    project.status = Status.STALLED
    project.save()
    programme = Programme.objects.get(code="provincial")
    programme.name = "省重点\r\nBcc: attacker@example.com"
    programme.save()
    subscription = subscribe(users["county_editor"], programmes=[programme])
    subject, _text, html = digests.digest_render(subscription, current_week())
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\n" not in subject and "\r" not in subject
    digests.digest_deliver(subscription=subscription, period=current_week())
    [message] = mail_server.messages
    assert message["Bcc"] is None
    assert message["To"] == "zd@example.org"


def test_a_digest_delivered_reads_its_subscriptions_programmes_and_actions_only_when_it_has_any(users, projects):
    """Each delivery looks its subscription up again (a worker has only the delivery's id). Its programmes and actions
    were prefetched every time, two queries and Django's prefetching (half the lookup's 5 ms, for 300 digests 1.5 s),
    though most subscriptions have none; a narrowed digest still shows and keeps to its narrowing."""
    period = current_week()
    plain = subscribe(users["county_editor"])
    narrowed = subscribe(users["city_coordinator"], programmes=[Programme.objects.get(code="provincial")])
    subjects = {}
    for subscription in (plain, narrowed):
        record = DigestDelivery.objects.create(user=subscription.user, kind=WEEKLY, period_start=period.start,
                                               period_end=period.end, due_on=period.end)
        digests.delivery_render(record)  # rendered: the delivery below reads it from the cache
        with CaptureQueriesContext(connection) as queries:
            subjects[subscription.pk], _text, _html = digests.delivery_render(record)
        narrowing_reads = [q["sql"] for q in queries
                           if 'FROM "projects_programme"' in q["sql"] or 'FROM "actions_action"' in q["sql"]]
        assert bool(narrowing_reads) == (subscription is narrowed), narrowing_reads
    assert "正定县" in subjects[plain.pk] and "（" not in subjects[plain.pk]
    assert "石家庄市（" in subjects[narrowed.pk] and Programme.objects.get(code="provincial").name in subjects[narrowed.pk]


def test_queries_per_digest_do_not_grow_with_the_scope(users):
    """Every list of the digest has rows (its projects read with only the fields it shows: a field it did not read
    would be a query per row)."""
    subscription = subscribe(users["county_editor"])
    period = current_week()
    kind = MilestoneKind.objects.first()

    def queries_for(count):
        for index in range(count):
            project = make_project(f"正定{count}-{index}", "130123", status=Status.STALLED,
                                   actual_start=period.end - datetime.timedelta(days=1),
                                   planned_end=period.end + datetime.timedelta(days=10), contracting_leader=users["county_editor"])
            Problem.objects.create(project=project, description="老问题", raised_on=D(2020, 1, 1))
            SupervisionItem.objects.create(project=project, cause=SupervisionCause.RED_LIGHT, description="督办",
                                          level=SupervisionLevel.CITY, opened_on=D(2020, 1, 1), due_on=D(2020, 2, 1))
            Milestone.objects.create(project=project, kind=kind, planned_on=D(2020, 1, 1))
        yellow = make_project(f"正定黄灯{count}", "130123", status=Status.BEHIND, stage=Stage.PREPARATORY)
        overdue = make_project(f"正定逾期{count}", "130123", stage=Stage.CONTINUING, actual_start=D(2020, 1, 1))
        progress_refresh()
        context = digests.digest_context(subscription, period)
        for name in ("red_projects", "yellow_projects", "overdue_projects", "new_starts", "planned_completions",
                     "old_problems", "overdue_items", "late_nodes", "contracted_projects"):
            assert context[name], name
        assert yellow.pk in [row["pk"] for row in context["yellow_projects"]]
        assert overdue.pk in [row["pk"] for row in context["overdue_projects"]]
        digests.digest_render(subscription, period, shared=False)  # the user's region is cached after the first
        with CaptureQueriesContext(connection) as captured:
            digests.digest_render(subscription, period, shared=False)
        return len(captured.captured_queries)

    assert queries_for(2) == queries_for(20)


# --- Delivery -----------------------------------------------------------------------------------------


def test_real_smtp_receives_a_multipart_chinese_digest(users, projects, mail_server):
    subscribe(users["county_editor"])
    call_command("send_digests", "--frequency", "weekly")
    [message] = mail_server.messages
    period = current_week()
    assert message["Subject"].strip() == f"【重点项目周报】正定县 {period.label}"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "正定县 重点项目周报" in text and "一、总体情况" in text
    assert "<table" in html and "<script" not in html
    assert DigestDelivery.objects.get(user=users["county_editor"]).status == DeliveryStatus.SENT


def test_rerunning_sends_nothing_twice(users, projects, mail_server, capsys):
    subscribe(users["county_editor"])
    subscribe(users["city_coordinator"])
    call_command("send_digests", "--frequency", "weekly")
    call_command("send_digests", "--frequency", "weekly")
    assert sorted(m["To"] for m in mail_server.messages) == ["sjz@example.org", "zd@example.org"]
    assert "sent 0, skipped 2, not finished 0" in capsys.readouterr().out


def test_dry_run_sends_and_records_nothing(users, projects, mail_server, capsys):
    subscribe(users["county_editor"])
    call_command("send_digests", "--frequency", "weekly", "--dry-run", "--date", "2026-11-23")
    out = capsys.readouterr().out
    assert "would send to zd@example.org: 【重点项目周报】正定县 2026-11-16 至 2026-11-22" in out
    assert not mail_server.messages and not DigestDelivery.objects.exists()


def record(subscription, period=None):
    """The delivery a scheduled dispatch records before queueing its task."""
    period = period or current_week()
    return DigestDelivery.objects.create(
        user=subscription.user, kind=subscription.frequency, period_start=period.start, period_end=period.end,
        recipient=subscription.user.email,
    )


def test_a_task_executed_twice_sends_once(users, projects, mail_server):
    delivery = record(subscribe(users["county_editor"]))
    assert deliver_digest.apply(args=[delivery.pk]).get() == Outcome.SENT
    assert deliver_digest.apply(args=[delivery.pk]).get() == Outcome.ALREADY_SENT
    assert len(mail_server.messages) == 1


def test_refused_then_accepted_is_delivered_exactly_once(users, projects, mail_server):
    delivery = record(subscribe(users["county_editor"]))
    mail_server.handler.refuse = 2
    deliver_digest.apply(args=[delivery.pk])
    assert mail_server.handler.refused == 2
    assert len(mail_server.messages) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.lease_until) == (DeliveryStatus.SENT, 3, None)


def test_a_server_that_keeps_refusing_ends_failed_with_the_error(users, projects, mail_server):
    delivery = record(subscribe(users["county_editor"]))
    mail_server.handler.refuse = 100
    result = deliver_digest.apply(args=[delivery.pk])
    assert result.failed()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "451" in delivery.error
    assert delivery.attempts == deliver_digest.max_retries + 1
    assert not mail_server.messages
    # The failure is visible in the admin, with its error.
    page = client_for(users["province_admin"]).get(reverse("admin:projects_digestdelivery_changelist")).content.decode()
    assert "发送失败" in page and "451" in page
    # An operator's re-run once the server is back sends it.
    mail_server.handler.refuse = 0
    call_command("send_digests", "--frequency", "weekly")
    assert len(mail_server.messages) == 1


# --- Faults: a dead attempt's delivery is taken over, never lost and never sent twice ------------------


def claim_as_dead_attempt(delivery, *, token="dead-task", lease_seconds):
    """What a worker process killed mid-send leaves: the delivery claimed, its lease running."""
    DigestDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claim_token=token, claimed_at=timezone.now(), attempts=1,
        lease_until=timezone.now() + datetime.timedelta(seconds=lease_seconds),
    )


def test_a_redelivered_task_takes_over_the_claim_its_killed_predecessor_left(users, projects, mail_server):
    delivery = record(subscribe(users["county_editor"]))
    claim_as_dead_attempt(delivery, token="task-1", lease_seconds=600)
    # Celery redelivers the message of a task whose pool process died: same task id, so same token.
    assert deliver_digest.apply(args=[delivery.pk], task_id="task-1").get() == Outcome.SENT
    assert len(mail_server.messages) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)


def test_another_attempts_live_claim_is_not_reported_as_done(users, projects, mail_server, capsys):
    subscription = subscribe(users["county_editor"])
    delivery = record(subscription)
    claim_as_dead_attempt(delivery, lease_seconds=600)
    # A second task does not send it and does not call it done: it looks again when the lease ends.
    assert deliver_digest.apply(args=[delivery.pk], task_id="task-2").get() == Outcome.HELD
    # The operator's re-run names it and exits 1 (today it said "skipped" and exited 0).
    with pytest.raises(CommandError, match="1 digest\\(s\\) not finished: zd@example.org"):
        call_command("send_digests", "--frequency", "weekly")
    assert "not finished: zd@example.org: being sent by another worker" in capsys.readouterr().err
    assert not mail_server.messages
    # Once the claim has expired (its holder died), a re-run takes it over and sends it, once.
    DigestDelivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    call_command("send_digests", "--frequency", "weekly")
    call_command("send_digests", "--frequency", "weekly")
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]


def test_catch_up_requeues_what_no_live_attempt_answers_for(users, projects, mail_server, settings,
                                                           django_capture_on_commit_callbacks):
    settings.DIGEST_QUEUE_GRACE_SECONDS = 0
    pending = record(subscribe(users["county_editor"]))  # dispatched, then Redis lost the message
    orphaned = record(subscribe(users["city_coordinator"]))  # its worker was killed mid-send
    claim_as_dead_attempt(orphaned, lease_seconds=-1)
    live = record(subscribe(users["other_county_editor"]))  # being sent right now by a live worker
    claim_as_dead_attempt(live, token="alive", lease_seconds=600)
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert sorted(message["To"] for message in mail_server.messages) == ["sjz@example.org", "zd@example.org"]
    statuses = dict(DigestDelivery.objects.values_list("pk", "status"))
    assert statuses == {pending.pk: DeliveryStatus.SENT, orphaned.pk: DeliveryStatus.SENT, live.pk: DeliveryStatus.SENDING}
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert len(mail_server.messages) == 2  # nothing twice


def test_dispatch_survives_a_broker_that_refuses(users, projects, mail_server, settings,
                                                 django_capture_on_commit_callbacks, monkeypatch):
    """Redis down at 08:30: the deliveries stay recorded as pending and the catch-up sends them."""
    from projects import tasks

    subscribe(users["county_editor"])

    def broker_down(*args):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver_digest, "delay", broker_down)
    monkeypatch.setattr(tasks, "enqueue_delivery", tasks._safely(broker_down))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_digests.apply(kwargs={"frequency": "weekly", "run_date": "2026-11-23"})  # a Monday: a sending day
    assert DigestDelivery.objects.get().status == DeliveryStatus.PENDING and not mail_server.messages
    monkeypatch.undo()
    from projects.domain import rules

    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 23))  # that day (no later week is missed yet)
    settings.DIGEST_QUEUE_GRACE_SECONDS = 0  # the queued task's grace has passed
    DigestDelivery.objects.update(lease_until=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]


def test_dispatch_enqueues_on_commit_and_catch_up_sends_what_a_missed_run_left(
    users, projects, mail_server, django_capture_on_commit_callbacks, monkeypatch
):
    from projects.domain import rules

    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 30))  # the Monday the catch-up looks at
    subscribe(users["county_editor"])
    subscribe(users["city_coordinator"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dispatch_digests.apply(kwargs={"frequency": "weekly", "run_date": "2026-11-23"})
    assert len(callbacks) == 2 and len(mail_server.messages) == 2

    # Next week beat fires at 08:30 but Redis is down: nothing was recorded for that period.
    weekly = PeriodicTask.objects.get(kwargs=json.dumps({"frequency": "weekly"}))
    weekly.last_run_at = datetime.datetime(2026, 11, 30, 0, 30, tzinfo=datetime.timezone.utc)  # 08:30 in Shanghai
    weekly.save()
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert len(mail_server.messages) == 4
    assert set(DigestDelivery.objects.values_list("period_start", flat=True)) == {D(2026, 11, 16), D(2026, 11, 23)}
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert len(mail_server.messages) == 4


# --- Pages ----------------------------------------------------------------------------------------------


def test_admin_preview_of_any_subscribers_digest(users, projects):
    subscription = subscribe(users["county_editor"])
    url = reverse("admin:projects_digestsubscription_preview", args=[subscription.pk])
    page = client_for(users["province_admin"]).get(url, {"date": "2026-11-23"}).content.decode()
    assert "正定县 重点项目周报" in page and "2026-11-16 至 2026-11-22" in page
    # Another user's subscription is as missing to a county editor as a nonexistent one.
    other = client_for(users["other_county_editor"])
    assert other.get(url).status_code == 404
    assert other.get(reverse("admin:projects_digestsubscription_preview", args=[999999])).status_code == 404


def test_users_manage_their_own_subscriptions_on_the_profile_page(users):
    editor = users["county_editor"]
    subscribe(users["other_county_editor"])
    client = client_for(editor)
    municipal = Programme.objects.get(code="municipal")
    response = client.post(reverse("profile"), {"frequencies": ["weekly", "monthly"], "programmes": [municipal.pk]})
    assert response.status_code == 302
    active = DigestSubscription.objects.filter(user=editor, is_active=True)
    assert {s.frequency for s in active} == {"weekly", "monthly"}
    assert all(list(s.programmes.all()) == [municipal] for s in active)
    client.post(reverse("profile"), {"frequencies": ["monthly"]})
    assert {s.frequency for s in DigestSubscription.objects.filter(user=editor, is_active=True)} == {"monthly"}
    assert DigestSubscription.objects.filter(user=users["other_county_editor"], is_active=True).count() == 1
    page = client.get(reverse("profile")).content.decode()
    assert "我的简报订阅" in page


def test_a_digest_is_the_same_to_the_byte_when_rendered_twice_and_shared_by_its_scope(users, projects):
    """Ties everywhere (same names, same dates) must not change the order between two renderings."""
    for index in range(6):
        make_project("正定县同名项目", "130123", status=Status.STALLED)
        Problem.objects.create(project=projects["zhengding"], description=f"同日问题{index}", raised_on=D(2020, 1, 1))
    first = subscribe(users["county_editor"])
    renderings = {digests.digest_render(first, current_week(), shared=False) for _ in range(3)}
    assert len(renderings) == 1
    # A second subscriber of the same scope gets the very rendering, without a query of its own.
    from .conftest import make_user

    second = subscribe(make_user("zd2", "county_editor", "130123"))
    digests.digest_render(first, current_week())
    with CaptureQueriesContext(connection) as captured:
        shared = digests.digest_render(second, current_week())
    # The subscription's narrowing, and whether its user contracts projects (a 包联 leader's section is theirs).
    assert shared == renderings.pop() and len(captured.captured_queries) <= 5


# --- A run of every subscriber's digest: each region summed once (issue 24) ------------------------------


def project_sums(queries):
    """The statements of `queries` that sum or count over projects or supervision items: a digest's figures."""
    return [q["sql"] for q in queries.captured_queries
            if ("SUM(" in q["sql"] or "COUNT(" in q["sql"]) and ('"projects_project"' in q["sql"])]


def test_after_the_provinces_digest_a_citys_and_a_countys_sum_nothing_again(users, projects):
    """The province's digest, first of a run, sums each region once; a city's and a county's digest of the same
    period merge those regions' sums instead of summing their projects anew."""
    period = current_week()
    province = digests.digest_context(subscribe(users["province_admin"]), period)
    for role in ("city_coordinator", "county_editor"):
        with CaptureQueriesContext(connection) as queries:
            context = digests.digest_context(subscribe(users[role]), period)
        assert project_sums(queries) == [], role
        assert not [q for q in queries.captured_queries if "ROW_NUMBER" in q["sql"]], role  # nor its lights' lists
        assert 0 < context["totals"]["count"] < province["totals"]["count"]
    # A monthly digest sums its own (its cycle month and the forecast's series): and then shares them too.
    digests.digest_context(subscribe(users["province_admin"], DigestFrequency.MONTHLY), period)
    with CaptureQueriesContext(connection) as queries:
        digests.digest_context(subscribe(users["county_editor"], DigestFrequency.MONTHLY), period)
    assert project_sums(queries) == []


def test_after_a_write_in_one_county_the_provinces_digest_sums_that_county_again_and_no_other(users, projects):
    period = current_week()
    province = subscribe(users["province_admin"])
    before = digests.digest_context(province, period)
    project = projects["zhengding"]
    project.total_investment += Decimal("7")
    project.save()
    with CaptureQueriesContext(connection) as queries:
        after = digests.digest_context(province, period)
    sums = project_sums(queries)
    assert sums
    zhengding = projects["zhengding"].county_id
    for sql in sums:  # 正定's projects, and those its city's own and of no region (their versions moved too)
        assert re.search(r'(projects_project"|U0)\."county_id" IN \(%s\)' % zhengding, sql), sql
    assert after["totals"]["total_investment"] == before["totals"]["total_investment"] + Decimal("7")
    cache.clear()  # the same figures as summing everything anew
    assert digests.digest_context(province, period)["totals"] == after["totals"]


def test_a_full_digest_goes_as_8bit_utf8_not_quoted_printable(users, projects, mailoutbox):
    """A list of 30 rows on one line (over SMTP's 998-byte limit) made the whole HTML part quoted-printable: three
    times the size for Chinese text (each UTF-8 byte as =XX), and the costliest step of sending a shared digest."""
    period = current_week()
    for index in range(30):
        make_project(f"正定县第{index:02d}个新开工的智能装备产业园项目", "130123",
                     actual_start=period.end - datetime.timedelta(days=1), planned_end=period.end + datetime.timedelta(days=9))
    digests.digest_deliver(subscription=subscribe(users["county_editor"]), period=period)
    [mail] = mailoutbox
    parts = {part.get_content_type(): part for part in mail.message().walk()}
    html = parts["text/html"]
    assert "正定县第29个新开工" in html.get_payload(decode=True).decode()
    assert html["Content-Transfer-Encoding"] == "8bit"
    assert parts["text/plain"]["Content-Transfer-Encoding"] == "8bit"


@pytest.mark.parametrize("role", ["province_admin", "city_coordinator", "county_editor", "leader"])
def test_the_red_yellow_and_overdue_lists_read_per_region_are_the_first_in_the_lists_order(users, projects, role, settings):
    """Each list is the first DIGEST_LIST_LIMIT of the scope in PROJECT_ORDER, as one query over the scope gives them,
    though read per region (the first few of each) and merged: across cities, counties, a city's own projects and
    names that tie."""
    settings.DIGEST_LIST_LIMIT = 3
    user = users[role]
    made = []
    for index, county in enumerate(["130123", "130104", "130581", "130123", None, "130104", "130581", "130123"] * 2):
        for status in (Status.STALLED, Status.BEHIND):
            made.append(make_project(f"项目{index % 3}", county, city_code=None if county else "130100", status=status,
                                     stage=Stage.PREPARATORY if index % 2 else Stage.CONTINUING,
                                     contracting_leader=users["leader"] if index % 3 else None))
    progress_refresh()
    period = current_week()
    subscription = subscribe(user)
    context = digests.digest_context(subscription, period)
    annotated = lights.annotate_progress(digests.subscription_projects(subscription), year=period.end.year, on=period.end)
    for name, condition in (("red_projects", rules.light_q(Light.RED)), ("yellow_projects", rules.light_q(Light.YELLOW)),
                            ("overdue_projects", digests.FLAGGED["overdue"])):
        expected = list(annotated.filter(condition).order_by(*PROJECT_ORDER).values_list("pk", flat=True)[:3])
        assert [row["pk"] for row in context[name]] == expected, name
        assert len(expected) == 3 or role == "county_editor" and name == "overdue_projects", name  # lists that tell


@pytest.mark.parametrize("role", ["province_admin", "city_coordinator", "county_editor", "leader"])
def test_the_event_lists_read_per_region_are_the_first_in_the_lists_order(users, projects, role, settings):
    """The lists of starts, completions, those due within 30 days and late nodes: each the first DIGEST_LIST_LIMIT of the
    scope in PROJECT_ORDER, as one query over the scope gives them, though read per region and merged (they were five
    queries of their own in every digest); and a county's digest after the province's reads none of them again."""
    settings.DIGEST_LIST_LIMIT = 3
    period = current_week()
    kind = MilestoneKind.objects.first()
    for index, county in enumerate(["130123", "130104", "130581", "130123", None, "130104", "130581", "130123"] * 2):
        project = make_project(f"项目{index % 3}", county, city_code=None if county else "130100",
                               contracting_leader=users["leader"] if index % 3 else None,
                               actual_start=period.end - datetime.timedelta(days=index % 2),
                               actual_end=period.end if index % 4 == 0 else None,
                               planned_end=period.end + datetime.timedelta(days=5 + index))
        if index % 3 != 1:
            Milestone.objects.create(project=project, kind=kind, planned_on=period.start - datetime.timedelta(days=1))
    for name, project in projects.items():  # and two due to start: no actual start yet
        if name != "qiaoxi":
            project.planned_start = period.end + datetime.timedelta(days=3)
            project.save()
    since, on, soon = period.start - datetime.timedelta(days=1), period.end, period.end + datetime.timedelta(days=30)
    subscription = subscribe(users[role])
    context = digests.digest_context(subscription, period)
    scope = digests.subscription_projects(subscription).order_by(*PROJECT_ORDER)
    for name, condition in (
        ("new_starts", Q(actual_start__gt=since, actual_start__lte=on)),
        ("completions", Q(actual_end__gt=since, actual_end__lte=on)),
        ("planned_starts", Q(actual_start__isnull=True, planned_start__gt=on, planned_start__lte=soon)),
        ("planned_completions", Q(actual_end__isnull=True, planned_end__gt=on, planned_end__lte=soon)),
        ("late_nodes", Q(pk__in=Milestone.objects.filter(planned_on__lt=on, actual_on__isnull=True).values("project"))),
    ):
        expected = list(scope.filter(condition).values_list("pk", flat=True)[:3])
        assert [row["project"].pk for row in context[name]] == expected, name
        assert expected, name  # every list tells something

    if role == "county_editor":
        versions.data_changed()  # every piece stale, as on a new period: the province's digest comes first
        digests.digest_context(subscribe(users["province_admin"]), period)
        with CaptureQueriesContext(connection) as queries:
            digests.digest_context(subscription, period)
        project_lists = [sql for sql in (q["sql"] for q in queries)
                         if "ROW_NUMBER" in sql or sql.startswith('SELECT "projects_project"') and "LIMIT" in sql]
        assert project_lists == []
