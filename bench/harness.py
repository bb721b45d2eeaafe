"""What the HTTP benches (pages.py, api.py) share: the settings both they and their gunicorn run under, the
scopes and users they measure, the write that makes a page cold, the load, and the figures.

Figures are never best-of-N: every timed request is a sample, and a row shows the median and the 95th
percentile of all its samples with their count. Warm requests come after a warm-up burst (discarded) in
batches with 1 client and with 8 concurrent clients. A cold sample is one of the N concurrent requests
(N = 1 or 8, all released at once) sent right after a write: one monthly report of a project in the page's
scope, in its largest region (the most to sum again), saved through the ORM, whose signals move the data
versions as any real write does; nothing in the cache is emptied. The write-then-N-requests cycle is
repeated, and every cold request is a sample. Measurements go in rounds that take every case in turn, with
the floors measured between the cases, so a slow spell of the machine (2 cores, other work) falls on all
rows alike.
"""

import argparse
import http.client
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.settings"


def configure():
    """Environment for this process and the gunicorn it starts, before django.setup(): the app as deployed
    (DEBUG=0, two-factor required, sessions in the database) under the bench's URLconf; the Redis given in
    REDIS_URL or one of the bench's own (bench_redis). Returns the cache URL."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DEBUG"] = "0"
    os.environ["SECRET_KEY"] = "bench-" + "k" * 50  # the sessions made here must verify under gunicorn
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"  # plain HTTP on the loopback: TLS is the proxy's
    os.environ["API_THROTTLE_RATE"] = "100000000/minute"  # the throttle runs, but never answers 429
    from bench_redis import for_this_run

    return for_this_run()


# --- figures ---------------------------------------------------------------------------------------------


class Stat:
    """Samples in milliseconds."""

    def __init__(self, values=()):
        self.values = list(values)

    def add(self, values):
        self.values.extend(values)

    @property
    def n(self):
        return len(self.values)

    @property
    def median(self):
        return statistics.median(self.values) if self.values else math.nan

    @property
    def p95(self):
        if len(self.values) < 2:
            return self.values[0] if self.values else math.nan
        return statistics.quantiles(self.values, n=20, method="inclusive")[18]

    def cell(self, width=13):
        """"median/p95"."""
        if not self.values:
            return f"{'—':>{width}}"
        return f"{f'{self.median:.0f}/{self.p95:.0f}':>{width}}" if self.median >= 10 else \
            f"{f'{self.median:.1f}/{self.p95:.1f}':>{width}}"


def ratio(stat, floor):
    if not stat.values or not floor.values or not floor.median:
        return "—"
    return f"{stat.median / floor.median:.1f}"


# --- the load --------------------------------------------------------------------------------------------


class BadAnswer(RuntimeError):
    pass


def fetch(port, path, headers):
    """One GET on a new connection (gunicorn's sync workers close each one): (status, body, ms)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return response.status, body, (time.perf_counter() - started) * 1000


def burst(port, path, headers, clients, each=1):
    """`clients` threads released at once, each sending `each` requests in turn; their latencies (ms).
    Any answer but 200 fails the bench."""
    latencies, errors = [], []
    lock = threading.Lock()
    gate = threading.Barrier(clients)

    def client():
        try:
            gate.wait()
            for _ in range(each):
                status, body, ms = fetch(port, path, headers)
                with lock:
                    if status == 200:
                        latencies.append(ms)
                    else:
                        errors.append((status, body[:300]))
        except Exception as error:  # noqa: BLE001 — reported below, in the main thread
            with lock:
                errors.append((type(error).__name__, str(error)[:300]))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BadAnswer(f"GET {path}: {len(errors)} bad answers, first {errors[0]!r}")
    return latencies


class Server:
    """gunicorn serving the bench's settings on a free port of the loopback."""

    def __init__(self, workers, probe_path="/accounts/login/"):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.workers = workers
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "hebei_projects.wsgi", "--workers", str(workers),
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "600"],
            cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS},
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            try:
                status, _body, _ms = fetch(self.port, probe_path, {})
                if status < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("gunicorn did not answer within 60 s")
            time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- how many samples ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Samples per case: cold cycles (a write, then N concurrent requests) and warm requests, spread over
    `rounds`; the floors' requests likewise."""

    rounds: int
    cold_1: int  # cycles of 1 request
    cold_8: int  # cycles of 8 concurrent requests
    warm_1: int  # requests, 1 client
    warm_8: int  # requests, 8 clients
    rows_1: int  # the rows floor, 1 client
    rows_8: int  # the rows floor, 8 clients
    floor_1: int = 2  # the minimal floor, after a case, 1 client
    floor_8: int = 8  # and 8 clients
    floor_every: int = 1  # the minimal floor after every this many cases

    def per_round(self, count):
        return max(1, math.ceil(count / self.rounds))

    def describe(self):
        r = self.rounds
        return (f"per row: cold {self.per_round(self.cold_1) * r} cycles of a write and 1 request, "
                f"{self.per_round(self.cold_8) * r} cycles of a write and 8 concurrent requests "
                f"({self.per_round(self.cold_8) * r * 8} samples); warm {self.per_round(self.warm_1) * r} requests with 1 client, "
                f"{self.per_round(self.warm_8 // 8) * r * 8} with 8 clients; in {r} round{'s' * (r > 1)} taking every row in turn")


FULL = Plan(rounds=3, cold_1=12, cold_8=4, warm_1=45, warm_8=96, rows_1=24, rows_8=48)
QUICK = Plan(rounds=1, cold_1=2, cold_8=1, warm_1=5, warm_8=8, rows_1=3, rows_8=8, floor_1=2, floor_8=8, floor_every=3)


@dataclass
class Case:
    scope: "Scope"
    label: str
    path: str
    headers: dict
    rows_floor: str | None = None  # the path of its plain-SQL rows, if it has one
    rows_at_8: bool = True  # its rows floor measured with 8 clients too (not a floor of seconds: the dashboard's)
    floor: str | None = None  # the path of its scope's minimal floor
    stats: dict = field(default_factory=lambda: {mode: Stat() for mode in ("cold_1", "cold_8", "warm_1", "warm_8")})
    rows_stats: dict = field(default_factory=lambda: {mode: Stat() for mode in ("warm_1", "warm_8")})
    info: dict = field(default_factory=dict)  # queries, rows, same rows…


def measure(server, cases, plan, floors, progress=True):
    """Every case's samples, in rounds; after each case (every plan.floor_every cases) a few requests of its
    scope's minimal floor, whose samples (floors[scope name]: {"warm_1", "warm_8"}) are pooled over the run."""
    port = server.port
    total = len(cases) * plan.rounds
    done = 0
    started = time.perf_counter()
    for _round in range(plan.rounds):
        for index, case in enumerate(cases):
            write = case.scope.write
            for _cycle in range(plan.per_round(plan.cold_1)):
                write()
                case.stats["cold_1"].add(burst(port, case.path, case.headers, 1))
            for _cycle in range(plan.per_round(plan.cold_8)):
                write()
                case.stats["cold_8"].add(burst(port, case.path, case.headers, 8))
            burst(port, case.path, case.headers, 8)  # warm-up after the writes: every worker, every cache
            case.stats["warm_1"].add(burst(port, case.path, case.headers, 1, plan.per_round(plan.warm_1)))
            case.stats["warm_8"].add(burst(port, case.path, case.headers, 8, plan.per_round(plan.warm_8 // 8)))
            if case.rows_floor:
                burst(port, case.rows_floor, case.headers, 1)  # nothing to warm but the worker's first use
                case.rows_stats["warm_1"].add(burst(port, case.rows_floor, case.headers, 1, plan.per_round(plan.rows_1)))
                if case.rows_at_8:
                    case.rows_stats["warm_8"].add(burst(port, case.rows_floor, case.headers, 8, plan.per_round(plan.rows_8 // 8)))
            if index % plan.floor_every == 0 or index == len(cases) - 1:
                floor = floors[case.scope.name]
                floor["warm_1"].add(burst(port, case.floor, case.headers, 1, plan.floor_1))
                floor["warm_8"].add(burst(port, case.floor, case.headers, 8, max(1, plan.floor_8 // 8)))
            done += 1
            if progress and done % 10 == 0:
                print(f"  … {done}/{total} rows measured in {time.perf_counter() - started:.0f}s", flush=True)


# --- scopes, users, the write ----------------------------------------------------------------------------


@dataclass
class Scope:
    name: str  # province, city, county
    region: object
    param: str  # the floors' scope= parameter
    user: object = None
    visible: int = 0
    report: object = None  # the monthly report the cold cycles save

    def write(self):
        """A real write in this scope: one monthly report saved through the ORM (an UPDATE and its history
        row); the model signals move the data versions of its project's regions, as for any save."""
        self.report.save()


def scopes_worst_placed():
    """The province; the county whose projects sort last in the default order (PROJECT_ORDER: a page of
    its projects lies furthest along the order's index); and the city-level unit it reports to."""
    from projects.domain.choices import RegionLevel
    from projects.models import PROJECT_ORDER, Project, Region

    last = Project.objects.filter(county__isnull=False).order_by(*(f"-{key}" for key in PROJECT_ORDER)).select_related(
        "county", "city").first()
    if last is None:
        raise SystemExit("no project with a county: is the database seeded?")
    return [
        Scope("province", Region.objects.get(level=RegionLevel.PROVINCE), "all"),
        Scope("city", last.city, f"city:{last.city_id}"),
        Scope("county", last.county, f"county:{last.county_id}"),
    ]


def bench_users(prefix, scopes):
    """The bench's user of each scope (province administrator, city coordinator, county editor; staff, for
    the admin), reused across runs, each with a confirmed authenticator (two factors are required when
    DEBUG is off); the report each scope's cold cycles save, in the scope's largest region."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from projects.accounts.services import user_set_role
    from projects.domain.choices import Role
    from projects.models import MonthlyReport, Project, User

    roles = {"province": Role.PROVINCE_ADMIN, "city": Role.CITY_COORDINATOR, "county": Role.COUNTY_EDITOR}
    for scope in scopes:
        user, _created = User.objects.get_or_create(
            username=f"{prefix}{scope.name}",
            defaults={"email": f"{prefix}{scope.name}@example.org", "region": scope.region, "is_staff": True},
        )
        if user.region_id != scope.region.pk or not user.is_active or not user.is_staff:
            user.region, user.is_active, user.is_staff = scope.region, True, True
            user.save()
        user_set_role(user=user, role=roles[scope.name])
        TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
        scope.user = User.objects.get(pk=user.pk)
        visible = Project.objects.visible_to(scope.user)
        scope.visible = visible.count()
        scope.report = MonthlyReport.objects.filter(project__in=_in_largest_region(visible).values("pk")).order_by(
            "-month", "pk").first()
        if scope.report is None:
            raise SystemExit(f"no monthly report in the {scope.name}'s scope to write")
    return scopes


def _in_largest_region(projects):
    """The projects of the region (a county, or a city-level unit's own projects) with most projects among
    `projects`: a write there makes the most to sum again for the province's and its city's figures."""
    from django.db.models import Count

    largest = projects.order_by().values("city", "county").annotate(count=Count("pk")).order_by("-count").first()
    return projects.filter(city=largest["city"], county=largest["county"]) if largest else projects


def verified_session_cookie(user):
    """A browser's cookies after a password and a second factor: the session, and the CSRF secret the login form
    gave it (the admin keeps a changelist page for a browser that holds one). The Cookie header for them."""
    from django.conf import settings
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.test import Client
    from django.utils.crypto import get_random_string
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, name="bench").persistent_id
    session.save()
    secret = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={secret}"


def collectstatic():
    """As a deployment does: the manifest of hashed static files that DEBUG=0 serves."""
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT,
                   env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}, check=True)


def require_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("this bench needs PostgreSQL (DATABASE_URL=postgres://…): its floors are PostgreSQL SQL")


def server_bench_options():
    """The options bench/pages.py and bench/api.py share: (args, plan, projects to seed)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 projects and fewer samples")
    parser.add_argument("--projects", type=int, help="demo projects to seed (default 100,000; 10,000 with --quick)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--rounds", type=int, help="rounds the samples are spread over")
    parser.add_argument("--only", metavar="REGEX", help="the rows whose 'scope case' matches (as 'province dashboard')")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**plan.__dict__, "rounds": args.rounds})
    return args, plan, args.projects or (10_000 if args.quick else 100_000)
