"""Admin changelist cost with many projects: SQL queries per page and median time per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/admin_list.py [--projects 100000]

Seeds the database (once; re-used while it holds the same number of demo projects), then requests the
project changelist as a province user and as a county user, plain and with filters, through Django's test
client, DEBUG off (queries are counted in a pass of their own). The floor is the page's own data query
alone (visible_to + progress annotation, 50 rows) measured in the same run, so the ratio shows what the
admin adds on top.
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

from common import keep_one_connection, median_ms, prepare_database  # noqa: E402
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
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    prepare_database(args.projects)
    keep_one_connection()
    print(f"DEBUG off; median of {args.repeat} requests per row; queries counted in a separate pass")
    print(f"{'user':<10} {'page':<16} {'rows':>7} {'queries':>8} {'median ms':>10} {'floor ms':>9} {'ratio':>6}")
    for username in ("province", "zhengding"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        visible = Project.objects.visible_to(user).count()
        today = rules.today()

        def floor():
            list(annotate_progress(Project.objects.visible_to(user), year=today.year, on=today).select_related("city", "county")[:50])

        floor_ms = median_ms(floor, args.repeat)
        for label, params in PAGES.items():
            response = client.get("/admin/projects/project/", params)
            assert response.status_code == 200, (label, response.status_code)
            reset_queries()  # the query log is a bounded deque: a full one captures nothing
            with CaptureQueriesContext(connection) as captured:
                client.get("/admin/projects/project/", params)
            queries = len(captured.captured_queries)  # now: the next request empties the query log
            median = median_ms(lambda: client.get("/admin/projects/project/", params), args.repeat)
            print(
                f"{username:<10} {label:<16} {visible:>7} {queries:>8} "
                f"{median:>10.1f} {floor_ms:>9.1f} {median / floor_ms:>6.1f}"
            )


if __name__ == "__main__":
    main()
