"""Digest cost with many projects and subscribers: total time to build and hand over every digest,
SQL queries per digest, and the ratio to a floor measured in the same run (the scope aggregate query
alone, per subscriber).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/digests.py [--projects 100000] [--subscribers 300]

Mail is handed to Django's in-memory backend, so the figure is the app's own work, not a mail server's.
"""

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from common import prepare_database  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects import digests, rules, selectors  # noqa: E402
from projects.choices import DigestFrequency, Role  # noqa: E402
from projects.models import DigestDelivery, DigestSubscription, Project, Region, User  # noqa: E402
from projects.services import user_set_role  # noqa: E402

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
    return list(digests.due_subscriptions(DigestFrequency.WEEKLY).filter(user__username__startswith=BENCH_USER_PREFIX)[:count])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=300)
    args = parser.parse_args()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    prepare_database(args.projects)
    subscriptions = ensure_subscribers(args.subscribers)
    period = digests.period_for(DigestFrequency.WEEKLY, rules.today())
    DigestDelivery.objects.filter(frequency=DigestFrequency.WEEKLY, period_start=period.start).delete()
    print(f"{len(subscriptions)} subscribers, period {period.label}")

    # Floor: the scope's aggregate query alone, for every subscriber.
    started = time.perf_counter()
    for subscription in subscriptions:
        projects = digests.subscription_projects(subscription).with_progress(year=period.end.year, on=period.end)
        selectors.scope_totals(projects, progress=rules.time_progress(year=period.end.year, on=period.end))
    floor = time.perf_counter() - started

    # Queries per digest, for one subscriber of each kind of scope.
    samples = {}
    for subscription in subscriptions:
        kind = subscription.user.region.level if not subscription.user.region.is_reporting_unit else "reporting unit"
        if kind in samples:
            continue
        digests.digest_render(subscription, period)  # warm the per-user caches
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            digests.digest_render(subscription, period)
        visible = Project.objects.visible_to(subscription.user).count()
        samples[kind] = (len(captured.captured_queries), visible)

    tracemalloc.start()
    started = time.perf_counter()
    for subscription in subscriptions:
        digests.digest_deliver(subscription=subscription, period=period)
    total = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"{'scope':<16} {'projects':>9} {'queries/digest':>15}")
    for kind, (queries, visible) in samples.items():
        print(f"{kind:<16} {visible:>9} {queries:>15}")
    print(f"digests handed over: {len(mail.outbox)}")
    print(f"total {total:.1f}s ({total / len(subscriptions) * 1000:.0f} ms per digest), "
          f"floor {floor:.1f}s, ratio {total / floor:.1f}, peak Python memory {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
