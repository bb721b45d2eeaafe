"""Admin changelist cost with many projects, in this process: SQL queries per page and its time (median and
95th percentile of --repeat requests, with their count), for more filters than bench/pages.py measures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/admin_list.py [--quick] [--projects 100000] [--repeat 30]

Seeds the database (once; re-used while it holds the same number of demo projects), then requests the
project changelist as a province user and as a county user, plain and with filters, through Django's test
client, DEBUG off (queries are counted in a pass of their own). The floor is the page's own data query
alone (visible_to + progress annotation, 50 rows) measured in the same run, so the ratio shows what the
admin adds on top. The changelist behind gunicorn, warm and cold, with 1 and 8 clients, is bench/pages.py's.
--quick: 10,000 projects, 8 requests a row.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # before any query: the database wrappers log every query while DEBUG is on

from common import keep_one_connection, prepare_database, timed_ms  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.domain import rules  # noqa: E402
from projects.models import Project, User  # noqa: E402
from projects.shared.lights import annotate_progress  # noqa: E402

PAGES = {
    "plain": {},
    "red lights": {"light": "red"},
    "stage + action": {"stage": "continuing", "action": "1"},
    "search": {"q": "产业园"},
    "page 5": {"p": "5"},
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 projects, 8 requests a row")
    parser.add_argument("--projects", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--repeat", type=int, help="requests per row (default 30; 8 with --quick)")
    args = parser.parse_args()
    args.projects = args.projects or (10_000 if args.quick else 100_000)
    args.repeat = args.repeat or (8 if args.quick else 30)

    prepare_database(args.projects)
    keep_one_connection()
    print(f"DEBUG off; {args.repeat} requests per row after one warm-up (n = {args.repeat}); queries counted in a separate pass; "
          f"ratio = median / floor median")
    print(f"{'user':<10} {'page':<16} {'rows':>7} {'queries':>8} {'median ms':>10} {'p95 ms':>8} {'floor ms':>9} {'p95':>7} {'ratio':>6}")
    for username in ("province", "zhengding"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        visible = Project.objects.visible_to(user).count()
        today = rules.today()

        def floor():
            list(annotate_progress(Project.objects.visible_to(user), year=today.year, on=today).select_related("city", "county")[:50])

        floor_ms = timed_ms(floor, args.repeat)
        for label, params in PAGES.items():
            response = client.get("/admin/projects/project/", params)
            assert response.status_code == 200, (label, response.status_code)
            reset_queries()  # the query log is a bounded deque: a full one captures nothing
            with CaptureQueriesContext(connection) as captured:
                client.get("/admin/projects/project/", params)
            queries = len(captured.captured_queries)  # now: the next request empties the query log
            page = timed_ms(lambda: client.get("/admin/projects/project/", params), args.repeat)
            print(
                f"{username:<10} {label:<16} {visible:>7} {queries:>8} {page.median:>10.1f} {page.p95:>8.1f} "
                f"{floor_ms.median:>9.1f} {floor_ms.p95:>7.1f} {page.median / floor_ms.median:>6.1f}"
            )


if __name__ == "__main__":
    main()
