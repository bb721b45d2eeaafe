"""Digest cost with many projects and subscribers: the time to build and hand over every digest of a
period with one and with two worker processes, SQL queries per digest, whether two runs give the same
digests to the byte, and peak memory — each measured in a pass of its own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/digests.py [--projects 100000] [--subscribers 300]

Honest figures: DEBUG off; no tracemalloc or query log in the timed passes (memory and queries are
measured in passes of their own); best of --repeat timed passes; the floor, measured in the same run, is
the scope's aggregate query alone, per subscriber. Mail goes to Django's in-memory backend, so the figure
is the app's work, not a mail server's. Each timed pass starts from a stale cache (a new period's run; the
cache is the Redis given in REDIS_URL, else local memory, and is never emptied).
"""

import argparse
import hashlib
import multiprocessing
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # before any query: the database wrappers log every query while DEBUG is on

from common import prepare_database  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.accounts.services import user_set_role  # noqa: E402
from projects.domain import rules  # noqa: E402
from projects.domain.choices import DigestFrequency, Role  # noqa: E402
from projects.mail import digests  # noqa: E402
from projects.models import DigestDelivery, DigestSubscription, Project, Region, User  # noqa: E402
from projects.shared import summaries, versions  # noqa: E402
from projects.shared.lights import annotate_progress  # noqa: E402

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
    return [s.pk for s in digests.due_subscriptions(DigestFrequency.WEEKLY).filter(user__username__startswith=BENCH_USER_PREFIX)[:count]]


def deliver(subscription_ids, period):
    """Build and hand over the digests of `subscription_ids` (one worker's share); returns their digests."""
    subscriptions = digests.due_subscriptions(DigestFrequency.WEEKLY).filter(pk__in=subscription_ids)
    for subscription in subscriptions:
        digests.digest_deliver(subscription=subscription, period=period)
    return [hashlib.sha256(m.body.encode() + m.alternatives[0][0].encode()).hexdigest() for m in mail.outbox]


def _worker(args):
    subscription_ids, period = args
    connections.close_all()  # a forked process opens its own connection
    mail.outbox = []
    return deliver(subscription_ids, period)


def fresh_period(period, subscription_ids):
    """The period's deliveries forgotten and the rendered digests stale (the data version moved, as a write
    moves it; nothing is emptied in a cache the bench may share): a run as on a new period."""
    DigestDelivery.objects.filter(kind=DigestFrequency.WEEKLY, period_start=period.start).delete()
    versions.data_changed()
    mail.outbox = []


def timed_run(subscription_ids, period, processes):
    fresh_period(period, subscription_ids)
    started = time.perf_counter()
    if processes == 1:
        fingerprints = deliver(subscription_ids, period)
    else:
        shares = [(subscription_ids[index::processes], period) for index in range(processes)]
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            fingerprints = [print_ for share in pool.map(_worker, shares) for print_ in share]
    return time.perf_counter() - started, sorted(fingerprints)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    prepare_database(args.projects)
    subscription_ids = ensure_subscribers(args.subscribers)
    period = digests.period_for(DigestFrequency.WEEKLY, rules.today())
    subscriptions = list(digests.due_subscriptions(DigestFrequency.WEEKLY).filter(pk__in=subscription_ids))
    scopes = {(digests.scope_key(s.user), tuple(sorted(p.pk for p in s.programmes.all()))) for s in subscriptions}
    print(f"DEBUG off; {len(subscriptions)} subscribers in {len(scopes)} distinct scopes, period {period.label}; "
          f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; best of {args.repeat}")

    # Floor: the scope's aggregate query alone, for every subscriber.
    floors = []
    for _round in range(args.repeat):
        started = time.perf_counter()
        for subscription in subscriptions:
            projects = annotate_progress(digests.subscription_projects(subscription), year=period.end.year, on=period.end)
            summaries.scope_totals(projects, progress=rules.time_progress(year=period.end.year, on=period.end))
        floors.append(time.perf_counter() - started)
    floor = min(floors)

    # Queries per digest (uncached), one subscriber of each kind of scope: a pass of its own.
    samples = {}
    for subscription in subscriptions:
        kind = subscription.user.region.level if not subscription.user.region.is_reporting_unit else "reporting unit"
        if kind in samples:
            continue
        digests.digest_render(subscription, period, shared=False)  # warm the per-user caches
        with CaptureQueriesContext(connection) as captured:
            digests.digest_render(subscription, period, shared=False)
        samples[kind] = (len(captured.captured_queries), Project.objects.visible_to(subscription.user).count())

    results = {}
    for processes in (1, 2):
        runs = [timed_run(subscription_ids, period, processes) for _round in range(args.repeat)]
        results[processes] = runs
    identical = len({tuple(fingerprints) for runs in results.values() for _seconds, fingerprints in runs}) == 1

    # Peak memory: a pass of its own, under tracemalloc.
    fresh_period(period, subscription_ids)
    tracemalloc.start()
    deliver(subscription_ids, period)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"{'scope':<16} {'projects':>9} {'queries/digest':>15}")
    for kind, (queries, visible) in samples.items():
        print(f"{kind:<16} {visible:>9} {queries:>15}")
    print(f"floor (scope totals only): {floor:.1f}s")
    for processes, runs in results.items():
        best = min(seconds for seconds, _fingerprints in runs)
        print(f"{processes} process{'es' if processes > 1 else ''}: best {best:.1f}s of {[round(s, 1) for s, _f in runs]} "
              f"({best / len(subscriptions) * 1000:.0f} ms per digest), ratio to the floor {best / floor:.1f}")
    print(f"digests byte-identical across all {sum(len(r) for r in results.values())} runs: {identical}")
    print(f"peak Python memory (separate pass): {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
