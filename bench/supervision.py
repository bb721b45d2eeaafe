"""Supervision at a province's size: the daily run (open, close, escalate, mail) and the supervision page,
with 100,000 projects and the demo's ~21,000 open items (red projects, old problems, overdue reports), of
which 2,000 or 20,000 are past their limit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/supervision.py [--quick] [--runs 5] [--repeat 20]

DEBUG off. Each daily run is measured inside a transaction rolled back afterwards, --runs times: median and
95th percentile, with their count; its floor does the run's own writes with nothing around them (one
UPDATE of the overdue items' level and limit, one INSERT of their timeline steps), as many times. The page
is requested through Django's test client as the province and a city, warm (--repeat requests) and cold
(--repeat cycles of a write in the user's scope — one monthly report saved through the ORM, whose signals
move the data versions; nothing is emptied — then one request); its floor is the page's list query alone.
Queries are counted in a pass of their own and should not grow with the items.
--quick: 10,000 projects, 200 and 2,000 items past their limit, 3 runs and 6 requests a row.
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

from common import keep_one_connection, prepare_database, timed_ms  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from harness import Stat  # noqa: E402

from projects.domain import rules  # noqa: E402
from projects.domain.choices import SupervisionLevel, SupervisionStepKind  # noqa: E402
from projects.models import MonthlyReport, Project, SupervisionItem, SupervisionStep, User  # noqa: E402
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
    parser.add_argument("--quick", action="store_true", help="10,000 projects, 200 and 2,000 items, fewer samples")
    parser.add_argument("--projects", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--items", type=int, nargs="+", help="items past their limit (default 2,000 and 20,000)")
    parser.add_argument("--runs", type=int, help="daily runs and floors (default 5; 3 with --quick)")
    parser.add_argument("--repeat", type=int, help="warm requests and cold cycles per page row (default 20; 6 with --quick)")
    args = parser.parse_args()
    args.projects = args.projects or (10_000 if args.quick else 100_000)
    args.items = args.items or ([200, 2_000] if args.quick else [2_000, 20_000])
    args.runs = args.runs or (3 if args.quick else 5)
    args.repeat = args.repeat or (6 if args.quick else 20)

    prepare_database(args.projects)
    keep_one_connection()
    on = rules.today()
    if not workdays_ok(on):
        print(f"note: {on} is a rest day; escalation runs only on working days, so the run below escalates nothing")
    print(f"DEBUG off; ms: median/p95; daily run and its floor: {args.runs} runs each (rolled back); page: {args.repeat} warm "
          f"requests and {args.repeat} cold cycles (a write in the scope, then one request) per row")
    print(f"{'open':>6} {'overdue':>7} {'step':<40} {'queries':>8} {'ms':>13} {'cold ms':>13} {'floor ms':>13} {'ratio':>6}  result")
    for count in args.items:
        total, count = seed_items(count, on)
        runs, outcomes = [], []
        for _ in range(args.runs):
            seconds, queries = timed_in_rollback(lambda: outcomes.append(supervision.supervision_run(on=on, enqueue=lambda pk: None)))
            runs.append(seconds * 1000)
        floor = Stat([timed_in_rollback(lambda: run_floor(on))[0] * 1000 for _ in range(args.runs)])
        run = Stat(runs)
        print(f"{total:>6} {count:>7} {'daily run':<40} {queries:>8} {cell(run)} {'':>13} {cell(floor)} "
              f"{run.median / floor.median:>6.1f}  {outcomes[0]}")
        for username in ("province", "shijiazhuang"):
            user = User.objects.get(username=username)
            client = Client()
            client.force_login(user)
            visible = SupervisionItem.objects.visible_to(user)
            report = MonthlyReport.objects.filter(project__in=Project.objects.visible_to(user).values("pk")).order_by("-month", "pk").first()

            def page_floor(visible=visible):
                list(visible.open().select_related("project__city", "project__county").order_by("due_on", "pk")[:50])

            floor_ms = timed_ms(page_floor, args.repeat)
            for label, params in (("page", {}), ("page, overdue at city level", {"overdue": "true", "level": "city"})):
                cold = Stat()
                for _ in range(args.repeat):
                    report.save()  # a write in the scope: the signals move its data versions
                    cold.add(timed_ms(lambda: client.get("/supervision/", params), 1).values)
                assert client.get("/supervision/", params).status_code == 200
                reset_queries()
                with CaptureQueriesContext(connection) as captured:
                    client.get("/supervision/", params)
                queries = len(captured.captured_queries)
                warm = timed_ms(lambda: client.get("/supervision/", params), args.repeat)
                print(f"{total:>6} {count:>7} {username + ' ' + label:<40} {queries:>8} {cell(warm)} {cell(cold)} {cell(floor_ms)} "
                      f"{warm.median / floor_ms.median:>6.1f}")
    seed_items(0, on)  # the demo's morning again


def cell(stat):
    return f"{f'{stat.median:.1f}/{stat.p95:.1f}':>13}"


def workdays_ok(on):
    from projects.domain import workdays

    return workdays.is_workday(on)


if __name__ == "__main__":
    main()
