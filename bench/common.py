"""What the benchmarks share: a seeded database and one connection kept across requests."""

import os
import time

from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, reset_queries
from harness import Stat

from projects.models import Project
from projects.reference.demo import DEMO_KEY_PREFIX
from projects.shared import lights


def prepare_database(projects):
    """Migrate, load the reference data and seed `projects` demo projects (kept while the count matches)."""
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", stdout=open(os.devnull, "w"))
    if Project.objects.filter(key__startswith=DEMO_KEY_PREFIX).count() != projects:
        started = time.perf_counter()
        call_command("seed_demo", projects=projects, seed=1, password="bench-password-123")
        print(f"seeded {projects} projects in {time.perf_counter() - started:.0f}s")
    # What the night's beat task has done on a live system: today's lights judged and stored.
    started = time.perf_counter()
    judged = lights.lights_refresh()
    print(f"lights judged for {judged} projects in {time.perf_counter() - started:.1f}s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would have by now: visibility map and statistics


def keep_one_connection():
    """As Django's test runner does: one connection and an unreset query log across requests, so a
    request's queries can be counted."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    request_started.disconnect(reset_queries)


def timed_ms(callable_, repeat):
    """`repeat` timed calls: their milliseconds, as a Stat (median, p95, n)."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        callable_()
        timings.append((time.perf_counter() - started) * 1000)
    return Stat(timings)
