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
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from hebei_projects.celery import app as celery_app
from projects.models import DeliveryStatus, DigestDelivery, DigestSubscription, ImportBatch, Project
from projects.services import reference_data_load
from projects.tasks import catch_up_digests, dispatch_digests

from .conftest import make_project, make_user
from .mailserver import MailServer
from .test_access import client_for
from .test_import import row, workbook

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("CELERY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def require_services():
    if os.environ.get("CELERY_WORKER_TEST") != "1":
        pytest.skip("set CELERY_WORKER_TEST=1 (with PostgreSQL and Redis running) to run the workers end to end")
    if connection.vendor != "postgresql":
        pytest.fail("CELERY_WORKER_TEST needs DATABASE_URL pointing at PostgreSQL: the worker shares the test database")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis is required at {REDIS_URL}: {error}")


def flush_redis():
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def use_broker(**conf):
    from kombu import pools

    celery_app.conf.update(conf)
    pools.reset()  # close and forget every pooled connection (kombu keeps pools per broker URL)
    celery_app._after_fork()  # and the app's references to them


def wait_until(condition, timeout=60, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


class Workers:
    """Start `celery worker` subprocesses on the test database and kill them as the OOM killer would."""

    def __init__(self, mail):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hebei_projects.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": REDIS_URL,
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


@pytest.fixture
def services(settings):
    """(mail server, Workers); this process enqueues to the same Redis instead of running tasks itself."""
    require_services()
    reference_data_load()  # a transactional test starts from an empty database
    with MailServer() as mail:
        workers = Workers(mail)
        previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager", "result_backend")}
        use_broker(broker_url=REDIS_URL, task_always_eager=False, result_backend=REDIS_URL)
        try:
            yield mail, workers
        finally:
            use_broker(**previous)
            workers.stop_all()
            print("\n".join(output[-5000:] for output in workers.output))
            reference_data_load()  # leave the reference data for the tests that follow


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


def test_redis_emptied_after_dispatch_the_next_catch_up_sends_everything_once(services, settings):
    mail, workers = services
    emails = subscribers(3)
    dispatch_digests("weekly", "2026-11-23")  # recorded and queued while no worker runs ...
    flush_redis()  # ... and Redis loses the queue (restarted without persistence)
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
