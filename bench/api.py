"""The REST API with many projects, behind gunicorn: the project list (first page and the next one
through the cursor), a project's detail (plans and latest report) and the list filtered by light and by
county, for a province user and a user of the biggest ordinary county, with API tokens; SQL queries per
request (at page_size=10 and 100, which must be the same), median and 95th percentile with 1 client and
with 8 concurrent clients, and the ratio to a floor measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/api.py [--projects 100000] [--requests 96] [--rounds 3] [--workers 4] [--show-sql]

The floor is a trivial authenticated request of the same server (GET /api/v1/programmes/: token,
permissions and throttle, a dozen rows), measured in turn with the operations. Queries are counted in
this process through Django's test Client over one kept connection (DEBUG off), in a pass of their own;
latencies come from a real server (gunicorn, DEBUG=0, throttle rate raised so that it never answers 429)
with Python threads as clients: every path warmed on every worker, then the requests of each client level
sent in rounds that take every path in turn, so that a slow spell of the machine does not fall on one row.

The bench's users are named bench-api-*; their API tokens are deleted at start and at the end.
"""

import argparse
import datetime
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")
os.environ["SECRET_KEY"] = "bench-" + "k" * 50
# Production shares its cache (the throttle's request history among others) in Redis; so does the bench:
# the Redis it is given (REDIS_URL), else one of its own (bench_redis), never a shared one it was not given.
from bench_redis import for_this_run  # noqa: E402

for_this_run()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Before anything renders or runs a query: the database wrappers log queries whenever DEBUG is on.
settings.DEBUG = False

from common import keep_one_connection, prepare_database  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import Count, Exists, OuterRef  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.accounts.services import user_set_role  # noqa: E402
from projects.domain.choices import RegionLevel, Role  # noqa: E402
from projects.models import ApiToken, MonthlyReport, Project, Region, User  # noqa: E402

PREFIX = "bench-api-"
CLIENTS = 8
API = "/api/v1"
FLOOR = f"{API}/programmes/"
THROTTLE = "1000000/minute"


# --- users and tokens ------------------------------------------------------------------------------------


def bench_user(suffix, role, region):
    """The bench's user of `role` for `region`, reused across runs (moved to `region` if need be)."""
    user, _created = User.objects.get_or_create(
        username=f"{PREFIX}{suffix}", defaults={"email": f"{PREFIX}{suffix}@example.org", "region": region},
    )
    if user.region_id != region.pk or not user.is_active:
        user.region, user.is_active = region, True
        user.save()
    if user.has_usable_password():
        user.set_unusable_password()
        user.save()
    user_set_role(user=user, role=role)
    return User.objects.get(pk=user.pk)


def biggest_county():
    """The ordinary county (not a unit that reports on its own, as 辛集 and 定州 do) with the most projects."""
    ordinary = Region.objects.filter(level=RegionLevel.COUNTY, is_reporting_unit=False)
    top = (Project.objects.filter(county__in=ordinary).values("county").annotate(n=Count("pk")).order_by("-n", "county").first())
    return Region.objects.get(pk=top["county"])


def detail_projects(county):
    """Two projects of `county`: one with the fewest plans and one with the most plans and a report."""
    projects = Project.objects.filter(county=county).annotate(
        n=Count("plans"), reported=Exists(MonthlyReport.objects.filter(project=OuterRef("pk"))))
    return projects.order_by("n", "pk").first(), projects.order_by("-n", "-reported", "pk").first()


# --- queries, in this process ----------------------------------------------------------------------------

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w\"])-?\d+(?:\.\d+)?(?![\w\"])")
_LIST = re.compile(r"\(\s*(?:N|\?|%s|NULL)(?:\s*,\s*(?:N|\?|%s|NULL))*\s*\)")


def normalise(sql):
    """The query's text with its values stripped: literals, numbers and lists of values."""
    sql = _NUMBER.sub("N", _STRING.sub("?", sql))
    return " ".join(_LIST.sub("(…)", sql).split())


def short(sql, width=150):
    return sql if len(sql) <= width else sql[: width - 1] + "…"


class Counted:
    """One request's answer in the counting pass: its queries, its rows and the next page's path."""

    def __init__(self, get, path):
        get(path)  # warm: the first request of a path fills caches the next ones read
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            response = get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: answered {response.status_code} {response.content[:300]!r}")
        body = response.json()
        self.queries = list(captured.captured_queries)
        self.rows = len(body["results"]) if "results" in body else len(body.get("plans", []))
        self.reported = bool(body.get("latest_report"))
        self.next = None
        if body.get("next"):
            parts = urlsplit(body["next"])
            self.next = f"{parts.path}?{parts.query}"

    @property
    def count(self):
        return len(self.queries)


def explain_growth(label, small, large):
    """Print which queries the larger page sends more often than the smaller one."""
    a = Counter(normalise(q["sql"]) for q in small.queries)
    b = Counter(normalise(q["sql"]) for q in large.queries)
    print(f"  !! {label}: {small.count} queries for {small.rows} rows, {large.count} for {large.rows}. Repeating:")
    for sql in sorted(set(a) | set(b), key=lambda sql: b[sql] - a[sql], reverse=True):
        if a[sql] != b[sql]:
            print(f"     {a[sql]:>4} → {b[sql]:<4} {short(sql)}")


def show_sql(label, counted):
    spent, counts = Counter(), Counter()
    for query in counted.queries:
        sql = normalise(query["sql"])
        spent[sql] += float(query["time"] or 0) * 1000
        counts[sql] += 1
    print(f"  -- {label}: {counted.count} queries, {sum(spent.values()):.1f} ms in the database")
    for sql, ms in spent.most_common():
        print(f"     {counts[sql]:>4} × {ms:>8.1f} ms  {short(sql, 130)}")


# --- load, through the server ----------------------------------------------------------------------------


class Server:
    def __init__(self, workers, token):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0",
               "API_THROTTLE_RATE": THROTTLE}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "hebei_projects.wsgi", "--workers", str(workers),
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )
        for _ in range(150):
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=1).request(
                    "GET", FLOOR, headers={"Authorization": f"Token {token}", "Host": "127.0.0.1"})
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 30 s")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


class Latencies:
    def __init__(self, values, size):
        self.values, self.size = values, size  # ms; bytes of one answer

    @property
    def median(self):
        return statistics.median(self.values)

    @property
    def p95(self):
        return statistics.quantiles(self.values, n=20)[-1]


def load(port, path, token, total, clients):
    """`total` GETs of `path` from `clients` threads at once; returns their latencies."""
    latencies, errors, sizes = [], [], []
    lock = threading.Lock()
    headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1", "Accept": "application/json"}

    def worker(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status == 200:
                    latencies.append(elapsed)
                    sizes.append(len(body))
                else:
                    errors.append((response.status, body[:200]))
        conn.close()

    threads = [threading.Thread(target=worker, args=(total // clients + (i < total % clients),)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{path}: non-200 answers {errors[:3]}")
    return Latencies(latencies, max(sizes))


def measure(port, jobs, requests, rounds):
    """{key: (path, token)} → {key: (1 client, CLIENTS clients)}. Every worker is warmed for each path, then
    the requests of each client level are sent in `rounds` rounds that take every path in turn, so that a
    slow spell of the machine falls on all of them alike rather than on one."""
    for path, token in jobs.values():
        load(port, path, token, CLIENTS * 2, CLIENTS)
    values = {(key, clients): [] for key in jobs for clients in (1, CLIENTS)}
    sizes, floors = {}, []
    share = requests // rounds
    for _round in range(rounds):
        for clients in (1, CLIENTS):
            for key, (path, token) in jobs.items():
                latencies = load(port, path, token, share, clients)
                values[(key, clients)] += latencies.values
                sizes[key] = latencies.size
                if key[1] == "floor" and clients == 1:
                    floors.append(statistics.median(latencies.values))
    timings = {key: (Latencies(values[(key, 1)], sizes[key]), Latencies(values[(key, CLIENTS)], sizes[key])) for key in jobs}
    return timings, floors


# --- the run ---------------------------------------------------------------------------------------------


def operations(get, county, detail_small, detail_large):
    """[(label, the path timed, counted at page_size=10 or the smaller detail, counted at 100 or the larger)]."""
    ops = []

    def both(label, template):
        small, large = (Counted(get, template.format(size=size)) for size in (10, 100))
        ops.append((label, template.format(size=100), small, large))
        return small, large

    small, large = both("list, page 1", f"{API}/projects/?page_size={{size}}")
    if small.next and large.next:  # the next page, through the cursor the first one links to
        ops.append(("list, page 2 (cursor)", large.next, Counted(get, small.next), Counted(get, large.next)))
    detail = f"{API}/projects/{detail_large.pk}/"
    ops.append(("detail", detail, Counted(get, f"{API}/projects/{detail_small.pk}/"), Counted(get, detail)))
    both("light=red", f"{API}/projects/?light=red&page_size={{size}}")
    both(f"county={county.pk}", f"{API}/projects/?county={county.pk}&page_size={{size}}")
    return ops


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=96, help="requests per operation and client level")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the requests are spread over, every path in turn")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--show-sql", action="store_true", help="print every counted request's queries, grouped")
    args = parser.parse_args()
    if args.rounds < 1 or args.requests % (CLIENTS * args.rounds):
        parser.error(f"--requests must be a multiple of {CLIENTS} clients × --rounds")

    started = time.perf_counter()
    prepare_database(args.projects)
    keep_one_connection()
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client_kwargs = {"secure": True} if getattr(settings, "SECURE_SSL_REDIRECT", False) else {}

    county = biggest_county()
    users = {
        "province": bench_user("province", Role.PROVINCE_ADMIN, Region.objects.get(level=RegionLevel.PROVINCE)),
        "county": bench_user("county", Role.COUNTY_EDITOR, county),
    }
    ApiToken.objects.filter(user__username__startswith=PREFIX).delete()
    tokens = {}
    for name, user in users.items():
        _instance, tokens[name] = ApiToken.objects.create(
            user=user, expiry=datetime.timedelta(hours=2), name="bench", read_only=True)
    detail_small, detail_large = detail_projects(county)

    # 1. Queries per request, in this process.
    counts, paths, visible = {}, {}, {}
    for name, user in users.items():
        client = Client(headers={"Authorization": f"Token {tokens[name]}"})

        def get(path, client=client):
            return client.get(path, **client_kwargs)

        visible[name] = Project.objects.visible_to(user).count()
        floor = Counted(get, FLOOR)
        counts[(name, "floor")] = (floor, floor)
        paths[(name, "floor")] = FLOOR
        for label, path, small, large in operations(get, county, detail_small, detail_large):
            counts[(name, label)] = (small, large)
            paths[(name, label)] = path

    # 2. Latencies, through gunicorn.
    jobs = {("province", "floor"): (FLOOR, tokens["province"])}
    jobs.update({key: (path, tokens[key[0]]) for key, path in paths.items() if key[1] != "floor"})
    server = Server(args.workers, tokens["province"])
    try:
        timings, round_floors = measure(server.port, jobs, args.requests, args.rounds)
    finally:
        server.stop()
        ApiToken.objects.filter(user__username__startswith=PREFIX).delete()
    one_floor, many_floor = timings.pop(("province", "floor"))

    print(f"DEBUG off; queries counted in a separate pass in this process; latencies from gunicorn ({args.workers} workers on {os.cpu_count()} CPUs, "
          f"DEBUG=0, throttle {THROTTLE}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}) "
          f"with {args.requests} requests per row and client level in {args.rounds} rounds after a warm-up; ratio = median / floor median")
    print(f"users: bench-api-province (省, {visible['province']} projects), bench-api-county ({county.name}, "
          f"{visible['county']} projects); detail: project {detail_large.pk} ({counts[('county', 'detail')][1].rows} plans, "
          f"{'with' if counts[('county', 'detail')][1].reported else 'no'} latest report), queries also counted for project {detail_small.pk} ({counts[('county', 'detail')][0].rows} plans)")
    print(f"floor {FLOOR}: 1 client median {one_floor.median:.1f} ms, p95 {one_floor.p95:.1f} ms; {CLIENTS} clients median "
          f"{many_floor.median:.1f} ms, p95 {many_floor.p95:.1f} ms; {counts[('province', 'floor')][1].count} queries; "
          f"1-client median per round {' '.join(f'{ms:.1f}' for ms in round_floors)} ms")
    print()
    print(f"{'':<32} {'':>5} {'queries':>11} {'':>6}  {'1 client':^22}  {f'{CLIENTS} clients':^22}")
    print(f"{'user':<9} {'operation':<22} {'rows':>5} {'10 → 100':>11} {'KB':>6}  {'median':>7} {'p95':>7} {'ratio':>6}  "
          f"{'median':>7} {'p95':>7} {'ratio':>6}")
    grown = []
    for (name, label), (one, many) in timings.items():
        small, large = counts[(name, label)]
        if small.count != large.count:
            grown.append((name, label))
        print(f"{name:<9} {label:<22} {large.rows:>5} {f'{small.count} → {large.count}':>11} {one.size / 1024:>6.1f}  "
              f"{one.median:>7.1f} {one.p95:>7.1f} {one.median / one_floor.median:>6.1f}  "
              f"{many.median:>7.1f} {many.p95:>7.1f} {many.median / many_floor.median:>6.1f}")
    print(f"(queries 10 → 100: at page_size=10 and 100; for the detail, project {detail_small.pk} and {detail_large.pk})")
    for name in users:
        if (name, "list, page 2 (cursor)") not in timings:
            print(f"(no second page for {name}: {visible[name]} projects visible, the first page links to none)")
    for name, label in grown:
        small, large = counts[(name, label)]
        explain_growth(f"{name}, {label}", small, large)
    if args.show_sql:
        show_sql("floor", counts[("province", "floor")][1])
        for name, label in timings:
            show_sql(f"{name}, {label}", counts[(name, label)][1])

    def figure(name, label):
        one, many = timings[(name, label)]
        return f"{one.median:.0f} ms ({one.median / one_floor.median:.1f}× the floor; {many.median:.0f} ms with {CLIENTS} clients)"

    list_counts = sorted({counts[key][1].count for key in timings if key[1] != "detail"})
    growth = (f"the query count does not grow with the rows ({', '.join(map(str, list_counts))} per list request at page_size 10 and 100 alike)"
              if not grown else f"the query count grows with the rows in {len(grown)} operations (listed above)")
    print()
    print(
        f"Summary ({connection.vendor}, {args.projects} projects): the first page at page_size=100 takes "
        f"{figure('province', 'list, page 1')} for the province ({counts[('province', 'list, page 1')][1].rows} rows), "
        f"{figure('county', 'list, page 1')} for {county.name} ({counts[('county', 'list, page 1')][1].rows} rows); "
        f"red lights province-wide {figure('province', 'light=red')}; a project's detail {figure('province', 'detail')}; "
        f"{growth}; floor {one_floor.median:.1f} ms (1 client) / {many_floor.median:.1f} ms ({CLIENTS} clients). "
        f"Whole run {time.perf_counter() - started:.0f}s."
    )


if __name__ == "__main__":
    main()
