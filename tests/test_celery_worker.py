"""End to end with the real services and the faults they meet: Redis as broker, `celery worker`
subprocesses (killed whole, or their pool process killed), PostgreSQL, a real SMTP server.

Runs when CELERY_WORKER_TEST=1 (set by .ci/run on its PostgreSQL pass); then a missing service fails
the test instead of skipping it. The workers must share the test database, so this needs PostgreSQL.
"""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from hebei_projects.celery import app as celery_app
from projects.domain import rules
from projects.mail import digests
from projects.models import DeliveryStatus, DigestDelivery, DigestSubscription, ImportBatch, Project
from projects.reference.data import reference_data_load
from projects.tasks import catch_up_digests, dispatch_digests

from .conftest import make_project, make_user
from .mailserver import MailServer, free_port
from .test_access import client_for
from .test_import import row, workbook

ROOT = Path(__file__).resolve().parent.parent
WORKER_DATABASE_APPLICATION = "hebei-test-worker"  # how the workers' PostgreSQL sessions are told apart

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def require_services(redis_url=None):
    """Skip unless asked for (CELERY_WORKER_TEST=1); then fail, never skip, when a service is missing."""
    if os.environ.get("CELERY_WORKER_TEST") != "1":
        pytest.skip("set CELERY_WORKER_TEST=1 (with PostgreSQL and Redis running) to run the workers end to end")
    if connection.vendor != "postgresql":
        pytest.fail("CELERY_WORKER_TEST needs DATABASE_URL pointing at PostgreSQL: the worker shares the test database")
    if redis_url is None:
        return
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis is required at {redis_url}: {error}")


def flush_redis(redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def use_broker(**conf):
    from kombu import pools

    celery_app.conf.update(conf)
    pools.reset()  # close and forget every pooled connection (kombu keeps pools per broker URL)
    celery_app._after_fork()  # and the app's references to them
    # And the result backend the app made on first use, with its connection to the Redis of then (kept for the app,
    # or per thread): a test after one whose own Redis was stopped would reach for that one.
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


def wait_until(condition, timeout=60, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


class RedisServer:
    """A redis-server of the test's own on a free port, to stop and restart (empty, as without
    persistence) at will: the shared one at 6379 is never touched."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def answers():
            try:
                return redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
            except redis.RedisError:
                return False

        assert wait_until(answers, timeout=20), "redis-server did not start"

    def stop(self):
        if self.process is not None:
            self.process.kill()  # as a crash or a restart without persistence: everything in it is gone
            self.process.wait(timeout=20)
            self.process = None


class Workers:
    """Start `celery worker` subprocesses on the test database and kill them as the OOM killer would."""

    def __init__(self, mail, redis_url):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hebei_projects.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
                            f"?application_name={WORKER_DATABASE_APPLICATION}",
            "REDIS_URL": redis_url,
            "EMAIL_URL": mail.url,
            "SITE_URL": "https://projects.example.org",
        }
        self.running = []
        self.output = []

    def start(self, *, pool="solo"):
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hebei_projects", "worker", "--pool", pool, "--concurrency", "1",
             "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group, so that it can be killed whole
        )
        self.running.append(worker)
        return worker

    @staticmethod
    def pool_processes(worker):
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill_pool_process(self, worker):
        """SIGKILL the pool process running the task; the worker's main process lives on."""
        assert wait_until(lambda: self.pool_processes(worker), timeout=30), "the worker has no pool process"
        for pid in self.pool_processes(worker):
            os.kill(pid, signal.SIGKILL)

    def kill_whole(self, worker):
        os.killpg(worker.pid, signal.SIGKILL)
        self.output.append(worker.communicate()[0])
        self.running.remove(worker)

    def stop_all(self):
        for worker in self.running:
            worker.terminate()
            try:
                output, _ = worker.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                output, _ = worker.communicate()
            self.output.append(output)
        self.running = []


def _services(redis_url):
    """(mail server, Workers); this process enqueues to the same Redis instead of running tasks itself."""
    reference_data_load()  # a transactional test starts from an empty database
    with MailServer() as mail:
        workers = Workers(mail, redis_url)
        previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager", "result_backend")}
        use_broker(broker_url=redis_url, task_always_eager=False, result_backend=redis_url)
        try:
            yield mail, workers
        finally:
            use_broker(**previous)
            workers.stop_all()
            print("\n".join(output[-5000:] for output in workers.output))
            reference_data_load()  # leave the reference data for the tests that follow


@pytest.fixture(scope="module")
def module_redis():
    """A redis-server of this module's own, emptied before each test: the tests empty it, and a Redis another run
    (or another test process) uses is never touched."""
    require_services()
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def services(settings, module_redis):
    """(mail server, Workers) on the module's Redis."""
    require_services(module_redis.url)
    yield from _services(module_redis.url)


@pytest.fixture
def own_redis_services(settings):
    """(mail server, Workers, RedisServer): a Redis of this test's own, which it may stop and restart."""
    require_services()
    server = RedisServer()
    server.start()
    try:
        require_services(server.url)
        for mail, workers in _services(server.url):
            yield mail, workers, server
    finally:
        server.stop()


def route_mail_to(settings, mail):
    """This process (an operator's command) mails through the test's SMTP server too."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mail.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


def recent_send_day(weeks_ago=0):
    """The weekly digest's send day of a recent week (within DIGEST_CATCH_UP_DAYS, whatever today is)."""
    return digests.send_day(digests.period_for("weekly", rules.today() - datetime.timedelta(weeks=weeks_ago)))


def subscribers(count):
    make_project("正定县工人测试项目", "130123")
    users = [make_user(f"worker-{index}", "county_editor", "130123") for index in range(count)]
    for user in users:
        DigestSubscription.objects.create(user=user, frequency="weekly")
    return sorted(user.email for user in users)


def all_sent():
    return set(DigestDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_real_worker_delivers_the_digests_once(services):
    mail, workers = services
    worker = workers.start()
    emails = subscribers(2)
    dispatch_digests("weekly", "2026-11-23")  # called directly: enqueues one task per recipient
    dispatch_digests("weekly", "2026-11-23")  # a second scheduler tick: nothing more is sent
    messages = mail.handler.wait_for(2, timeout=90)
    assert worker.poll() is None, "the worker died"
    assert sorted(message["To"] for message in messages) == emails
    assert wait_until(all_sent, timeout=30)
    time.sleep(2)  # anything sent twice would have arrived by now
    assert len(mail.messages) == 2
    assert "https://projects.example.org/projects/" in messages[0].get_body(("plain",)).get_content()


def test_pool_process_killed_mid_smtp_every_subscriber_gets_exactly_one_digest(services, capsys):
    mail, workers = services
    worker = workers.start(pool="prefork")
    emails = subscribers(3)
    mail.handler.hold = 1  # the first conversation stops at RCPT: the worker is mid-SMTP
    dispatch_digests("weekly", "2026-11-23")
    assert mail.handler.wait_until_held(timeout=60), "no digest reached the mail server"
    workers.kill_pool_process(worker)  # SIGKILL, as the OOM killer does
    mail.handler.release()
    messages = mail.handler.wait_for(3, timeout=90)
    assert sorted(message["To"] for message in messages) == emails
    assert wait_until(all_sent, timeout=30)
    time.sleep(2)
    assert len(mail.messages) == 3
    assert worker.poll() is None, "the worker's main process should have lived on"
    # The operator's re-run agrees: everything sent, nothing unfinished.
    call_command("send_digests", "--frequency", "weekly", "--date", "2026-11-23")
    assert "sent 0, skipped 3, not finished 0" in capsys.readouterr().out


def test_redis_emptied_after_dispatch_the_next_catch_up_sends_everything_once(services, module_redis, settings):
    mail, workers = services
    emails = subscribers(3)
    dispatch_digests("weekly", recent_send_day().isoformat())  # recorded and queued while no worker runs ...
    flush_redis(module_redis.url)  # ... and Redis loses the queue (restarted without persistence)
    workers.start()
    time.sleep(3)
    assert not mail.messages
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    DigestDelivery.objects.update(lease_until=timezone.now() - datetime.timedelta(seconds=1))  # the grace has passed
    catch_up_digests()  # the quarter-hourly beat task
    messages = mail.handler.wait_for(3, timeout=90)
    assert sorted(message["To"] for message in messages) == emails
    assert wait_until(all_sent, timeout=30)
    catch_up_digests()
    time.sleep(3)
    assert len(mail.messages) == 3


def import_rows(count):
    return [row(str(i), f"正定后台项目{i}", "石家庄市", "正定县") for i in range(1, count + 1)]


def test_worker_killed_mid_import_writes_nothing_and_reconfirm_applies_once(services, settings):
    settings.IMPORT_BACKGROUND_ROWS = 100
    mail, workers = services
    worker = workers.start()
    coordinator = make_user("worker-sjz", "city_coordinator", "130100")
    client = client_for(coordinator)
    count = 8000
    client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("big.xlsx", workbook(import_rows(count)))})
    batch = ImportBatch.objects.get()
    assert wait_until(lambda: ImportBatch.objects.get().status == "previewed", timeout=120), ImportBatch.objects.get().error
    confirm = reverse("admin:projects_project_import_confirm", args=[batch.pk])
    client.post(confirm)

    # The bar moves: progress written by the worker is seen from this (another) connection while the
    # import's own transaction is still open.
    seen = set()

    def progress_moved():
        batch = ImportBatch.objects.get()
        if batch.status == "applying":
            seen.add(batch.progress)
        return len(seen - {0}) >= 2 or batch.status != "applying"

    assert wait_until(progress_moved, timeout=120, interval=0.02)
    assert len(seen - {0}) >= 2, f"progress seen while applying: {sorted(seen)}"
    workers.kill_whole(worker)  # mid-import, the whole worker: its message stays unacknowledged in Redis
    assert ImportBatch.objects.get().status == "applying"
    assert not Project.objects.filter(name__startswith="正定后台项目").exists()  # all or nothing

    settings.IMPORT_HEARTBEAT_STALE_SECONDS = 2
    time.sleep(2.5)
    page = client.get(confirm).content.decode()
    assert "后台导入已中断" in page and "重新确认导入" in page
    workers.start()
    client.post(confirm)
    assert wait_until(lambda: ImportBatch.objects.get().status == "applied", timeout=180), ImportBatch.objects.get().error
    assert Project.objects.filter(name__startswith="正定后台项目").count() == count
    assert Project.history.filter(name__startswith="正定后台项目").count() == count  # applied once


def test_pool_process_killed_mid_import_the_redelivered_task_resumes_it(services, settings):
    settings.IMPORT_BACKGROUND_ROWS = 100
    mail, workers = services
    worker = workers.start(pool="prefork")
    client = client_for(make_user("worker-sjz", "city_coordinator", "130100"))
    count = 6000
    client.post(reverse("admin:projects_project_import"), {"file": SimpleUploadedFile("big.xlsx", workbook(import_rows(count)))})
    batch = ImportBatch.objects.get()
    assert wait_until(lambda: ImportBatch.objects.get().status == "previewed", timeout=120), ImportBatch.objects.get().error
    client.post(reverse("admin:projects_project_import_confirm", args=[batch.pk]))
    assert wait_until(lambda: ImportBatch.objects.get().progress > 0, timeout=120, interval=0.02)
    token = ImportBatch.objects.get().claim_token
    workers.kill_pool_process(worker)
    assert wait_until(lambda: ImportBatch.objects.get().status == "applied", timeout=180), ImportBatch.objects.get().error
    batch.refresh_from_db()
    assert batch.result_summary == f"created {count}, updated 0, unchanged 0, skipped 0, errors 0"
    assert Project.history.filter(name__startswith="正定后台项目").count() == count
    assert token, "the killed run held the batch under its task id, which the redelivered task took over"


# --- Issue 21: the faults a delivery meets with a real worker (points 1, 2, 3 and 5) ----------------------

FAST_RETRIES = {"DIGEST_RETRY_COUNTDOWN": "1", "DIGEST_CLAIM_SECONDS": "4"}  # the worker's; defaults 60 and 600


def statuses():
    return sorted(DigestDelivery.objects.values_list("status", flat=True))


def catch_up_until_all_sent(timeout=90):
    """The quarter-hourly catch-up, every two seconds here, until every delivery is sent."""
    def caught_up():
        if all_sent():
            return True
        catch_up_digests()
        return False

    return wait_until(caught_up, timeout=timeout, interval=2)


def test_redis_restarted_while_digests_render_every_digest_is_sent_once(own_redis_services, settings):
    """Point 1: the render reads the cache (Redis); Redis going away under it is a transient failure."""
    mail, workers, redis_server = own_redis_services
    workers.env.update(FAST_RETRIES)
    settings.DIGEST_QUEUE_GRACE_SECONDS = 2
    emails = subscribers(4)
    dispatch_digests("weekly", recent_send_day().isoformat())  # queued while no worker runs
    with transaction.atomic():
        # The worker's render waits on the subscriptions: it has claimed its delivery and is rendering ...
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE projects_digestsubscription IN ACCESS EXCLUSIVE MODE")
        workers.start()

        def worker_rendering():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # within a transaction the view is a snapshot
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
                               [WORKER_DATABASE_APPLICATION])
                return cursor.fetchone()[0] > 0

        assert wait_until(worker_rendering, timeout=60), "the worker never started rendering"
        redis_server.stop()  # ... when Redis goes down
    started = time.monotonic()
    assert wait_until(lambda: DigestDelivery.objects.exclude(status__in=["pending", "sending"]).exists(), timeout=60)
    assert statuses().count(DeliveryStatus.FAILED) == 0, "a transient failure was taken as final"
    redis_server.start()  # back, empty: the queued tasks and the retry are gone
    use_broker(broker_url=redis_server.url)
    assert catch_up_until_all_sent(), statuses()
    print(f"point 1: all {len(emails)} sent {time.monotonic() - started:.0f} s after Redis went away")
    time.sleep(2)
    assert sorted(message["To"] for message in mail.messages) == emails  # each once


def test_an_operators_rerun_during_an_smtp_outage_leaves_the_workers_retries_to_send(services, settings, capsys):
    """Point 2: the re-run does not turn the worker's scheduled retries into final failures."""
    mail, workers = services
    workers.env.update(DIGEST_RETRY_COUNTDOWN="2")
    route_mail_to(settings, mail)
    emails = subscribers(6)
    day = recent_send_day().isoformat()
    mail.handler.refusing = True  # 451 to everything
    workers.start()
    dispatch_digests("weekly", day)
    assert wait_until(lambda: not DigestDelivery.objects.filter(attempts=0).exists(), timeout=60)
    with pytest.raises(CommandError, match="not finished"):
        call_command("send_digests", "--frequency", "weekly", "--date", day)  # the operator, during the outage
    assert DeliveryStatus.FAILED not in statuses()
    started = time.monotonic()
    mail.handler.refusing = False
    messages = mail.handler.wait_for(6, timeout=60)
    assert sorted(message["To"] for message in messages) == emails
    assert wait_until(all_sent, timeout=30), statuses()
    print(f"point 2: 6 of 6 sent {time.monotonic() - started:.0f} s after SMTP came back")
    time.sleep(2)
    assert len(mail.messages) == 6


def test_database_connection_lost_after_smtp_accepted_is_recorded_and_never_sent_again(services, settings):
    """Point 3: the worker knows the server took the message: it records "sent" (on a fresh connection,
    or on a later attempt that only records), and nothing sends it again."""
    mail, workers = services
    workers.env.update(FAST_RETRIES)
    emails = subscribers(3)
    db = connection.settings_dict
    admin_dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"

    def allow(allowed):
        import psycopg

        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
            if not allowed:  # and cut the worker's connection
                # Only this test database's workers: another run's workers on the same server are not ours.
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                              " AND datname = %s", [WORKER_DATABASE_APPLICATION, db["NAME"]])

    cut_at = []

    def cut_database(envelope):  # the message is in; the "250" is about to go out
        cut_at.append(time.monotonic())
        allow(False)
        threading.Timer(5, allow, args=[True]).start()  # PostgreSQL answers again after 5 s

    mail.handler.before_accept = cut_database
    try:
        workers.start()
        dispatch_digests("weekly", recent_send_day().isoformat())
        messages = mail.handler.wait_for(3, timeout=90)
        assert sorted(message["To"] for message in messages) == emails
        assert wait_until(all_sent, timeout=60), statuses()
        print(f"point 3: 3 of 3 recorded sent {time.monotonic() - cut_at[0]:.0f} s after the database went away for 5 s")
    finally:
        time.sleep(5)
        allow(True)
    # Every lease has run out; the catch-up and an operator's re-run find nothing to send.
    time.sleep(4)
    settings.DIGEST_QUEUE_GRACE_SECONDS = 0
    catch_up_digests()
    time.sleep(3)
    assert len(mail.messages) == 3 and all_sent()


def test_a_dispatch_queued_on_its_send_day_and_run_after_midnight_sends_that_days_digests(services, monkeypatch):
    """Point 5: beat queued the dispatch on the week's first working day; the worker was down all day and
    runs it later: it dispatches the week that was due, and the records show they went out late."""
    mail, workers = services
    emails = subscribers(2)
    day = recent_send_day(weeks_ago=1)  # a week or more ago: never "today"
    monkeypatch.setattr(rules, "today", lambda: day)  # beat's clock when it queued the task
    dispatch_digests.apply_async(kwargs={"frequency": "weekly"})  # as beat sends it: no run date
    monkeypatch.undo()
    workers.start()  # the worker is back, days later
    messages = mail.handler.wait_for(2, timeout=60)
    assert sorted(message["To"] for message in messages) == emails
    period = digests.period_for("weekly", day)
    assert set(DigestDelivery.objects.values_list("period_start", "due_on")) == {(period.start, day)}
    assert wait_until(all_sent, timeout=30)
    print(f"point 5: 2 of 2 of the week due {day} sent as soon as a worker ran the dispatch, recorded late")
