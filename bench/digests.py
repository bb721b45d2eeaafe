"""Digest cost with many projects and subscribers: every weekly digest of a period built and handed over, with
one and with two worker processes, from a stale cache; each digest timed on its own. Also SQL queries per
digest by kind of scope, whether the runs give the same digests to the byte, and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/digests.py [--quick] [--projects 100000] [--subscribers 300] [--runs 5]

Figures: DEBUG off; no query log or tracemalloc in the timed runs (queries and memory are measured in
passes of their own). Every timed run starts as a new period's does after the night's refresh: the period's
deliveries forgotten and the data versions moved (versions.data_changed(), what the refresh calls when it
writes lights; nothing in the cache is emptied), so each scope's digest is rendered once and shared by its
other subscribers, as in production. Each digest (one subscriber's digest_deliver: claim, render or the
shared rendering, mail, record) is a sample: median and 95th percentile per digest over every digest of
every run, with their count; and the median and 95th percentile of the runs' wall times.

The floor is the SQL the digests send, with nothing else: every statement of a whole 1-process run (its
SELECTs and its writes: the deliveries' INSERT and UPDATEs), captured in a pass of its own and replayed
verbatim, statement by statement with the same parameters and in autocommit as the run sends them, through
a plain cursor — no ORM, cache, template or mail. Timed per digest like the run (median and 95th
percentile), and per run. The deliveries' ids are replayed too (the id sequence is set back first), so the
updates find their rows. The 2-process runs are set against the same 1-process floor.
Mail goes to Django's in-memory backend: the figure is the app's work, not a mail server's.

--quick: 10,000 projects, 30 subscribers, 2 runs of each kind (a smoke run for CI).
The bench's users are named bench-subscriber-*; it writes to the database it is given.
"""

import argparse
import hashlib
import multiprocessing
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # before any query: the database wrappers log every query while DEBUG is on

from common import prepare_database  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from harness import Stat  # noqa: E402

from projects.accounts.services import user_set_role  # noqa: E402
from projects.domain import rules  # noqa: E402
from projects.domain.choices import DigestFrequency, Role  # noqa: E402
from projects.mail import digests  # noqa: E402
from projects.models import DigestDelivery, DigestSubscription, Project, Region, User  # noqa: E402
from projects.shared import versions  # noqa: E402

BENCH_USER_PREFIX = "bench-subscriber-"


def ensure_subscribers(count):
    """`count` weekly subscribers: a few province users, every city-level unit, then counties in turn."""
    regions = [Region.objects.get(level="province")] * 2 + list(Region.objects.city_level()) + list(Region.objects.counties())
    existing = User.objects.filter(username__startswith=BENCH_USER_PREFIX).count()
    for index in range(existing, count):
        region = regions[index % len(regions)]
        role = Role.PROVINCE_ADMIN if region.level == "province" else Role.CITY_COORDINATOR if region.is_city_level else Role.COUNTY_EDITOR
        user = User.objects.create(
            username=f"{BENCH_USER_PREFIX}{index:03d}", email=f"subscriber{index:03d}@example.org", region=region, is_staff=True
        )
        user_set_role(user=user, role=role)
        DigestSubscription.objects.create(user=user, frequency=DigestFrequency.WEEKLY)
    subscriptions = digests.due_subscriptions(DigestFrequency.WEEKLY).filter(user__username__startswith=BENCH_USER_PREFIX)
    return [s.pk for s in subscriptions.order_by("user__username")[:count]]


def deliver(subscription_ids, period):
    """Build and hand over the digests of `subscription_ids` (one worker's share), in order; returns each
    digest's milliseconds and the digests' fingerprints."""
    subscriptions = {s.pk: s for s in digests.due_subscriptions(DigestFrequency.WEEKLY).filter(pk__in=subscription_ids)}
    timings = []
    for pk in subscription_ids:
        started = time.perf_counter()
        digests.digest_deliver(subscription=subscriptions[pk], period=period)
        timings.append((time.perf_counter() - started) * 1000)
    return timings, [hashlib.sha256(m.body.encode() + m.alternatives[0][0].encode()).hexdigest() for m in mail.outbox]


def _worker(args):
    subscription_ids, period = args
    connections.close_all()  # a forked process opens its own connection
    mail.outbox = []
    return deliver(subscription_ids, period)


def fresh_period(period):
    """The period's deliveries forgotten and every rendered digest stale, as after the night's refresh (the
    data versions moved; nothing is emptied in a cache the bench may share): a run as on a new period."""
    DigestDelivery.objects.filter(kind=DigestFrequency.WEEKLY, period_start=period.start).delete()
    versions.data_changed()
    mail.outbox = []


def timed_run(subscription_ids, period, processes):
    """(wall seconds, each digest's ms, fingerprints)."""
    fresh_period(period)
    started = time.perf_counter()
    if processes == 1:
        timings, fingerprints = deliver(subscription_ids, period)
    else:
        shares = [(subscription_ids[index::processes], period) for index in range(processes)]
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(_worker, shares)
        timings = [ms for share_timings, _prints in results for ms in share_timings]
        fingerprints = [fingerprint for _timings, prints in results for fingerprint in prints]
    return time.perf_counter() - started, timings, sorted(fingerprints)


# --- the floor: the run's SQL, replayed --------------------------------------------------------------------


def capture(subscription_ids, period):
    """Every statement a 1-process run sends, per digest, in order: [[(sql, params, many), …], …]; and the
    first delivery id the run inserted."""
    fresh_period(period)
    subscriptions = {s.pk: s for s in digests.due_subscriptions(DigestFrequency.WEEKLY).filter(pk__in=subscription_ids)}
    statements = []

    def record(execute, sql, params, many, context):
        statements[-1].append((sql, params, many))
        return execute(sql, params, many, context)

    for pk in subscription_ids:
        statements.append([])
        with connection.execute_wrapper(record):
            digests.digest_deliver(subscription=subscriptions[pk], period=period)
    ids = list(DigestDelivery.objects.filter(kind=DigestFrequency.WEEKLY, period_start=period.start)
               .order_by("pk").values_list("pk", flat=True))
    if ids != list(range(ids[0], ids[0] + len(ids))):
        print("!! the run's deliveries have no consecutive ids: the floor's updates may miss their rows")
    return statements, ids[0]


def reset_delivery_ids(first):
    """The next delivery inserted gets id `first`, as in the captured run."""
    table = DigestDelivery._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, first])
        elif connection.vendor == "sqlite":
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first - 1, table])


def replay(statements, period, first_id):
    """The captured statements sent again through a plain cursor, in autocommit as the run sends them:
    (wall seconds, each digest's ms)."""
    fresh_period(period)
    reset_delivery_ids(first_id)
    timings = []
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for digest in statements:
            begun = time.perf_counter()
            for sql, params, many in digest:
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
                    if cursor.description is not None:
                        cursor.fetchall()
            timings.append((time.perf_counter() - begun) * 1000)
    return time.perf_counter() - started, timings


def kinds_of(statements):
    counts = {}
    for digest in statements:
        for sql, _params, _many in digest:
            verb = sql.lstrip().split(None, 1)[0].upper()
            counts[verb] = counts.get(verb, 0) + 1
    return ", ".join(f"{count} {verb}" for verb, count in sorted(counts.items(), key=lambda item: -item[1]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 projects, 30 subscribers, 2 runs of each kind")
    parser.add_argument("--projects", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--subscribers", type=int, help="default 300 (30 with --quick)")
    parser.add_argument("--runs", type=int, help="timed runs of each kind: 1 process, 2 processes, the floor (default 5; 2 with --quick)")
    args = parser.parse_args()
    projects = args.projects or (10_000 if args.quick else 100_000)
    subscribers = args.subscribers or (30 if args.quick else 300)
    runs = args.runs or (2 if args.quick else 5)

    started = time.perf_counter()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    prepare_database(projects)
    subscription_ids = ensure_subscribers(subscribers)
    period = digests.period_for(DigestFrequency.WEEKLY, rules.today())
    subscriptions = list(digests.due_subscriptions(DigestFrequency.WEEKLY).filter(pk__in=subscription_ids))
    scopes = {(digests.scope_key(s.user), tuple(sorted(p.pk for p in s.programmes.all()))) for s in subscriptions}

    # Queries per digest rendered anew, one subscriber of each kind of scope: a pass of its own.
    samples = {}
    for subscription in subscriptions:
        kind = subscription.user.region.level if not subscription.user.region.is_reporting_unit else "reporting unit"
        if kind in samples:
            continue
        digests.digest_render(subscription, period, shared=False)  # warm the per-user caches
        with CaptureQueriesContext(connection) as captured:
            digests.digest_render(subscription, period, shared=False)
        samples[kind] = (len(captured.captured_queries), Project.objects.visible_to(subscription.user).count())

    # The floor's statements: a 1-process run of its own, captured.
    statements, first_id = capture(subscription_ids, period)

    # Timed: the runs of each kind in turn, so that a slow spell of the machine falls on all kinds alike.
    walls = {1: [], 2: [], "floor": []}
    per_digest = {1: Stat(), 2: Stat(), "floor": Stat()}
    prints = []
    for _run in range(runs):
        for processes in (1, 2):
            seconds, timings, fingerprints = timed_run(subscription_ids, period, processes)
            walls[processes].append(seconds)
            per_digest[processes].add(timings)
            prints.append(tuple(fingerprints))
        seconds, timings = replay(statements, period, first_id)
        walls["floor"].append(seconds)
        per_digest["floor"].add(timings)
    identical = len(set(prints)) == 1

    # Peak memory: a pass of its own, under tracemalloc.
    fresh_period(period)
    tracemalloc.start()
    deliver(subscription_ids, period)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    fresh_period(period)

    print()
    print(f"{connection.vendor} {settings.DATABASES['default']['NAME']}, {projects:,} projects; DEBUG off; {len(subscriptions)} "
          f"subscribers in {len(scopes)} distinct scopes, period {period.label}; cache "
          f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; {runs} runs of each kind, taken in turn")
    print(f"{'scope':<16} {'projects':>9} {'queries/digest':>15}   (rendered anew, a pass of its own)")
    for kind, (queries, visible) in samples.items():
        print(f"{kind:<16} {visible:>9} {queries:>15}")
    print(f"floor: the {sum(map(len, statements))} statements of a 1-process run ({kinds_of(statements)}), replayed verbatim through a plain cursor")
    floor_run = statistics.median(walls["floor"])
    print(f"{'':<12} {'per digest ms: median':>22} {'p95':>8} {'n':>6}   {'per run s: median':>18} {'p95':>7} {'n':>3}  {'÷floor':>6}")
    for label, key in (("floor (SQL)", "floor"), ("1 process", 1), ("2 processes", 2)):
        stat, wall = per_digest[key], Stat(walls[key])
        print(f"{label:<12} {stat.median:>22.1f} {stat.p95:>8.1f} {stat.n:>6}   {wall.median:>18.2f} {wall.p95:>7.2f} {wall.n:>3}  "
              f"{wall.median / floor_run:>6.1f}")
    print("(a digest's figure includes its share of the rendering: the first subscriber of a scope renders it, the others read it)")
    print(f"digests byte-identical across all {len(prints)} runs: {identical}")
    print(f"peak Python memory (separate pass): {peak / 2**20:.0f} MiB")
    print(f"whole run {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
