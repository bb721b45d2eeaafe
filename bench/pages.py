"""Page latency behind gunicorn (DEBUG off, two factors verified, as deployed) with many projects, for three
scopes — the province, the county whose projects sort last in the default order (PROJECT_ORDER) and the
city-level unit it reports to — and every page case: the dashboard, the project list's page 1, its
red-light filter, each sortable column (ProjectFilterSet's `sort`), its deepest page up to page 1,000, the
admin's project changelist and its search for "产业园".

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/pages.py [--quick]
        [--projects 100000] [--workers 4] [--only REGEX]

Every figure is the median and the 95th percentile of many samples, with their count (bench/harness.py):
- cold: a write (one monthly report of a project in the scope saved through the ORM: the signals move the
  data versions, as any write does; nothing is emptied), then 1 or 8 concurrent requests; repeated;
- warm: after a warm-up burst, requests with 1 client and with 8 concurrent clients.
Floors, through the same gunicorn in the same run, measured between the cases (bench/urls.py, served only
under the bench's settings): the minimal authenticated page (login_required, one trivial query); for
every list case and the admin's changelist and search the same 50 rows read by plain SQL (bench/floors.py; checked
to be the page's rows, in its order, before timing); for the dashboard its own SQL over the whole scope in one pass,
run as plain SQL (the "rows SQL" columns: the data's cost with no piece or cache). SQL queries per request, warm and cold, are counted in a pass of their own in this
process (Django's test client over one kept connection).

--quick: 10,000 projects and fewer samples (a smoke run for CI: its figures are not for comparing).
The bench's users are named bench-pages-*. It writes to the database it is given (users, sessions, a
report's save per cold cycle, the lights of the day, VACUUM ANALYZE): never point it at one that matters.
"""

import math
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

harness.configure()

import django  # noqa: E402

django.setup()

from common import keep_one_connection, prepare_database  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.pages.project_list import LIST_PAGE_SIZE  # noqa: E402
from projects.shared.filtersets import ProjectFilterSet  # noqa: E402

PREFIX = "bench-pages-"
PAGE_CAP = 1000
# A row's link on the list page, or on the admin's changelist.
ROW_LINK = re.compile(rb'href="/(?:projects/(\d+)/\?year=|admin/projects/project/(\d+)/change/)')


def sort_params():
    """Every sortable column of the list, as ProjectFilterSet names it (ascending)."""
    return list(ProjectFilterSet.base_filters["sort"].param_map)  # {param: field}


def cases_for(scope, cookie):
    headers = {"Cookie": cookie}
    pages = max(1, math.ceil(scope.visible / LIST_PAGE_SIZE))
    deep = min(PAGE_CAP, pages)
    wanted = [("dashboard", "/", None), ("list, page 1", "/projects/", {}), ("list, red", "/projects/", {"light": "red"})]
    wanted += [(f"sort={param}", "/projects/", {"sort": param}) for param in sort_params()]
    wanted.append((f"page {deep:,}" + (" (last)" if deep < PAGE_CAP else ""), "/projects/", {"page": str(deep)}))
    wanted += [("admin changelist", "/admin/projects/project/", {}), ("admin search 产业园", "/admin/projects/project/", {"q": "产业园"})]
    cases = []
    for label, path, query in wanted:
        if query is None:  # the dashboard: its own SQL over the scope
            rows = "/bench-floor/dashboard/"
        else:
            admin = {"columns": "admin"} if path.startswith("/admin/") else {}
            rows = "/bench-floor/rows/?" + urlencode({"scope": scope.param, **query, **admin})
            path = path + ("?" + urlencode(query) if query else "")
        cases.append(harness.Case(scope, label, path, headers, rows_floor=rows, floor="/bench-floor/", rows_at_8=query is not None))
    return cases


def count_and_check(cases):
    """In this process: queries of a warm and of a cold request of each case, and whether the rows floor
    gives the page's rows in the page's order."""
    keep_one_connection()
    clients = {}
    for case in cases:
        client = clients.get(case.scope.name)
        if client is None:
            client = clients[case.scope.name] = Client()
            client.cookies.load(case.headers["Cookie"])
        for kind in ("warm", "cold"):
            if kind == "warm":
                client.get(case.path)
            else:
                case.scope.write()
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                response = client.get(case.path)
            if response.status_code != 200:
                raise SystemExit(f"{case.scope.name} {case.label}: {case.path} answered {response.status_code}")
            case.info[f"queries_{kind}"] = len(captured.captured_queries)
        if case.rows_floor and case.rows_floor.startswith("/bench-floor/rows/"):
            # The admin links a row twice (its code and its name).
            page_ids = list(dict.fromkeys(int(listed or admin) for listed, admin in ROW_LINK.findall(response.content)))
            floor = client.get(case.rows_floor)
            if floor.status_code != 200:
                raise SystemExit(f"{case.rows_floor} answered {floor.status_code}")
            floor_ids = floor.json()["ids"]
            case.info["rows"] = len(page_ids)
            case.info["same"] = page_ids == floor_ids and bool(page_ids)
            if not case.info["same"]:
                case.info["differ"] = (page_ids[:5], floor_ids[:5], len(page_ids), len(floor_ids))


def main():
    args, plan, projects = harness.server_bench_options()

    started = time.perf_counter()
    prepare_database(projects)
    harness.require_postgresql()
    scopes = harness.bench_users(PREFIX, harness.scopes_worst_placed())
    cases = []
    for scope in scopes:
        cases += cases_for(scope, harness.verified_session_cookie(scope.user))
    if args.only:
        cases = [case for case in cases if re.search(args.only, f"{case.scope.name} {case.label}")]
        if not cases:
            raise SystemExit(f"--only {args.only!r}: no row matches")
    harness.collectstatic()
    count_and_check(cases)

    floors = {scope.name: {"warm_1": harness.Stat(), "warm_8": harness.Stat()} for scope in scopes}
    server = harness.Server(args.workers)
    try:
        measure_started = time.perf_counter()
        harness.measure(server, cases, plan, floors)
        measured = time.perf_counter() - measure_started
    finally:
        server.stop()

    print()
    print(f"{connection.vendor} {settings.DATABASES['default']['NAME']}, {projects:,} projects; gunicorn {args.workers} workers on "
          f"{__import__('os').cpu_count()} CPUs, DEBUG off, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print("scopes: " + "; ".join(f"{s.name} = {s.region.name} ({s.visible:,} projects, user {s.user.username})" for s in scopes))
    print(harness.Plan.describe(plan))
    print("cells: median/p95 ms; ratios of medians; q: SQL queries of a warm / a cold request; rows SQL: the page's rows "
          "(the dashboard's: its figures' SQL over the scope); same: the rows SQL gives "
          "the page's rows in its order")
    header = (f"{'scope':<8} {'case':<22} {'q':>7} {'cold ×1':>13} {'cold ×8':>13} {'warm ×1':>13} {'warm ×8':>13} "
              f"{'÷floor':>9} {'rows SQL ×1':>13} {'×8':>13} {'÷rows':>9} {'same':>5}")
    print(header)
    for scope in scopes:
        floor = floors[scope.name]
        print(f"{scope.name:<8} {'floor: minimal page':<22} {'':>7} {'':>13} {'':>13} {floor['warm_1'].cell()} "
              f"{floor['warm_8'].cell()}   (n={floor['warm_1'].n}, {floor['warm_8'].n})")
        for case in (c for c in cases if c.scope is scope):
            s, r = case.stats, case.rows_stats
            queries = f"{case.info['queries_warm']}/{case.info['queries_cold']}"
            over_floor = f"{ratio_pair(s['warm_1'], floor['warm_1'], s['warm_8'], floor['warm_8'])}"
            over_rows = ratio_pair(s["cold_1"], r["warm_1"], s["warm_1"], r["warm_1"]) if case.rows_floor else ""
            same = ("yes" if case.info["same"] else "NO") if "same" in case.info else ""
            print(f"{scope.name:<8} {case.label:<22} {queries:>7} {s['cold_1'].cell()} {s['cold_8'].cell()} "
                  f"{s['warm_1'].cell()} {s['warm_8'].cell()} {over_floor:>9} "
                  f"{r['warm_1'].cell() if case.rows_floor else '':>13} {r['warm_8'].cell() if case.rows_floor else '':>13} "
                  f"{over_rows:>9} {same:>5}")
    first, with_rows = cases[0], next((c for c in cases if c.rows_floor), None)
    print(f"samples per row: cold ×1 {first.stats['cold_1'].n}, cold ×8 {first.stats['cold_8'].n}, warm ×1 "
          f"{first.stats['warm_1'].n}, warm ×8 {first.stats['warm_8'].n}"
          + (f"; rows SQL ×1 {with_rows.rows_stats['warm_1'].n}, ×8 {with_rows.rows_stats['warm_8'].n}"
             if with_rows else ""))
    print("÷floor: warm ×1 / warm ×8 over the minimal page's; ÷rows: cold ×1 / warm ×1 over the rows SQL ×1 (the SQL caches nothing: "
          "a warm page below 1 reads what a write has not changed from the cache)")
    for case in cases:
        if case.info.get("same") is False:
            print(f"!! {case.scope.name} {case.label}: the plain SQL does not give the page's rows (page, SQL): {case.info['differ']}")
    print(f"measured in {measured:.0f}s; whole run {time.perf_counter() - started:.0f}s")


def ratio_pair(a1, f1, a8, f8):
    return f"{harness.ratio(a1, f1)}/{harness.ratio(a8, f8)}"


if __name__ == "__main__":
    main()
