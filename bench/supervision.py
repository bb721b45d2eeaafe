"""Supervision at a province's size: the daily run (open, close, escalate, mail) and the supervision page,
with 100,000 projects and the demo's ~21,000 open items (red projects, old problems, overdue reports), of
which 2,000 or 20,000 are past their limit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/supervision.py

DEBUG off. Each daily run is measured inside a transaction rolled back afterwards, best of 3; its floor
does the run's own writes with nothing around them (one UPDATE of the overdue items' level and limit, one
INSERT of their timeline steps). The page is requested through Django's test client as the province and a
city (median of --repeat); its floor is the page's list query alone. Queries are counted in a pass of
their own and should not grow with the items.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # before any query: the database wrappers log every query while DEBUG is on

from common import keep_one_connection, median_ms, prepare_database  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.domain import rules  # noqa: E402
from projects.domain.choices import SupervisionLevel, SupervisionStepKind  # noqa: E402
from projects.models import SupervisionItem, SupervisionStep, User  # noqa: E402
from projects.shared import versions  # noqa: E402
from projects.supervision import services as supervision  # noqa: E402


class Rollback(Exception):
    pass


def seed_items(overdue, on):
    """The morning's open items as the daily run leaves them (every automatic cause opened), `overdue` of those
    ones opened 20 days ago and past their limit: the run to measure then only escalates."""
    SupervisionStep.objects.all().delete()
    SupervisionItem.history.all().delete()
    SupervisionItem.objects.all().delete()
    supervision.supervision_run(on=on, enqueue=lambda pk: None)
    late = list(SupervisionItem.objects.order_by("pk").values_list("pk", flat=True)[:overdue])
    SupervisionItem.objects.filter(pk__in=late).update(opened_on=on - datetime.timedelta(days=20), due_on=on - datetime.timedelta(days=1))
    return SupervisionItem.objects.open().count(), len(late)


def timed_in_rollback(work):
    """Seconds `work` takes inside a transaction that is then rolled back, and its query count."""
    reset_queries()
    started = time.perf_counter()
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                work()
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return seconds, len(captured.captured_queries)


def run_floor(on):
    """The escalation's own writes, bare: one UPDATE, one INSERT of the steps."""
    overdue = SupervisionItem.objects.overdue(on)
    ids = list(overdue.values_list("pk", flat=True))
    SupervisionItem.objects.filter(pk__in=ids).update(level=SupervisionLevel.CITY, due_on=supervision.time_limit(on), escalated_on=on)
    SupervisionStep.objects.bulk_create(
        [SupervisionStep(item_id=pk, kind=SupervisionStepKind.ESCALATED, level=SupervisionLevel.CITY) for pk in ids], batch_size=5000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--items", type=int, nargs="+", default=[2_000, 20_000])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    prepare_database(args.projects)
    keep_one_connection()
    on = rules.today()
    if not workdays_ok(on):
        print(f"note: {on} is a rest day; escalation runs only on working days, so the run below escalates nothing")
    print(f"DEBUG off; daily run best of 3 (rolled back); page median of {args.repeat}")
    print(f"{'open':>6} {'overdue':>7} {'step':<40} {'queries':>8} {'ms':>9} {'floor ms':>9} {'ratio':>6}  result")
    for count in args.items:
        total, count = seed_items(count, on)
        runs = []
        for _ in range(3):
            outcome = []
            seconds, queries = timed_in_rollback(lambda: outcome.append(supervision.supervision_run(on=on, enqueue=lambda pk: None)))
            runs.append((seconds, queries, outcome[0]))
        floor = min(timed_in_rollback(lambda: run_floor(on))[0] for _ in range(3))
        seconds, queries, outcome = min(runs, key=lambda run: run[0])
        print(f"{total:>6} {count:>7} {'daily run':<40} {queries:>8} {seconds * 1000:>9.0f} {floor * 1000:>9.0f} "
              f"{seconds / floor:>6.1f}  {outcome}")
        for username in ("province", "shijiazhuang"):
            user = User.objects.get(username=username)
            client = Client()
            client.force_login(user)
            visible = SupervisionItem.objects.visible_to(user)

            def page_floor(visible=visible):
                list(visible.open().select_related("project__city", "project__county").order_by("due_on", "pk")[:50])

            floor_ms = median_ms(page_floor, args.repeat)
            for label, params in (("page", {}), ("page, overdue at city level", {"overdue": "true", "level": "city"})):
                versions.data_changed()  # the first request after a write computes the figures
                started = time.perf_counter()
                assert client.get("/supervision/", params).status_code == 200
                first_ms = (time.perf_counter() - started) * 1000
                reset_queries()
                with CaptureQueriesContext(connection) as captured:
                    client.get("/supervision/", params)
                queries = len(captured.captured_queries)
                ms = median_ms(lambda: client.get("/supervision/", params), args.repeat)
                print(f"{total:>6} {count:>7} {username + ' ' + label:<40} {queries:>8} {ms:>9.1f} {floor_ms:>9.1f} "
                      f"{ms / floor_ms:>6.1f}  first request after a write {first_ms:.0f} ms")
    seed_items(0, on)  # the demo's morning again


def workdays_ok(on):
    from projects.domain import workdays

    return workdays.is_workday(on)


if __name__ == "__main__":
    main()
