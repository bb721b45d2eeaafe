"""The monthly dispatch cycle with many projects: saving a 50-row report page (0, 1 and 50 rows changed)
through the real view, and reviewing reports in bulk (1,000 and 100, approve and return) through the
service and the review page; SQL queries per operation, the median and 95th percentile of its timed runs (their count printed), and
the ratio to a floor measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/reports.py [--quick] [--projects 100000] [--reports 1000] [--repeat 15] [--show-sql]

--quick: 10,000 projects, 200 reports reviewed at once, 5 timed runs (a smoke run).

Floors: for the page, the GET of the same page (reading and rendering its 50 rows); for the review, a
plain UPDATE of the reports' status plus a bulk_create of their ReportTransition rows (the least a review
must write). DEBUG is off in the timed loops; queries are counted in a separate pass. Requests go through
Django's test Client in this process, over one database connection kept across requests.

The bench's users are named bench-reports-*. At start it deletes the reporting month's reports of the
page's 50 projects (so the page starts empty every run) and the review reports it made earlier; at the
end it deletes its review reports again (with their history and the notices of returned reports).
"""

import argparse
import html
import itertools
import logging
import os
import re
import statistics
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Before anything renders a template or runs a query: the template engine reads DEBUG when it is
# built, the database wrappers log queries whenever DEBUG is on.
settings.DEBUG = False

from common import keep_one_connection, prepare_database  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, F, Q, Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from projects.accounts.services import user_set_role  # noqa: E402
from projects.dispatch import reports  # noqa: E402
from projects.domain import rules  # noqa: E402
from projects.domain.access import review_scope_q  # noqa: E402
from projects.domain.choices import ReviewAction, ReviewStatus, Role, Stage, Status  # noqa: E402
from projects.models import DigestDelivery, MonthlyReport, Project, Region, ReportTransition, User  # noqa: E402
from projects.shared.editing import progress_refresh  # noqa: E402

PREFIX = "bench-reports-"
NOTE = "bench-reports"  # every posted row carries a note (说明), so a check that fires does not hold it back
PAGE_ROWS = 50


# --- figures ---------------------------------------------------------------------------------------------


class Figure:
    def __init__(self, queries, times):
        self.queries = queries  # the captured queries of the counting pass
        self.times = times

    @property
    def count(self):
        return len(self.queries)

    @property
    def sql_kb(self):
        return sum(len(query["sql"]) for query in self.queries) / 1024

    @property
    def median(self):
        return statistics.median(self.times) * 1000

    @property
    def p95(self):
        if len(self.times) < 2:
            return self.times[0] * 1000
        return statistics.quantiles(self.times, n=20, method="inclusive")[18] * 1000


def measure(prepare, run, after, repeat):
    """One untimed warm-up, one untimed pass counting queries, then `repeat` timed runs. prepare() builds
    the arguments and resets state (untimed); run(arg) is the timed operation; after(arg, result) checks
    and records what it did (untimed)."""
    arg = prepare()
    after(arg, run(arg))
    arg = prepare()
    with CaptureQueriesContext(connection) as captured:
        result = run(arg)
    after(arg, result)
    queries = list(captured.captured_queries)
    times = []
    for _ in range(repeat):
        arg = prepare()
        started = time.perf_counter()
        result = run(arg)
        times.append(time.perf_counter() - started)
        after(arg, result)
    return Figure(queries, times)


_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w\"])-?\d+(?:\.\d+)?(?![\w\"])")
_VALUE = r"(?:N|\?|NULL|true|false|%s)(?:::[\w ]+(?:\(\w+(?:,\s*\w+)?\))?(?:\[\])?)?"
_LIST = re.compile(r"\(\s*" + _VALUE + r"(?:\s*,\s*" + _VALUE + r")*\s*\)")
_LISTS = re.compile(r"\(…\)(?:\s*,\s*\(…\))+")
_WHENS = re.compile(r"(?:WHEN \(.*?\) THEN \S+\s*)+")
_ORS = re.compile(r"(\([^()]*\))(?: OR \1)+")


_SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def normalise(sql):
    """The query's text with its values stripped: literals, numbers, lists of values, CASE arms and
    savepoint names."""
    sql = _SAVEPOINT.sub('"s…"', sql)
    sql = _STRING.sub("?", sql)
    sql = _NUMBER.sub("N", sql)
    sql = _LIST.sub("(…)", sql)
    sql = _LISTS.sub("(…), …", sql)
    sql = _WHENS.sub("WHEN … ", sql)
    sql = _ORS.sub(r"\1 OR …", sql)
    return " ".join(sql.split())


def groups(figure):
    return Counter(normalise(query["sql"]) for query in figure.queries)


def short(sql, width=150):
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def explain_growth(label, smaller, larger, smaller_name, larger_name, heading=None):
    """Print which queries the larger operation sends more often than the smaller one."""
    small, large = groups(smaller), groups(larger)
    print(heading or f"  !! {label}: {smaller.count} queries with {smaller_name}, {larger.count} with {larger_name}. Repeating:")
    for sql in sorted(set(small) | set(large), key=lambda sql: large[sql] - small[sql], reverse=True):
        if small[sql] != large[sql]:
            print(f"     {small[sql]:>4} → {large[sql]:<4} {short(sql)}")
    if connection.vendor == "sqlite" and not heading:
        print("     (on SQLite Django splits a bulk_create / bulk_update into batches under the limit on query parameters)")


def show_sql(label, figure):
    """The operation's queries grouped by their text without values, slowest first (times of the counting
    pass, which logs every query and so runs a little slower than the timed ones)."""
    spent = Counter()
    for query in figure.queries:
        spent[normalise(query["sql"])] += float(query["time"] or 0) * 1000
    counts = groups(figure)
    print(f"  -- {label}: {figure.count} queries, {sum(spent.values()):.1f} ms in the database")
    for sql, ms in spent.most_common():
        print(f"     {counts[sql]:>4} × {ms:>8.1f} ms  {short(sql, 130)}")


def row(label, figure, floor, extra=""):
    print(f"{label:<48} {extra:>7} {figure.count:>7} {figure.sql_kb:>7.1f} {figure.median:>10.1f} {figure.p95:>8.1f} "
          f"{figure.median / floor.median:>6.1f}")


def header():
    print(f"{'operation':<48} {'rows':>7} {'queries':>7} {'SQL KB':>7} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")


# --- users -----------------------------------------------------------------------------------------------


def bench_user(suffix, role, region):
    """The bench's user of `role` for `region`, reused across runs (moved to `region` if need be)."""
    user, _created = User.objects.get_or_create(
        username=f"{PREFIX}{suffix}",
        defaults={"email": f"{PREFIX}{suffix}@example.org", "region": region, "is_staff": True},
    )
    if user.region_id != region.pk or not user.is_active or not user.email:
        user.region, user.is_active, user.email = region, True, user.email or f"{PREFIX}{suffix}@example.org"
        user.save()
    if user.has_usable_password():
        user.set_unusable_password()
        user.save()
    user_set_role(user=user, role=role)
    return User.objects.get(pk=user.pk)  # fresh, without cached permissions


def listed_projects():
    """What the monthly_report view lists, region aside: every project not cancelled and not preparatory."""
    return Project.objects.exclude(status=Status.CANCELLED).exclude(stage=Stage.PREPARATORY)


def choose_editor():
    """A county editor of the county with the most listed projects (a city coordinator if no county has
    50); returns the user and the number of projects listed."""
    for field, role in (("county", Role.COUNTY_EDITOR), ("city", Role.CITY_COORDINATOR)):
        top = listed_projects().filter(**{f"{field}__isnull": False}).values(field).annotate(n=Count("pk")).order_by("-n", field).first()
        if top and top["n"] >= PAGE_ROWS:
            region = Region.objects.get(pk=top[field])
            return bench_user("editor", role, region), listed_projects().filter(Q(county=region) | Q(city=region)).count()
    raise SystemExit("no region has a report page of 50 rows")


def choose_coordinator():
    """A city coordinator of the city whose counties report the most projects (the ones it reviews)."""
    top = (
        Project.objects.filter(county__isnull=False).exclude(county_id=F("city_id"))
        .values("city").annotate(n=Count("pk")).order_by("-n", "city").first()
    )
    return bench_user("coordinator", Role.CITY_COORDINATOR, Region.objects.get(pk=top["city"]))


# --- 1. the report page ----------------------------------------------------------------------------------

INPUT = re.compile(r'name="p(\d+)-(version|completed|progress|note)" value="([^"]*)"')


def page_rows(response):
    """{project pk: {version, completed, progress, note}} as the page hands them out, in page order."""
    assert response.status_code == 200, response.status_code
    rows = {}
    for pk, name, value in INPUT.findall(response.content.decode()):
        rows.setdefault(int(pk), {"note": ""})[name] = html.unescape(value)
    for values in rows.values():
        values["version"] = int(values["version"])
    return rows


def form_data(state, changes):
    """All rows pre-filled as stored, with `changes` ({pk: amount}) applied. A changed row carries a new note
    (说明), as a person confirms a warning the new figure may raise (a completed project still reporting…)."""
    data = {}
    for pk, values in state.items():
        data[f"p{pk}-completed"] = changes.get(pk, values["completed"])
        data[f"p{pk}-progress"] = values["progress"]
        data[f"p{pk}-problem"] = ""
        data[f"p{pk}-note"] = f"{NOTE} {changes[pk]}" if pk in changes else values["note"]
        data[f"p{pk}-version"] = str(values["version"])
    return data


def bench_page(args, client_kwargs):
    today = rules.today()
    month = rules.reporting_month(today)
    editor, listed = choose_editor()
    client = Client()
    client.force_login(editor)
    url = reverse("monthly_report") + f"?month={month:%Y-%m}"

    def get():
        return client.get(url, **client_kwargs)

    ids = list(page_rows(get()))
    # Every run starts from an empty page for this month: its reports (seeded or a previous run's) go.
    MonthlyReport.objects.filter(project_id__in=ids, month=month).delete()
    progress_refresh(projects=ids)
    empty = page_rows(get())
    if set(empty) != set(ids):
        raise SystemExit("the report page listed different projects on two GETs")
    if len(ids) < PAGE_ROWS:
        print(f"note: only {len(ids)} rows on the page")
    response = client.post(url, form_data(
        {pk: {"completed": "", "progress": "主体施工", "note": NOTE, "version": 0} for pk in ids},
        {pk: f"{100 + index}.00" for index, pk in enumerate(ids)},
    ), **client_kwargs)
    assert response.status_code == 302, f"first save of the page answered {response.status_code}"
    client.cookies.pop("messages", None)
    state = page_rows(get())
    assert set(state) == set(ids) and all(values["version"] == 1 for values in state.values()), "the first save did not store every row"
    client.cookies.pop("messages", None)

    print(f"1. Report page {month:%Y-%m} as {editor.username} ({editor.region.name}, {listed} projects listed, "
          f"{len(ids)} rows on page 1); each POST sends every row pre-filled as stored, with a note (说明)")

    def stored_versions():
        return MonthlyReport.objects.filter(project_id__in=ids, month=month).aggregate(v=Sum("version"))["v"]

    expected = {"versions": stored_versions()}
    counter = {"n": 0}

    def changes_of(pks):
        counter["n"] += 1
        return {pk: f"{Decimal(state[pk]['completed']) + counter['n']:.2f}" for pk in pks}

    def post(changes):
        return client.post(url, form_data(state, changes), **client_kwargs)

    def after_post(changes, response):
        if response.status_code != 302:
            import re as _re
            errors = _re.findall(r'class="(?:errorlist|error|warning)[^"]*"[^>]*>(.*?)</', response.content.decode())
            raise SystemExit(f"POST answered {response.status_code}: {errors[:5]}")
        client.cookies.pop("messages", None)  # as the browser's next page would show and drop it
        for pk, amount in changes.items():
            state[pk]["completed"] = amount
            state[pk]["note"] = f"{NOTE} {amount}"
            state[pk]["version"] += 1
        expected["versions"] += len(changes)
        stored = stored_versions()
        assert stored == expected["versions"], f"a POST did not save exactly the changed rows ({stored} ≠ {expected['versions']})"

    floor = measure(lambda: None, lambda _arg: get(), lambda _arg, response: client.cookies.pop("messages", None), args.repeat)
    assert get().status_code == 200
    figures = {
        0: measure(dict, post, after_post, args.repeat),
        1: measure(lambda: changes_of([ids[counter["n"] % len(ids)]]), post, after_post, args.repeat),
        len(ids): measure(lambda: changes_of(ids), post, after_post, args.repeat),
    }
    final = page_rows(get())
    assert {pk: (v["completed"], v["version"]) for pk, v in final.items()} == {
        pk: (v["completed"], v["version"]) for pk, v in state.items()}, "the page does not show what was posted"

    header()
    row("GET the page (floor: read and render)", floor, floor, str(len(ids)))
    for changed, figure in figures.items():
        row(f"POST the page, {changed} row{'s' if changed != 1 else ''} changed", figure, floor, str(len(ids)))
    if args.show_sql:
        show_sql("GET", floor)
        for changed, figure in figures.items():
            show_sql(f"POST, {changed} changed", figure)
    if figures[0].count != figures[1].count:
        explain_growth("page POST", figures[0], figures[1], "0 changed", "1 changed", heading=(
            f"  what a save writes once any row changed (0 → 1 changed: {figures[0].count} → {figures[1].count} queries):"))
    grown = figures[1].count != figures[len(ids)].count
    if grown:
        explain_growth("page POST", figures[1], figures[len(ids)], "1 changed", f"{len(ids)} changed")
    return {"floor": floor, "figures": figures, "rows": len(ids), "grown": grown, "editor": editor}


# --- 2. bulk review --------------------------------------------------------------------------------------


def bench_review(args, client_kwargs, editor):
    month = rules.month_start(rules.today())  # a month the demo data has no reports for
    coordinator = choose_coordinator()
    stale = list(MonthlyReport.objects.filter(month=month, reported_by__username__startswith=PREFIX).values_list("pk", flat=True))
    cleanup(stale)
    candidates = (
        Project.objects.filter(review_scope_q(coordinator, project_prefix=""))
        .exclude(reports__month=month).order_by("pk").values_list("pk", flat=True)
    )
    project_ids = list(candidates[: args.reports])
    now = timezone.now()
    created = MonthlyReport.objects.bulk_create([
        MonthlyReport(project_id=pk, month=month, completed_investment=Decimal("10.00"), image_progress="主体施工",
                      note="", reported_by=editor, reported_at=now, review_status=ReviewStatus.SUBMITTED, version=1)
        for pk in project_ids
    ])
    ids = sorted(report.pk for report in created) if all(r.pk for r in created) else list(
        MonthlyReport.objects.filter(month=month, project_id__in=project_ids).order_by("pk").values_list("pk", flat=True))
    progress_refresh(projects=project_ids)
    reviewable = MonthlyReport.objects.reviewable_by(coordinator).filter(pk__in=ids).count()
    assert reviewable == len(ids), f"{reviewable} of {len(ids)} reports are the coordinator's to review"
    if len(ids) < args.reports:
        print(f"note: {coordinator.region.name} has only {len(ids)} projects to review; reviewing {len(ids)}, not {args.reports}")
    sizes = [len(ids)] + ([100] if len(ids) > 100 else [])
    print()
    print(f"2. Review of {len(ids)} submitted reports of {month:%Y-%m} as {coordinator.username} ({coordinator.region.name}); "
          f"a return queues no mail (enqueue=lambda pk: None) but records the notices")

    def reset(subset):
        MonthlyReport.objects.filter(pk__in=subset).update(
            review_status=ReviewStatus.SUBMITTED, reviewed_by=None, reviewed_at=None, review_reason="")
        return subset

    def service(action, reason=""):
        def prepare(subset):
            subset = reset(subset)
            # The versions the reviewer's page showed, read before the clock starts.
            seen = dict(MonthlyReport.objects.filter(pk__in=subset).values_list("pk", "version"))
            return subset, seen, User.objects.get(pk=coordinator.pk)  # fresh: permissions loaded inside, as in a request

        def run(arg):
            _subset, seen, user = arg
            return reports.reports_review(user=user, versions=seen, action=action, reason=reason, enqueue=lambda pk: None)

        def after(arg, result):
            assert len(result.done) == len(arg[0]) and not result.skipped, (len(result.done), result.skipped[:3])

        return prepare, run, after

    def floor_ops():
        def prepare(subset):
            return reset(subset)

        def run(subset):
            at = timezone.now()
            with transaction.atomic():
                MonthlyReport.objects.filter(pk__in=subset).update(
                    review_status=ReviewStatus.APPROVED, reviewed_by=coordinator, reviewed_at=at)
                return ReportTransition.objects.bulk_create([
                    ReportTransition(report_id=pk, action=ReviewAction.APPROVE, from_status=ReviewStatus.SUBMITTED,
                                     to_status=ReviewStatus.APPROVED, user=coordinator, at=at)
                    for pk in subset
                ])

        def after(subset, transitions):
            assert len(transitions) == len(subset)
            if all(t.pk for t in transitions):
                ReportTransition.objects.filter(pk__in=[t.pk for t in transitions]).delete()
            else:
                ReportTransition.objects.filter(report_id__in=subset, at=transitions[0].at).delete()

        return prepare, run, after

    client = Client()
    client.force_login(coordinator)
    url = reverse("report_review") + f"?month={month:%Y-%m}"

    def http(per_row_reasons):
        def prepare(subset):
            reset(subset)
            data = {"action": ReviewAction.APPROVE.value, "reason": "", "selected": [str(pk) for pk in subset]}
            # The version each row was shown at (the page's optimistic lock), as the page's form sends it.
            data.update({f"version-{pk}": str(version) for pk, version in
                         MonthlyReport.objects.filter(pk__in=subset).values_list("pk", "version")})
            if per_row_reasons:  # as the page's form sends them: one empty reason box per row
                data.update({f"reason-{pk}": "" for pk in subset})
            return subset, data

        def run(arg):
            return client.post(url, arg[1], **client_kwargs)

        def after(arg, response):
            assert response.status_code == 302, response.status_code
            client.cookies.pop("messages", None)
            approved = MonthlyReport.objects.filter(pk__in=arg[0], review_status=ReviewStatus.APPROVED).count()
            assert approved == len(arg[0]), f"{approved} of {len(arg[0])} approved"

        return prepare, run, after

    def bind(ops, subset):
        prepare, run, after = ops
        return (lambda: prepare(subset)), run, after

    results = []  # (label, size, figure, floor)
    floors = {}

    def floor_for(size):
        if size not in floors:
            floors[size] = measure(*bind(floor_ops(), ids[:size]), args.repeat)
        return floors[size]

    for size in sizes:
        floor = floor_for(size)
        results.append(("floor: UPDATE + bulk_create transitions", size, floor, floor))
        results.append(("reports_review approve", size, measure(*bind(service(ReviewAction.APPROVE), ids[:size]), args.repeat), floor))
        results.append(("reports_review return (no mail queued)", size,
                        measure(*bind(service(ReviewAction.RETURN, "bench-reports: 请核实"), ids[:size]), args.repeat), floor))

    # Through the review page: one page's worth (50, with the per-row reason boxes a browser sends), then
    # as many as one form may carry.
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    refused = None
    if limit is not None and len(ids) + 2 > limit:
        reset(ids)
        logging.disable(logging.CRITICAL)
        try:
            status = client.post(url, {"action": "approve", "reason": "", "selected": [str(pk) for pk in ids]}, **client_kwargs).status_code
        finally:
            logging.disable(logging.NOTSET)
        client.cookies.pop("messages", None)
        refused = (len(ids), status)
    http_sizes = [min(50, len(ids))]
    most = len(ids) if limit is None else min(len(ids), limit - 3)  # less csrf token, action and reason
    if most > http_sizes[0]:
        http_sizes.append(most)
    http_results = []
    for size in http_sizes:
        floor = floor_for(size)
        figure = measure(*bind(http(per_row_reasons=size <= 50), ids[:size]), args.repeat)
        http_results.append((f"HTTP POST review page, approve{' (one page)' if size <= 50 else ''}", size, figure, floor))
    reset(ids)

    header()
    for label, size, figure, floor in results + http_results:
        row(label, figure, floor, str(size))
    if refused:
        print(f"HTTP POST of all {refused[0]} ids at once: answered {refused[1]} "
              f"({refused[0] + 2} form fields, DATA_UPLOAD_MAX_NUMBER_FIELDS={limit}); timed above with {most}")
    if args.show_sql:
        for label, size, figure, _floor in results + http_results:
            show_sql(f"{label}, {size}", figure)
    grown = []
    by_label = {}
    for label, size, figure, _floor in results + http_results:
        by_label.setdefault(label.split(" (one page)")[0], []).append((size, figure))
    for label, figures in by_label.items():
        figures.sort(key=lambda pair: pair[0])
        for (small_size, small), (large_size, large) in itertools.pairwise(figures):
            if small.count != large.count:
                grown.append(label)
                explain_growth(label, small, large, f"{small_size} reports", f"{large_size} reports")
    return {"ids": ids, "results": results, "http": http_results, "grown": grown, "refused": refused, "most": most}


def cleanup(ids):
    """Delete the bench's review reports (their transitions go with them), their history and the notices
    of returned reports, and put the projects' totals right again."""
    if ids:
        projects = list(MonthlyReport.objects.filter(pk__in=ids).values_list("project_id", flat=True).distinct())
        MonthlyReport.objects.filter(pk__in=ids).delete()
        MonthlyReport.history.model.objects.filter(id__in=ids).delete()
        progress_refresh(projects=projects)
    DigestDelivery.objects.filter(user__username__startswith=PREFIX).delete()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 projects, 200 reports, 5 timed runs")
    parser.add_argument("--projects", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--reports", type=int, help="reports reviewed at once (default 1,000; 200 with --quick)")
    parser.add_argument("--repeat", type=int, help="timed repetitions after one warm-up (default 15; 5 with --quick)")
    parser.add_argument("--show-sql", action="store_true", help="print every counted operation's queries, grouped")
    args = parser.parse_args()
    args.projects = args.projects or (10_000 if args.quick else 100_000)
    args.reports = args.reports or (200 if args.quick else 1000)
    args.repeat = args.repeat or (5 if args.quick else 15)
    if args.repeat < 5:
        parser.error("--repeat must be at least 5")

    started = time.perf_counter()
    prepare_database(args.projects)
    keep_one_connection()  # as Django's test runner: one connection, and a query log requests do not reset
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client_kwargs = {"secure": True} if getattr(settings, "SECURE_SSL_REDIRECT", False) else {}
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"DEBUG off, queries counted in a separate pass; one warm-up, then {args.repeat} timed runs (n = {args.repeat}): median and p95; "
          f"ratio = median / floor median; cache {cache}")
    print()

    page = bench_page(args, client_kwargs)
    review = bench_review(args, client_kwargs, page["editor"])
    cleanup(review["ids"])

    floor, figures, rows = page["floor"], page["figures"], page["rows"]
    one, none, every = figures[1], figures[0], figures[rows]
    results = {(label, size): (figure, floor) for label, size, figure, floor in review["results"]}
    size = len(review["ids"])
    approve, approve_floor = results[("reports_review approve", size)]
    give_back, _ = results[("reports_review return (no mail queued)", size)]
    if page["grown"]:
        growth_page = f"the queries grow with the rows changed ({one.count} for 1, {every.count} for {rows}; listed above)"
    elif none.count != one.count:
        growth_page = (f"the {rows} rows are read in a fixed number of queries, and a save that writes adds a fixed "
                       f"{one.count - none.count} (the same for 1 and {rows} changed rows)")
    else:
        growth_page = f"the same number of queries whether 0, 1 or {rows} rows change"
    reviewed = sorted({size for _label, size, _figure, _floor in review["results"] + review["http"]})
    growth_review = (
        f"the query count is the same for {', '.join(map(str, reviewed))} reports" if not review["grown"]
        else f"the query count grows with the reports reviewed in: {', '.join(sorted(set(review['grown'])))} (listed above"
        + ("; SQLite's batches of bulk writes" if connection.vendor == "sqlite" else "") + ")"
    )
    print()
    print(
        f"Summary ({connection.vendor}, {args.projects} projects): saving a {rows}-row report page with 1 row changed takes "
        f"{one.median:.0f} ms and {one.count} queries ({one.median / floor.median:.1f}× the GET of the same page, "
        f"{floor.median:.0f} ms); with 0 changed {none.median:.0f} ms / {none.count} queries, with all {rows} changed "
        f"{every.median:.0f} ms / {every.count} queries: {growth_page}; what grows with the changed rows is the size of the "
        f"writes (SQL sent {none.sql_kb:.0f} → {one.sql_kb:.0f} → {every.sql_kb:.0f} KB: the UPDATE's CASE arms, history rows, the "
        f"progress refresh of the changed projects). Approving {size} reports through reports_review takes {approve.median:.0f} ms "
        f"in {approve.count} queries ({approve.median / approve_floor.median:.1f}× a bare UPDATE + bulk_create, "
        f"{approve_floor.median:.0f} ms) and returning them {give_back.median:.0f} ms in {give_back.count} queries "
        f"({give_back.median / approve_floor.median:.1f}×, with the totals refreshed and the notices recorded, no mail queued); "
        f"{growth_review}."
        + (f" The review page refuses all {review['refused'][0]} ids in one POST ({review['refused'][1]}, more form fields than "
           f"DATA_UPLOAD_MAX_NUMBER_FIELDS); it lists 50 per page." if review["refused"] and review["refused"][1] != 302 else "")
        + f" Whole run {time.perf_counter() - started:.0f}s."
    )


if __name__ == "__main__":
    main()
