"""Issue 21, points 1, 2, 3 and 5, without a real worker (tasks in-process, a real SMTP server in this
process): what a fault leaves on a delivery, and that the mail then goes out exactly once.

The same faults against a real `celery worker`, Redis and PostgreSQL are in test_celery_worker.py.
"""

import datetime
import smtplib

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from projects.dispatch import reminders
from projects.domain import rules
from projects.domain.choices import DigestFrequency, MailKind
from projects.mail import delivery, digests
from projects.models import DeliveryStatus, DigestDelivery, DigestSubscription
from projects.tasks import catch_up_digests, deliver_digest, dispatch_digests

from .test_access import client_for
from .test_dispatch_cycle import october  # noqa: F401 - a fixture

D = datetime.date
WEEKLY, MONTHLY = DigestFrequency.WEEKLY, DigestFrequency.MONTHLY
pytestmark = pytest.mark.django_db


def subscribe(user, frequency=WEEKLY):
    return DigestSubscription.objects.create(user=user, frequency=frequency)


def record(subscription, period=None, **fields):
    period = period or digests.period_for(subscription.frequency, timezone.localdate())
    return DigestDelivery.objects.create(
        user=subscription.user, kind=subscription.frequency, period_start=period.start, period_end=period.end,
        recipient=subscription.user.email, **fields,
    )


@pytest.fixture
def no_pause(monkeypatch):
    """The pauses between attempts at recording a sent mail take no time here."""
    if hasattr(delivery, "time"):
        monkeypatch.setattr(delivery.time, "sleep", lambda seconds: None)


# --- 1. Transient failures are retried, permanent ones are final ------------------------------------------


class FlakyCache:
    """The Django cache while Redis restarts: the first `failures` reads raise redis' ConnectionError."""

    def __init__(self, failures):
        self.failures = failures

    def get_or_set(self, key, default, timeout=None):
        if self.failures:
            self.failures -= 1
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")
        return default() if callable(default) else default


def test_redis_restarted_while_a_digest_renders_is_retried_and_sent_once(users, projects, mail_server, monkeypatch):
    monkeypatch.setattr(digests, "cache", FlakyCache(failures=2))
    delivery_ = record(subscribe(users["county_editor"]))
    assert deliver_digest.apply(args=[delivery_.pk]).get() == delivery.Outcome.SENT
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.attempts) == (DeliveryStatus.SENT, 3)
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]


@pytest.mark.parametrize("error", [
    redis.exceptions.ConnectionError("Connection refused"),
    redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
    OperationalError("server closed the connection unexpectedly"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
    smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    smtplib.SMTPDataError(451, b"4.3.0 try again later"),
    smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"4.2.0 mailbox busy")}),
])
def test_transient_failures(error):
    assert delivery.is_transient(error)


@pytest.mark.parametrize("error", [
    smtplib.SMTPDataError(554, b"5.7.1 rejected as spam"),
    smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 no such user")}),
    smtplib.SMTPSenderRefused(553, b"5.7.1 sender not allowed", "noreply@example.org"),
    ValueError("a bug in a template"),
])
def test_permanent_failures(error):
    assert not delivery.is_transient(error)


def test_a_refused_address_is_final_listed_and_resent_from_the_admin(users, projects, mail_server, capsys,
                                                                     django_capture_on_commit_callbacks):
    delivery_ = record(subscribe(users["county_editor"]))
    mail_server.handler.refuse_rcpt = "550 5.1.1 <zd@example.org>: no such user"
    assert deliver_digest.apply(args=[delivery_.pk]).failed()
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.attempts) == (DeliveryStatus.FAILED, 1)  # not retried: it would not help
    assert "550" in delivery_.error
    call_command("recover_background_work")
    out = capsys.readouterr().out
    assert "failed for good: mail" in out and "zd@example.org" in out and "550" in out
    client = client_for(users["province_admin"])
    changelist = reverse("admin:projects_digestdelivery_changelist")
    page = client.get(changelist, {"attention": "failed"}).content.decode()
    assert "发送失败" in page and "550" in page
    mail_server.handler.refuse_rcpt = ""  # the address was put right
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "send_again", "_selected_action": [delivery_.pk]})
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]
    delivery_.refresh_from_db()
    assert delivery_.status == DeliveryStatus.SENT


# --- 2. An operator's re-run never ends another attempt's retry ------------------------------------------


def test_a_rerun_during_an_smtp_outage_leaves_the_workers_retry_alone(users, projects, mail_server, capsys):
    subscription = subscribe(users["county_editor"])
    delivery_ = record(subscription, digests.period_for(WEEKLY, D(2026, 11, 23)))
    mail_server.handler.refusing = True
    # The worker's first attempt (what deliver_digest does on a worker): 451, a retry is scheduled in 60 s
    # under the task's id.
    with pytest.raises(smtplib.SMTPDataError):
        delivery.delivery_send(delivery=delivery_, token="worker-task", final_attempt=False, retry_countdown=60)
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.claim_token) == (DeliveryStatus.RETRYING, "worker-task")
    # The operator re-runs the period while the server still refuses: exit 1, and the retry is untouched.
    with pytest.raises(CommandError, match="1 digest\\(s\\) not finished: zd@example.org"):
        call_command("send_digests", "--frequency", "weekly", "--date", "2026-11-23")
    assert "waiting for a retry" in capsys.readouterr().err
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.claim_token) == (DeliveryStatus.RETRYING, "worker-task")
    # The server is back; the worker's retry (same task id) sends it.
    mail_server.handler.refusing = False
    assert deliver_digest.apply(args=[delivery_.pk], task_id="worker-task").get() == delivery.Outcome.SENT
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]


def test_a_reruns_own_transient_failure_is_left_for_a_worker_not_final(users, projects, mail_server,
                                                                       django_capture_on_commit_callbacks):
    subscription = subscribe(users["county_editor"])
    delivery_ = record(subscription, digests.period_for(WEEKLY, D(2026, 11, 23)))  # queued, not started yet
    mail_server.handler.refusing = True
    with pytest.raises(CommandError):
        call_command("send_digests", "--frequency", "weekly", "--date", "2026-11-23")
    delivery_.refresh_from_db()
    assert delivery_.status == DeliveryStatus.RETRYING and "451" in delivery_.error
    mail_server.handler.refusing = False
    # The task the dispatch queued finds it still to send.
    assert deliver_digest.apply(args=[delivery_.pk]).get() == delivery.Outcome.SENT
    assert len(mail_server.messages) == 1


def test_an_attempt_that_lost_its_claim_writes_nothing(users, projects, mail_server):
    delivery_ = record(subscribe(users["county_editor"]))
    mail_server.handler.refusing = True
    original_claim = delivery.delivery_claim

    def claimed_then_taken_over(**kwargs):
        outcome = original_claim(**kwargs)
        # Meanwhile its lease ran out and another attempt took the delivery over.
        DigestDelivery.objects.filter(pk=delivery_.pk).update(claim_token="another-attempt")
        return outcome

    delivery.delivery_claim, saved = claimed_then_taken_over, delivery.delivery_claim
    try:
        with pytest.raises(smtplib.SMTPDataError):
            delivery.delivery_send(delivery=delivery_, token="late-attempt")
    finally:
        delivery.delivery_claim = saved
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.claim_token, delivery_.error) == (DeliveryStatus.SENDING, "another-attempt", "")


# --- 3. Accepted by the mail server: recorded as sent, never sent again -----------------------------------


def fail_recording_sent(monkeypatch, times):
    """The database connection is lost whenever "sent" is written, `times` times."""
    original = QuerySet.update
    left = {"failures": times}

    def update(self, **kwargs):
        if self.model is DigestDelivery and kwargs.get("status") == DeliveryStatus.SENT and left["failures"]:
            left["failures"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return original(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    return left


def test_sent_is_recorded_on_a_fresh_attempt_when_the_connection_is_lost(users, projects, mail_server, monkeypatch,
                                                                         no_pause, settings):
    settings.DIGEST_QUEUE_GRACE_SECONDS = 0
    settings.DIGEST_CLAIM_SECONDS = 0  # the catch-up would take over anything still 发送中 at once
    delivery_ = record(subscribe(users["county_editor"]))
    fail_recording_sent(monkeypatch, times=2)
    assert deliver_digest.apply(args=[delivery_.pk]).get() == delivery.Outcome.SENT
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.attempts) == (DeliveryStatus.SENT, 1)
    catch_up_digests.apply()
    assert len(mail_server.messages) == 1


def test_a_long_database_outage_retries_only_the_recording_never_the_sending(users, projects, mail_server,
                                                                           monkeypatch, no_pause, settings):
    settings.DIGEST_QUEUE_GRACE_SECONDS = 0
    delivery_ = record(subscribe(users["county_editor"]))
    left = fail_recording_sent(monkeypatch, times=getattr(delivery, "RECORD_ATTEMPTS", 3) * 2 + 1)  # two task attempts' worth
    result = deliver_digest.apply(args=[delivery_.pk], task_id="worker-task")
    assert result.get() == delivery.Outcome.SENT and left["failures"] == 0
    delivery_.refresh_from_db()
    assert (delivery_.status, delivery_.attempts, delivery_.claim_token) == (DeliveryStatus.SENT, 1, "worker-task")
    assert delivery_.subject.startswith("【重点项目周报】")
    settings.DIGEST_CLAIM_SECONDS = 0
    catch_up_digests.apply()
    call_command("send_digests", "--frequency", "weekly")
    assert len(mail_server.messages) == 1


# --- 5. A send day missed is caught up late, and shown as late ------------------------------------------


def shanghai(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def test_a_missed_weekly_send_day_is_caught_up_the_next_day_and_shown_late(
    users, projects, mail_server, monkeypatch, django_capture_on_commit_callbacks, capsys
):
    subscription = subscribe(users["county_editor"])
    record(subscription, digests.period_for(WEEKLY, D(2026, 11, 16)), status=DeliveryStatus.SENT)  # the week before
    # The worker was down all Monday 2026-11-23; beat's 08:30 dispatch runs after midnight.
    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 24))
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_digests.apply(kwargs={"frequency": "weekly"}).get() == "weekly: not a sending day"
    assert not mail_server.messages
    # recover_background_work names it (and with --dry-run changes nothing) ...
    call_command("recover_background_work", "--dry-run")
    assert "would catch up a missed send day: weekly 2026-11-16 至 2026-11-22 (due 2026-11-23)" in capsys.readouterr().out
    assert not DigestDelivery.objects.filter(period_start=D(2026, 11, 16)).exists()
    # ... and the catch-up, looking back over DIGEST_CATCH_UP_DAYS, sends it.
    with django_capture_on_commit_callbacks(execute=True):
        result = catch_up_digests.apply().get()
    assert "weekly 2026-11-16 至 2026-11-22 (due 2026-11-23, late): 1 queued" in result
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]
    late = DigestDelivery.objects.get(period_start=D(2026, 11, 16))
    assert (late.status, late.due_on) == (DeliveryStatus.SENT, D(2026, 11, 23))
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert len(mail_server.messages) == 1  # once
    # The operator sees it was late: a filter under 需处理 and a column in the list.
    page = client_for(users["province_admin"]).get(
        reverse("admin:projects_digestdelivery_changelist"), {"attention": "late"}).content.decode()
    assert "迟发" in page and "2026-11-23" in page
    assert page.count('class="field-late_days"') == 1


def test_a_missed_monthly_send_day_is_caught_up(users, projects, mail_server, monkeypatch,
                                                django_capture_on_commit_callbacks):
    subscription = subscribe(users["county_editor"], MONTHLY)
    october_period = digests.period_from_start(MONTHLY, D(2026, 10, 1))
    november = digests.period_from_start(MONTHLY, D(2026, 11, 1))
    record(subscription, october_period, status=DeliveryStatus.SENT)
    due = digests.send_day(november)
    monkeypatch.setattr(rules, "today", lambda: due + datetime.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_digests.apply(kwargs={"frequency": "monthly"})  # a day late: nothing due "today"
        catch_up_digests.apply()
    [message] = mail_server.messages
    assert "2026-11-01 至 2026-11-30" in message["Subject"]
    assert DigestDelivery.objects.get(period_start=november.start).due_on == due


def test_a_queued_dispatch_works_on_the_day_it_was_queued(monkeypatch):
    """Beat queues the dispatch at 08:30; whenever a worker runs it, it is that day's dispatch."""
    from celery import signals

    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 23))
    body = ((), {"frequency": "weekly"}, {})
    signals.before_task_publish.send(sender="projects.tasks.dispatch_digests", body=body, headers={})
    assert body[1] == {"frequency": "weekly", "run_date": "2026-11-23"}
    body = ((), {}, {})
    signals.before_task_publish.send(sender="projects.tasks.send_report_reminders", body=body, headers={})
    assert body[1] == {"run_date": "2026-11-23"}
    given = ((), {"frequency": "weekly", "run_date": "2026-11-30"}, {})
    signals.before_task_publish.send(sender="projects.tasks.dispatch_digests", body=given, headers={})
    assert given[1]["run_date"] == "2026-11-30"


def test_nothing_is_caught_up_before_the_first_dispatch(users, projects, mail_server, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    """A new installation does not send the last weeks' digests: only periods after one recorded are."""
    subscribe(users["county_editor"])
    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 24))
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    assert not mail_server.messages and not DigestDelivery.objects.exists()


def test_a_missed_reminder_day_is_caught_up_until_the_deadline(users, projects, october, mail_server, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    # September's reminders went out: the reminders are running on this installation.
    for kind in (MailKind.REPORT_REMINDER, MailKind.REPORT_DUE, MailKind.REPORT_MISSING):
        DigestDelivery.objects.create(user=users["county_editor"], kind=kind, period_start=D(2026, 9, 1),
                                      period_end=D(2026, 10, 9), status=DeliveryStatus.SENT)
    assert reminders.reminders_due(D(2026, 11, 3)) == [(MailKind.REPORT_REMINDER, october)]
    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 4))  # the worker was down all 11-03
    with django_capture_on_commit_callbacks(execute=True):
        result = catch_up_digests.apply().get()
        catch_up_digests.apply()
    assert any("report_reminder" in line and "late" in line for line in result), result
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]
    late = DigestDelivery.objects.get(period_start=october, kind=MailKind.REPORT_REMINDER)
    assert late.due_on == D(2026, 11, 3)


def test_a_missed_deadline_day_reminder_is_reported_not_sent_late(users, projects, october, mail_server, monkeypatch,
                                                                  django_capture_on_commit_callbacks, caplog):
    DigestDelivery.objects.create(user=users["county_editor"], kind=MailKind.REPORT_REMINDER, period_start=october,
                                  period_end=D(2026, 11, 5), status=DeliveryStatus.SENT)
    # The worker was down all the deadline day (11-05, "今日截止"); on 11-06 that mail would be wrong.
    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 6))
    with django_capture_on_commit_callbacks(execute=True):
        result = catch_up_digests.apply().get()
    assert not mail_server.messages
    assert any("report_due" in line and "not sent" in line for line in result), result
    # Recorded as not sent, with the reason, for the operator; and reported once, not every quarter hour.
    missed = DigestDelivery.objects.get(kind=MailKind.REPORT_DUE)
    assert (missed.user, missed.status, missed.due_on) == (users["county_editor"], DeliveryStatus.CANCELLED, D(2026, 11, 5))
    assert "错过" in missed.error
    with django_capture_on_commit_callbacks(execute=True):
        assert not any("report_due" in line for line in catch_up_digests.apply().get())
