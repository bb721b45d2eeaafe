"""The REST API behind gunicorn (DEBUG off, API tokens, as deployed) with many projects, for three scopes —
the province, the county whose projects sort last in the default order and the city-level unit it reports
to — and these requests: the project list at 100 and at 1,000 rows (page_size), the red-light list at 100
rows, one project's detail (the scope's project with the most plans), and the OpenAPI schema
(/api/schema/, once: it is the same for everyone).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/api.py [--quick] [--projects 100000] [--workers 4]

Every figure is the median and the 95th percentile of many samples, with their count (bench/harness.py):
cold = a write in the scope (one monthly report saved through the ORM: the signals move the data versions;
nothing is emptied) then 1 or 8 concurrent requests, repeated; warm = after a warm-up burst, 1 client and
8 concurrent clients. Floors, through the same gunicorn in the same run (bench/urls.py, bench-only): a
minimal API view (the API's token authentication, throttle and a read permission, one trivial query), and
for each list the same rows read by plain SQL (bench/floors.py: the page's projects with their regions,
batch, industry, plan, programmes and actions, in three queries; checked to be the API's rows, in its
order, before timing). SQL queries are counted in this process in a pass of their own, at page_size=10,
100 and 1,000 (they must not grow with the rows).

--quick: 10,000 projects and fewer samples (a smoke run for CI). The bench's users are named bench-api-*;
their API tokens are deleted at start and at the end. It writes to the database it is given.
"""

import datetime
import os
import sys
import time
from collections import Counter
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
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.models import ApiToken, Project  # noqa: E402

PREFIX = "bench-api-"
API = "/api/v1"


def cases_for(scope, token, with_schema):
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    cases = []
    for label, query, size in (("list, 100 rows", {}, 100), ("list, 1,000 rows", {}, 1000), ("red, 100 rows", {"light": "red"}, 100)):
        case = harness.Case(scope, label, f"{API}/projects/?{urlencode({**query, 'page_size': size})}", headers,
                            rows_floor="/bench-floor/api/rows/?" + urlencode({"scope": scope.param, **query, "size": size}),
                            floor="/bench-floor/api/")
        case.info["sizes"] = {n: f"{API}/projects/?{urlencode({**query, 'page_size': n})}" for n in (10, 100, 1000)}
        cases.append(case)
    project = (Project.objects.visible_to(scope.user).annotate(n=Count("plans")).order_by("-n", "pk").values_list("pk", flat=True).first())
    cases.append(harness.Case(scope, "detail", f"{API}/projects/{project}/", headers, floor="/bench-floor/api/"))
    if with_schema:
        cases.append(harness.Case(scope, "/api/schema/", "/api/schema/", headers, floor="/bench-floor/api/"))
    return cases


def counted(client, path):
    client.get(path)  # warm
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path}: answered {response.status_code} {response.content[:300]!r}")
    return response, [query["sql"] for query in captured.captured_queries]


def count_and_check(cases):
    """In this process: queries of a warm request at page_size 10, 100 and 1,000 and of a cold one; the
    answer's rows and size; whether the rows floor gives the same projects in the same order."""
    keep_one_connection()
    for case in cases:
        client = Client(headers={"Authorization": case.headers["Authorization"]}, HTTP_ACCEPT="application/json")
        response, queries = counted(client, case.path)
        case.info["queries_warm"] = len(queries)
        case.info["kb"] = len(response.content) / 1024
        case.scope.write()
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            client.get(case.path)
        case.info["queries_cold"] = len(captured.captured_queries)
        if "sizes" in case.info:
            by_size = {n: counted(client, path)[1] for n, path in case.info["sizes"].items()}
            case.info["growth"] = " → ".join(str(len(by_size[n])) for n in (10, 100, 1000))
            if len(by_size[10]) != len(by_size[1000]):
                small, large = Counter(by_size[10]), Counter(by_size[1000])
                case.info["grows"] = [sql[:140] for sql in large if large[sql] > small.get(sql, 0)][:3]
            results = response.json()["results"]
            case.info["rows"] = len(results)
            floor = client.get(case.rows_floor)
            if floor.status_code != 200:
                raise SystemExit(f"{case.rows_floor} answered {floor.status_code}")
            case.info["same"] = [row["id"] for row in results] == floor.json()["ids"] and bool(results)


def main():
    args, plan, projects = harness.server_bench_options()

    started = time.perf_counter()
    prepare_database(projects)
    harness.require_postgresql()
    scopes = harness.bench_users(PREFIX, harness.scopes_worst_placed())
    ApiToken.objects.filter(user__username__startswith=PREFIX).delete()
    cases = []
    try:
        for scope in scopes:
            _instance, token = ApiToken.objects.create(user=scope.user, expiry=datetime.timedelta(hours=4), name="bench", read_only=True)
            cases += cases_for(scope, token, with_schema=scope.name == "province")
        count_and_check(cases)
        floors = {scope.name: {"warm_1": harness.Stat(), "warm_8": harness.Stat()} for scope in scopes}
        server = harness.Server(args.workers)
        try:
            measure_started = time.perf_counter()
            harness.measure(server, cases, plan, floors)
            measured = time.perf_counter() - measure_started
        finally:
            server.stop()
    finally:
        ApiToken.objects.filter(user__username__startswith=PREFIX).delete()

    print()
    print(f"{connection.vendor} {settings.DATABASES['default']['NAME']}, {projects:,} projects; gunicorn {args.workers} workers on "
          f"{os.cpu_count()} CPUs, DEBUG off, throttle on (rate {settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['api']}), "
          f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print("scopes: " + "; ".join(f"{s.name} = {s.region.name} ({s.visible:,} projects, user {s.user.username})" for s in scopes))
    print(harness.Plan.describe(plan))
    print("cells: median/p95 ms; ratios of medians; q: SQL queries of a warm / a cold request; 10→100→1000: warm queries at "
          "those page sizes; same: the rows SQL gives the API's rows in its order")
    print(f"{'scope':<8} {'case':<17} {'rows':>5} {'KB':>6} {'q':>6} {'10→100→1000':>12} {'cold ×1':>13} {'cold ×8':>13} "
          f"{'warm ×1':>13} {'warm ×8':>13} {'÷floor':>9} {'rows SQL ×1':>13} {'×8':>13} {'÷rows':>9} {'same':>5}")
    for scope in scopes:
        floor = floors[scope.name]
        print(f"{scope.name:<8} {'floor: minimal view':<17} {'':>5} {'':>6} {'':>6} {'':>12} {'':>13} {'':>13} "
              f"{floor['warm_1'].cell()} {floor['warm_8'].cell()}   (n={floor['warm_1'].n}, {floor['warm_8'].n})")
        for case in (c for c in cases if c.scope is scope):
            s, r, info = case.stats, case.rows_stats, case.info
            rows_cells = f"{r['warm_1'].cell()} {r['warm_8'].cell()}" if case.rows_floor else f"{'':>13} {'':>13}"
            over_rows = f"{harness.ratio(s['cold_1'], r['warm_1'])}/{harness.ratio(s['warm_1'], r['warm_1'])}" if case.rows_floor else ""
            same = ("yes" if info["same"] else "NO") if case.rows_floor else ""
            print(f"{scope.name:<8} {case.label:<17} {info.get('rows', ''):>5} {info['kb']:>6.1f} "
                  f"{str(info['queries_warm']) + '/' + str(info['queries_cold']):>6} {info.get('growth', ''):>12} {s['cold_1'].cell()} "
                  f"{s['cold_8'].cell()} {s['warm_1'].cell()} {s['warm_8'].cell()} "
                  f"{harness.ratio(s['warm_1'], floor['warm_1']) + '/' + harness.ratio(s['warm_8'], floor['warm_8']):>9} "
                  f"{rows_cells} {over_rows:>9} {same:>5}")
    first = cases[0]
    print(f"samples per row: cold ×1 {first.stats['cold_1'].n}, cold ×8 {first.stats['cold_8'].n}, warm ×1 "
          f"{first.stats['warm_1'].n}, warm ×8 {first.stats['warm_8'].n}; rows SQL ×1 {first.rows_stats['warm_1'].n}, "
          f"×8 {first.rows_stats['warm_8'].n}; ÷floor: warm ×1 / warm ×8 over the minimal view's; ÷rows: cold ×1 / warm ×1 "
          f"over the rows SQL ×1")
    for case in cases:
        if case.info.get("grows"):
            print(f"!! {case.scope.name} {case.label}: queries grow with the rows; repeated: {case.info['grows']}")
        if case.rows_floor and not case.info["same"]:
            print(f"!! {case.scope.name} {case.label}: the plain SQL does not give the API's rows")
    print(f"measured in {measured:.0f}s; whole run {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
