"""Import and export of big lists through django-import-export (ProjectListResource): `import_projects` for
a first import, a re-import that changes every row and a re-import of the unchanged file, each against a
floor measured in the same run, best of 3, DEBUG off, each step in a fresh process (its peak memory its
own); and a streamed export.

The floor does the same work with nothing in between: it parses the same file (openpyxl read-only) and
writes, 2,000 rows at a time, what the first import writes — projects with every column, their programme
and action links, annual plans, and history rows (projects with their links, plans) — then rolls back.

    DATABASE_URL=sqlite:////tmp/bench-import.sqlite3 .venv/bin/python bench/import.py [--rows 10000 50000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench_import .venv/bin/python bench/import.py

Use a database of its own: the bench deletes every project in it.
"""

import argparse
import datetime
import io
import itertools
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # before any query: the database wrappers log every query while DEBUG is on

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

from actions.models import Action  # noqa: E402
from projects.domain.template import COLUMNS  # noqa: E402
from projects.importing import exporting  # noqa: E402
from projects.models import Project, Region  # noqa: E402

STAGES = ["前期", "新开工", "续建", "竣工投产"]
PROGRAMMES = ["省重点", "市重点", "招商引资", "技术改造"]


def write_list(path, rows, *, bump=0):
    """A provincial list of `rows` projects; `bump` changes every row's total investment."""
    counties = list(Region.objects.counties().select_related("reporting_city"))
    rng = random.Random(7)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("项目清单")
    sheet.append(["河北省2026年重点项目清单"])
    sheet.append(["单位：万元"])
    sheet.append(["序号"] + [header for header, _alias in COLUMNS])
    for number in range(1, rows + 1):
        county = counties[number % len(counties)]
        values = {
            "code": f"2026-{county.code}-26-03-{number:05d}X",
            "name": f"{county.name}基准项目{number}",
            "programmes": "、".join(rng.sample(PROGRAMMES, 2)),
            "batch": "重大产业项目",
            "stage": rng.choice(STAGES),
            "city": county.reporting_city.name,
            "county": county.name,
            "industry": "装备制造",
            "actions": f"{number % 8 + 1}、{(number + 3) % 8 + 1}",
            "owner": f"基准公司{number}",
            "scope": "建设生产线及配套设施",
            "period": "2026-2028",
            "planned_start": "2026-03",
            "planned_end": "2028-12",
            "total_investment": 10000 + number + bump,
            "annual_plan": 3000,
            "completed_before_year": 0,
        }
        sheet.append([number] + [values.get(alias, "") for _header, alias in COLUMNS])
    book.save(path)


def floor(path):
    """Parse the file and write what a first import writes, in chunks, with no checks; rolled back."""
    from django.apps import apps

    from projects.models import AnnualPlan, Batch, Industry, Programme

    started = time.perf_counter()
    book = load_workbook(path, read_only=True, data_only=True)
    at = {alias: index + 1 for index, (_header, alias) in enumerate(COLUMNS)}  # after the 序号 column
    regions = {r.name: r for r in Region.objects.all()}
    programmes = {p.name: p.pk for p in Programme.objects.all()}
    actions = {a.number: a.pk for a in Action.objects.filter(plan__is_primary=True)}
    batches, industries = {b.name: b for b in Batch.objects.all()}, {i.name: i for i in Industry.objects.all()}
    stages = {str(label): value for value, label in Project._meta.get_field("stage").choices}
    history_links = {kind: apps.get_model("projects", f"HistoricalProject_{kind}") for kind in ("programmes", "actions")}
    rows = book.worksheets[0].iter_rows(min_row=4, values_only=True)

    def month(text):
        year, number = str(text).split("-")
        return datetime.date(int(year), int(number), 1)

    with transaction.atomic():
        while chunk := list(itertools.islice(rows, 2000)):
            projects = []
            for row in chunk:
                start, end = str(row[at["period"]]).split("-")
                county = regions.get(row[at["county"]])
                project = Project(
                    code=row[at["code"]], name=row[at["name"]], batch=batches[row[at["batch"]]], stage=stages[row[at["stage"]]],
                    city=regions[row[at["city"]]], county=county, industry=industries[row[at["industry"]]],
                    owner=row[at["owner"]], scope=row[at["scope"]], start_year=int(start), end_year=int(end),
                    planned_start=month(row[at["planned_start"]]), planned_end=month(row[at["planned_end"]]),
                    total_investment=Decimal(row[at["total_investment"]]),
                )
                project.set_sort_keys()
                projects.append(project)
            Project.objects.bulk_create(projects, batch_size=1000)
            links = {
                "programmes": Project.programmes.through.objects.bulk_create([
                    Project.programmes.through(project_id=project.pk, programme_id=programmes[name])
                    for project, row in zip(projects, chunk) for name in str(row[at["programmes"]]).split("、")], batch_size=5000),
                "actions": Project.actions.through.objects.bulk_create([
                    Project.actions.through(project_id=project.pk, action_id=actions[int(number)])
                    for project, row in zip(projects, chunk) for number in str(row[at["actions"]]).split("、")], batch_size=5000),
            }
            history = {record.id: record for record in Project.history.bulk_history_create(projects, batch_size=1000)}
            for kind, column in (("programmes", "programme_id"), ("actions", "action_id")):
                history_links[kind].objects.bulk_create([
                    history_links[kind](history=history[link.project_id], id=link.id, project_id=link.project_id,
                                        **{column: getattr(link, column)}) for link in links[kind]], batch_size=5000)
            plans = [AnnualPlan(project_id=project.pk, year=2026, planned_investment=Decimal(row[at["annual_plan"]]),
                                completed_before_year=Decimal(row[at["completed_before_year"]]))
                     for project, row in zip(projects, chunk)]
            AnnualPlan.objects.bulk_create(plans, batch_size=1000)
            AnnualPlan.history.bulk_history_create(plans, batch_size=1000)
        transaction.set_rollback(True)
    return time.perf_counter() - started


def peak_rss_mib():
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent across fork and exec, so a child of a big parent would report the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(step, path):
    """Run one measured step in this (fresh) process and print: seconds, peak RSS in MiB, summary."""
    started = time.perf_counter()
    if step == "floor":
        summary = "floor"
        floor(path)
    elif step == "export":
        handle = exporting.export(Project.objects.order_by("city__code", "county__code", "name"), fmt="xlsx", year=2026)
        summary = f"{handle.seek(0, 2) / 2**20:.1f} MiB file"
    else:
        out = io.StringIO()
        try:
            call_command("import_projects", path, stdout=out)
        except SystemExit:
            pass
        summary = out.getvalue().splitlines()[0]
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    print(f"{seconds:.3f}\t{peak:.0f}\t{summary}")


def measured(step, path):
    """A step in a child process, so that its peak memory is its own."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", step, str(path)], capture_output=True, text=True, check=True, env=os.environ
    ).stdout.strip().splitlines()[-1]
    seconds, peak, summary = output.split("\t")
    return float(seconds), float(peak), summary


def clear():
    """An empty list: no projects, plans or history rows (the first import's starting point)."""
    tables = ["projects_project", "projects_historicalproject", "projects_historicalproject_programmes",
              "projects_historicalproject_actions", "projects_historicalannualplan"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the tables that refer to projects (plans, links ...) go too
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            Project.objects.all().delete()  # SQLite: its cascades (a small database)
            for table in tables[1:]:
                cursor.execute(f"DELETE FROM {table}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", stdout=open(os.devnull, "w"))
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; DEBUG off; best of {args.repeat}")
    print(f"{'rows':>6} {'step':<20} {'seconds':>8} {'floor s':>8} {'ratio':>6} {'peak MiB':>9}  result")
    steps = ("first import", "every row changed", "unchanged re-import")
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            clear()
            first, changed = Path(folder) / f"list-{rows}.xlsx", Path(folder) / f"list-{rows}-changed.xlsx"
            write_list(first, rows)
            write_list(changed, rows, bump=1)
            floors = [measured("floor", first) for _ in range(args.repeat)]
            base, base_peak = min(seconds for seconds, _peak, _summary in floors), max(peak for _s, peak, _summary in floors)
            print(f"{rows:>6} {'floor':<20} {base:>8.1f} {'':>8} {'':>6} {base_peak:>9.0f}")
            runs = {step: [] for step in steps}
            for _ in range(args.repeat):
                clear()
                for step, path in zip(steps, (first, changed, changed)):
                    runs[step].append(measured("import", path))
            for step in steps:
                seconds, peak = min(run[0] for run in runs[step]), max(run[1] for run in runs[step])
                print(f"{rows:>6} {step:<20} {seconds:>8.1f} {base:>8.1f} {seconds / base:>6.2f} {peak:>9.0f}  {runs[step][0][2]}")
            seconds, peak, summary = min(measured("export", first) for _ in range(args.repeat))
            print(f"{rows:>6} {'export xlsx':<20} {seconds:>8.1f} {'':>8} {'':>6} {peak:>9.0f}  {summary}")
    clear()


if __name__ == "__main__":
    main()
