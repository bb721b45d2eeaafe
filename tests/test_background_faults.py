"""Issue 21, points 4, 6, 7 and 8: the faults background work and the site meet besides the mail's.

- Supervision run twice at once (two beats, or beat and an operator's `supervise`): the same items, steps
  and mails as one run (a run lock and partial unique constraints; PostgreSQL, real concurrent runs).
- Redis down: every page and the API answer, slower and uncached, and load_reference_data runs (a Redis of
  the test's own, started and killed here: the shared one is never touched).
- A PostgreSQL connection cut under a request: a read is retried once on a fresh connection, a write
  answers the site's own error page, and nothing is half-written.
- The benches never empty a Redis they were not given.
"""

import os
import shutil
import subprocess
import time
from datetime import date as D

import pytest
from django.db import connection
from django.test import Client

from projects.domain import rules
from projects.domain.choices import Role, Stage, Status, SupervisionCause, SupervisionLevel, SupervisionStepKind
from projects.models import DigestDelivery, Problem, SupervisionItem, SupervisionStep
from projects.supervision import services as supervision

from .concurrency import at_once, on_postgresql  # noqa: F401  (the fixture)
from .conftest import ZHENGDING, make_project, make_user
from .mailserver import free_port

# --- Point 4: supervision run twice at once ---------------------------------------------------------------






def supervision_state():
    """What a run leaves: open items per (project, cause, problem), steps per (item, kind, level), history rows."""
    items = sorted(SupervisionItem.objects.values_list("project_id", "cause", "problem_id", "level", "status"))
    steps = sorted(SupervisionStep.objects.values_list("item__project_id", "item__cause", "item__problem_id", "kind", "level"))
    return items, steps, SupervisionItem.history.count(), DigestDelivery.objects.count()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_supervision_run_twice_at_once_opens_escalates_and_mails_as_one_run(on_postgresql, monkeypatch):
    make_user("sjz", Role.CITY_COORDINATOR, "130100")  # mailed when the items reach the city
    projects = [make_project(f"正定县停建项目{index}", ZHENGDING, stage=Stage.PREPARATORY, status=Status.STALLED)
                for index in range(40)]
    for project in projects[:10]:  # two old problems each: an item per problem
        for text in ("用地指标未落实", "环评未批复"):
            Problem.objects.create(project=project, description=text, raised_on=D(2026, 8, 1))
    opening, escalating = D(2026, 9, 24), D(2026, 10, 10)  # the limit ends 10-09; 10-10 is a Saturday worked (调休)
    monkeypatch.setattr(rules, "today", lambda: opening)

    def run(day):
        return lambda: supervision.supervision_run(on=day, enqueue=lambda pk: None)

    for day in (opening, escalating):
        monkeypatch.setattr(rules, "today", lambda day=day: day)
        answers = at_once([run(day), run(day)])
        assert not [answer for answer in answers if isinstance(answer, Exception)], answers
        items, steps, history, deliveries = supervision_state()
        # As one run: one open item per red project and per old problem, one step of each kind per item.
        assert len(items) == len(set(items)) == 40 + 20
        assert len(steps) == len(set(steps))
        if day == opening:
            assert sum(answer.opened for answer in answers) == 60
            assert {kind for *_, kind, _level in steps} == {SupervisionStepKind.OPENED} and history == 60
            assert deliveries == 0
        else:
            assert sum(answer.escalated for answer in answers) == 60
            assert sum(1 for *_, kind, level in steps
                       if (kind, level) == (SupervisionStepKind.ESCALATED, SupervisionLevel.CITY)) == 60
            assert history == 120 and deliveries == 1
            assert sum(answer.mails for answer in answers) == 1
        assert {level for *_, level, _status in items} == {
            SupervisionLevel.COUNTY if day == opening else SupervisionLevel.CITY}
        # And a third run the same day changes nothing.
        assert str(supervision.supervision_run(on=day, enqueue=lambda pk: None)) == "opened 0, closed 0, escalated 0, mails 0"


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_automatic_item_and_the_run_passes_over_it(users, monkeypatch):
    """What holds the runs apart on every database: the partial unique constraints, and the run's INSERT
    that passes over a conflicting row (as when another writer opened it between the run's read and write)."""
    from django.db import IntegrityError, transaction

    project = make_project("正定县停建项目", ZHENGDING, stage=Stage.PREPARATORY, status=Status.STALLED)
    problem = Problem.objects.create(project=project, description="用地指标未落实", raised_on=D(2026, 8, 1))
    day = D(2026, 9, 24)
    monkeypatch.setattr(rules, "today", lambda: day)
    assert supervision.supervision_run(on=day, enqueue=lambda pk: None).opened == 2

    def again(cause, **extra):
        return SupervisionItem(project=project, cause=cause, description="again", level=SupervisionLevel.COUNTY,
                               opened_on=day, due_on=day, **extra)

    for cause, extra in ((SupervisionCause.RED_LIGHT, {}), (SupervisionCause.OLD_PROBLEM, {"problem": problem})):
        with pytest.raises(IntegrityError), transaction.atomic():
            again(cause, **extra).save()
        assert supervision._create_items([again(cause, **extra)], automatic=True) == []
    assert supervision._create_items([again(SupervisionCause.OVERDUE_REPORT, report_month=D(2026, 8, 1))], automatic=True)
    assert SupervisionItem.objects.count() == 3 and SupervisionStep.objects.count() == 3
    # Items opened by hand are not limited, and a closed item does not count.
    supervision._create_items([again(SupervisionCause.MANUAL), again(SupervisionCause.MANUAL)])
    SupervisionItem.objects.filter(cause=SupervisionCause.RED_LIGHT).update(status="closed")
    assert len(supervision._create_items([again(SupervisionCause.RED_LIGHT)], automatic=True)) == 1


# --- Point 6: Redis down ----------------------------------------------------------------------------------


@pytest.fixture
def own_redis():
    """A redis-server of this test's own on a free port (the shared one is never stopped nor emptied):
    (its URL, its process). Needed, not optional: CI installs Redis."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required for the Redis-down test (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield url, process
    if process.poll() is None:
        process.kill()
    process.wait()


def restart_redis(process, url):
    """own_redis's server started again, empty, on its port (answering pings): its process."""
    import redis

    restarted = subprocess.Popen(process.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return restarted


def settings_for(**environ):
    """The settings module as it reads `environ` (what production gets from its environment)."""
    import importlib.util
    from unittest import mock

    import hebei_projects.settings as real

    spec = importlib.util.spec_from_file_location("settings_probe", real.__file__)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, environ):
        spec.loader.exec_module(module)
    return module


SITE_PAGES = ["/", "/projects/", "/projects/?light=red", "/supervision/", "/reports/", "/reports/review/", "/actions/",
              "/profile/", "/admin/", "/admin/projects/project/", "/api/v1/projects/", "/api/v1/dashboard/"]


@pytest.mark.django_db
def test_redis_down_every_page_and_the_api_answer_uncached_and_reference_data_loads(
        own_redis, users, projects, settings, caplog, django_capture_on_commit_callbacks):
    from django.core.management import call_command
    from django.urls import reverse

    from projects import tasks
    from projects.domain.choices import MailKind
    from projects.mail import delivery
    from projects.models import DeliveryStatus

    from .test_celery_worker import use_broker

    url, process = own_redis
    production = settings_for(REDIS_URL=url, CACHE_DOWN_RETRY_SECONDS="0.2")
    settings.CACHES = production.CACHES
    settings.SESSION_ENGINE = getattr(production, "SESSION_ENGINE", "django.contrib.sessions.backends.db")
    admin = users["province_admin"]
    pages = SITE_PAGES + [f"/projects/{projects['zhengding'].pk}/"]
    client = Client(raise_request_exception=False)
    assert client.post(reverse("login"), {"username": admin.username, "password": "correct-horse-battery-staple"}).status_code == 302
    assert {page: client.get(page).status_code for page in pages} == {page: 200 for page in pages}  # Redis up: cached

    process.kill()  # Redis goes down under a logged-in user
    process.wait()
    with caplog.at_level("WARNING"):
        answers = {page: client.get(page) for page in pages}
        assert {page: answer.status_code for page, answer in answers.items()} == {page: 200 for page in pages}
        for answer in answers.values():  # nothing alarming to users
            assert b"Redis" not in answer.content and b"ConnectionError" not in answer.content
        assert client.get("/projects/?light=red&page=1").status_code == 200
        # A new login still works (sessions are not in the cache), and the reference data loads.
        other = Client(raise_request_exception=False)
        assert other.post(reverse("login"), {"username": "sjz", "password": "correct-horse-battery-staple"}).status_code == 302
        assert other.get("/").status_code == 200
        call_command("load_reference_data", stdout=open(os.devnull, "w"))
        # A task that cannot be queued stays recorded (pending), for the catch-up to queue when Redis is back.
        previous = {key: tasks.deliver_digest.app.conf[key] for key in ("broker_url", "task_always_eager", "result_backend")}
        use_broker(broker_url=url, task_always_eager=False, result_backend=url)
        started = time.monotonic()
        try:
            with django_capture_on_commit_callbacks(execute=True):
                delivery.deliveries_record([{"user": admin, "kind": MailKind.SUPERVISION_ESCALATED, "period_start": D(2026, 10, 9),
                                             "period_end": D(2026, 10, 9), "key": "supervision"}], enqueue=tasks.enqueue_delivery)
        finally:
            use_broker(**previous)
        assert time.monotonic() - started < 5  # failing fast (it used to wait ~19 s for the result backend)
        assert DigestDelivery.objects.get(user=admin).status == DeliveryStatus.PENDING
    # The operator's log says the cache is down (once, not per call), and that the task was not queued.
    cache_warnings = [record.getMessage() for record in caplog.records if record.name == "hebei_projects.cache"]
    assert len(cache_warnings) == 1 and cache_warnings[0].startswith("cache unavailable"), cache_warnings
    assert any("could not queue" in record.getMessage() for record in caplog.records)

    # Redis back (restarted empty on its port): used again, and the data version moved past the outage.
    from django.core.cache import cache

    from projects.shared import versions

    restarted = restart_redis(process, url)
    try:
        import redis

        time.sleep(0.3)  # past CACHE_DOWN_RETRY_SECONDS
        with caplog.at_level("WARNING"):
            assert client.get("/").status_code == 200
        assert "cache available again: Redis answers" in [record.getMessage() for record in caplog.records]
        assert redis.Redis.from_url(url).dbsize() > 0  # the dashboard's summaries are cached again
        assert versions.data_version() >= 2 and cache.get(versions.DATA_VERSION_KEY) >= 2
    finally:
        restarted.kill()
        restarted.wait()


def test_the_cache_keeps_one_redis_client_and_it_survives_a_restart(own_redis, monkeypatch):
    """Django's Redis backend built a redis.Redis for every call (0.1 ms of set-up each, twenty calls a cold page)."""
    import redis

    from hebei_projects.cache import ResilientRedisCache

    url, process = own_redis
    built = []
    real_init = redis.Redis.__init__
    monkeypatch.setattr(redis.Redis, "__init__", lambda self, *args, **kwargs: built.append(1) or real_init(self, *args, **kwargs))
    cache = ResilientRedisCache(url, {"OPTIONS": {"down_retry_seconds": 0}})
    for index in range(10):
        cache.set(f"key-{index}", index)
        assert cache.get(f"key-{index}") == index
    assert cache.get_many(["key-1", "key-2"]) == {"key-1": 1, "key-2": 2}
    assert len(built) == 1
    process.kill()
    process.wait()
    assert cache.get("key-1", "missed") == "missed"  # down: an empty cache's answer
    restarted = restart_redis(process, url)
    try:
        cache.set("after", 1)  # the kept client's pool connects again
        assert cache.get("after") == 1
    finally:
        restarted.kill()
        restarted.wait()


def test_the_redis_cache_reads_any_key_without_looking_at_each_character(own_redis, monkeypatch):
    """Issue 24: Django's BaseCache checked every character of every key for memcached's sake (a third of reading a
    cold dashboard's 300 data versions). Redis takes any key: long ones and ones with spaces are kept and read."""
    import warnings

    from django.core.cache.backends import base

    from hebei_projects.cache import ResilientRedisCache

    url, _process = own_redis
    cache = ResilientRedisCache(url, {"OPTIONS": {"down_retry_seconds": 0}})
    monkeypatch.setattr(base, "memcache_key_warnings", lambda key: pytest.fail(f"{key!r} looked at character by character"))
    keys = {f"projects:data-version:part:county:{index}:{index % 32}": index for index in range(300)}
    long_key = "projects:summary:" + "x" * 300 + " with spaces"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CacheKeyWarning either
        cache.set_many({**keys, long_key: "kept"})
        assert cache.get_many(list(keys)) == keys
        assert cache.get(long_key) == "kept"


# --- Point 8: the benches never empty a Redis they were not given -----------------------------------------------


BENCH = __import__("pathlib").Path(__file__).resolve().parent.parent / "bench"


def test_no_bench_names_a_shared_redis_or_empties_a_cache():
    for path in sorted(BENCH.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert ":6379" not in source and 'setdefault("REDIS_URL"' not in source, f"{path.name} picks a shared Redis"
        assert "cache.clear()" not in source, f"{path.name} empties a cache it may share"


def test_a_bench_uses_the_redis_it_is_given_or_one_of_its_own(monkeypatch):
    import redis

    monkeypatch.syspath_prepend(str(BENCH))
    from bench_redis import use_given_or_own_redis

    monkeypatch.setenv("REDIS_URL", "redis://redis.example.org:6379/3")
    with use_given_or_own_redis() as url:
        assert url == os.environ["REDIS_URL"] == "redis://redis.example.org:6379/3"  # as given, untouched

    monkeypatch.delenv("REDIS_URL")
    with use_given_or_own_redis() as url:
        assert url == os.environ["REDIS_URL"] and ":6379/" not in url
        assert redis.Redis.from_url(url).ping()  # its own server, for its own run
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()  # and stopped after it


# --- Point 7: a PostgreSQL connection cut under a request ---------------------------------------------------


@pytest.fixture
def cut(on_postgresql):
    """(arm, made): after arm(fragment, times=1), the next `times` queries of this thread's connection whose
    SQL contains `fragment` find their connection terminated (pg_terminate_backend from a second connection,
    as an operator or a failover does); `made` lists the cuts made."""
    made = []
    state = {"fragment": None, "times": 0}

    def terminate_own_backend():
        pid = connection.connection.info.backend_pid
        other = connection.get_new_connection(connection.get_connection_params())
        try:
            other.autocommit = True
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                for _ in range(100):  # until the backend is gone: the next query must meet a dead connection
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                    if not cursor.fetchone()[0]:
                        break
                    time.sleep(0.02)
        finally:
            other.close()
        made.append(pid)

    def wrapper(execute, sql, params, many, context):
        if state["times"] and state["fragment"] in sql:
            state["times"] -= 1
            terminate_own_backend()
        return execute(sql, params, many, context)

    def arm(fragment, times=1):
        state["fragment"], state["times"] = fragment, times

    with connection.execute_wrapper(wrapper):
        yield arm, made
    connection.close()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_connection_cut_a_read_is_retried_once_and_a_save_answers_the_site_error_page_writing_nothing(cut, monkeypatch,
                                                                                                     settings):
    from django.urls import reverse

    arm, made = cut
    settings.SESSION_RENEW_SECONDS = 0  # every request renews its session: the cuts under its save need one
    users = {"zd": make_user("zd", Role.COUNTY_EDITOR, ZHENGDING)}
    project = make_project("正定县停建项目", ZHENGDING, stage=Stage.PREPARATORY, status=Status.STALLED)
    day = D(2026, 9, 24)
    monkeypatch.setattr(rules, "today", lambda: day)
    supervision.supervision_run(on=day, enqueue=lambda pk: None)
    item = SupervisionItem.objects.get(project=project)
    client = Client(raise_request_exception=False)
    client.force_login(users["zd"])
    url = reverse("supervision_item", args=[item.pk])

    # Reads: the connection dies under the page's query; the page is read again on a fresh connection.
    # Also under the session's load and under its save, after the page was answered.
    for page, fragment in ((url, 'FROM "projects_supervisionitem"'), ("/projects/", 'FROM "projects_project"'),
                           ("/api/v1/supervision-items/", 'FROM "projects_supervisionitem"'),
                           (url, 'FROM "django_session"'), (url, 'UPDATE "django_session"')):
        cuts = len(made)
        arm(fragment)
        response = client.get(page)
        assert len(made) == cuts + 1, f"{page}: the connection was not cut"
        assert response.status_code == 200, (page, response.status_code)
        assert (project.name if "/api/" not in page else "项目亮红灯") in response.content.decode()

    # Cut again under the read of the retry: once is all; the page (or the API) says so, no traceback.
    arm('FROM "projects_supervisionitem"', times=2)
    response = client.get(url)
    assert response.status_code == 500 and "服务器出错" in response.content.decode()
    assert "本次提交未保存任何内容" not in response.content.decode()  # a read saves nothing
    arm('FROM "projects_supervisionitem"', times=2)
    response = client.get("/api/v1/supervision-items/")
    assert (response.status_code, response["Retry-After"]) == (503, "5") and "detail" in response.json()
    assert client.get(url).status_code == 200

    # A save: the connection dies between the item's update and its closing step. Nothing is written, and
    # the user gets the site's own error page (their layout, no traceback), not a bare 500.
    steps, history = SupervisionStep.objects.count(), SupervisionItem.history.count()
    arm('INSERT INTO "projects_supervisionstep"')
    response = client.post(url, {"close": "1", "result": "已协调解决"}, HTTP_REFERER=f"http://testserver{url}")
    assert made and response.status_code == 500
    page = response.content.decode()
    assert "服务器出错" in page and 'class="who"' in page and "Traceback" not in page
    assert "本次提交未保存任何内容" in page and "返回上一页" in page
    item.refresh_from_db()
    assert item.is_open and SupervisionStep.objects.count() == steps and SupervisionItem.history.count() == history
    # The same save again, cut after it committed (under the session's save): done once, answered as done.
    arm('UPDATE "django_session"')
    assert client.post(url, {"close": "1", "result": "已协调解决"}).status_code == 302
    item.refresh_from_db()
    assert not item.is_open and SupervisionStep.objects.count() == steps + 1
    assert client.get(url).status_code == 200  # still logged in


def test_only_a_lost_connection_is_read_again_not_a_querys_own_failure():
    from django.db import IntegrityError, InterfaceError, OperationalError

    from hebei_projects.middleware import _connection_lost

    class DriverError(Exception):
        def __init__(self, sqlstate):
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    def error(kind, sqlstate):
        raised = kind("…")
        raised.__cause__ = DriverError(sqlstate)
        return raised

    assert _connection_lost(error(OperationalError, None))  # "the connection is lost", "server closed the connection"
    assert _connection_lost(error(OperationalError, "57P01"))  # terminating connection due to administrator command
    assert _connection_lost(error(OperationalError, "08006")) and _connection_lost(InterfaceError("connection already closed"))
    assert not _connection_lost(error(OperationalError, "55P03"))  # lock not available
    assert not _connection_lost(error(OperationalError, "57014"))  # statement timeout
    assert not _connection_lost(error(OperationalError, "40001"))  # serialization failure
    assert not _connection_lost(error(IntegrityError, None)) and not _connection_lost(ValueError())
