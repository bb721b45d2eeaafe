"""End to end with the real services: Redis as broker, a `celery worker` subprocess, PostgreSQL, SMTP.

Runs when CELERY_WORKER_TEST=1 (set by .ci/run on its PostgreSQL pass); then a missing service fails
the test instead of skipping it. The worker must share the test database, so this needs PostgreSQL.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from hebei_projects.celery import app as celery_app
from projects.models import DeliveryStatus, DigestDelivery, DigestSubscription
from projects.services import reference_data_load
from projects.tasks import dispatch_digests

from .conftest import make_project, make_user
from .mailserver import MailServer

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("CELERY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.services


def require_services():
    if os.environ.get("CELERY_WORKER_TEST") != "1":
        pytest.skip("set CELERY_WORKER_TEST=1 (with PostgreSQL and Redis running) to run the worker end to end")
    if connection.vendor != "postgresql":
        pytest.fail("CELERY_WORKER_TEST needs DATABASE_URL pointing at PostgreSQL: the worker shares the test database")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis is required at {REDIS_URL}: {error}")


def use_broker(**conf):
    celery_app.conf.update(conf)
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._after_fork()  # forget pooled connections to the previous broker


@pytest.fixture
def worker_env(settings):
    require_services()
    with MailServer() as mail:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hebei_projects.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": REDIS_URL,
            "EMAIL_URL": mail.url,
            "SITE_URL": "https://projects.example.org",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hebei_projects", "worker", "--pool", "solo",
             "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # This process is the producer: it enqueues to the same Redis instead of running tasks in-process.
        previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager", "result_backend")}
        use_broker(broker_url=REDIS_URL, task_always_eager=False, result_backend=REDIS_URL)
        try:
            yield mail, worker
        finally:
            use_broker(**previous)
            worker.terminate()
            try:
                output, _ = worker.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                output, _ = worker.communicate()
            print(output[-5000:])


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_digests_once(worker_env):
    mail, worker = worker_env
    try:
        reference_data_load()  # a transactional test starts from an empty database
        editor = make_user("worker-zd", "county_editor", "130123")
        coordinator = make_user("worker-sjz", "city_coordinator", "130100")
        make_project("正定县工人测试项目", "130123")
        for user in (editor, coordinator):
            DigestSubscription.objects.create(user=user, frequency="weekly")

        dispatch_digests("weekly", "2026-11-23")  # called directly: enqueues one task per recipient
        dispatch_digests("weekly", "2026-11-23")  # a second scheduler tick: nothing more is sent
        messages = mail.handler.wait_for(2, timeout=90)
        assert worker.poll() is None, "the worker died"
        assert sorted(message["To"] for message in messages) == ["worker-sjz@example.org", "worker-zd@example.org"]
        deadline = time.monotonic() + 30
        while DigestDelivery.objects.exclude(status=DeliveryStatus.SENT).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert set(DigestDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
        time.sleep(2)  # anything sent twice would have arrived by now
        assert len(mail.messages) == 2
        assert "https://projects.example.org/projects/" in messages[0].get_body(("plain",)).get_content()
    finally:
        # Leave the reference data for the tests that follow (this test's flush removed it).
        reference_data_load()
