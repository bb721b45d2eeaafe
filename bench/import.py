"""Import and export of big lists through django-import-export (ProjectListResource): `import_projects` for
a first import, a re-import that changes every row and a re-import of the unchanged file, each against a
floor that does that step's own work with nothing in between, measured in the same run; and a streamed
export. DEBUG off; every step and every floor in a fresh process (its peak memory its own).

Figures: each step is run --runs times (the steps and their floors taken in turn, so that a slow spell of
the machine falls on all alike); a row shows the median and the 95th percentile of its runs' seconds, with
their count, and the largest peak memory.

The floors (each parses the same file with openpyxl, read-only):
- first import: writes, 2,000 rows at a time, what the first import writes — projects with every column,
  their programme and action links, annual plans, and history rows (projects with their links, plans) —
  with bulk inserts and no checks; rolled back;
- every row changed: looks up every row's existing project (by 项目代码, 2,000 rows a query, with its links
  and this year's plan), compares each column the file gives, and writes what differs — an upsert of the
  changed columns, history rows with the links — rolled back;
- unchanged re-import: the same parse and match, which finds nothing to write: no insert, no update.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench_import .venv/bin/python bench/import.py [--quick] [--rows 10000 50000] [--runs 3]

--quick: 2,000 rows and 2 runs (1 of the export; a smoke run for CI). Use a database of its own: the bench deletes every
project in it (run it last on a database other benches use).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # before any query: the database wrappers log every query while DEBUG is on

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from harness import Stat  # noqa: E402
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
    regions = {r.name: r for r in Region.objects.city_level()}
    counties = {(c.reporting_city.name, c.name): c for c in Region.objects.counties().select_related("reporting_city")}
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
                county = counties.get((row[at["city"]], row[at["county"]]))
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


def floor_reimport(path, *, write):
    """Parse the file, look up every row's project by its code (2,000 rows a query, with its links and this
    year's plan) and compare each column the file gives; with `write`, write what differs as the import
    does (an upsert of the changed columns, history rows with the links), rolled back. Returns the number
    of rows found changed."""
    from django.apps import apps

    from projects.models import AnnualPlan, Batch, Industry, Programme

    book = load_workbook(path, read_only=True, data_only=True)
    at = {alias: index + 1 for index, (_header, alias) in enumerate(COLUMNS)}
    regions = {r.name: r.pk for r in Region.objects.city_level()}
    counties = {(c.reporting_city.name, c.name): c.pk for c in Region.objects.counties().select_related("reporting_city")}
    programmes = {p.name: p.pk for p in Programme.objects.all()}
    actions = {a.number: a.pk for a in Action.objects.filter(plan__is_primary=True)}
    batches, industries = {b.name: b.pk for b in Batch.objects.all()}, {i.name: i.pk for i in Industry.objects.all()}
    stages = {str(label): value for value, label in Project._meta.get_field("stage").choices}
    history_links = {kind: apps.get_model("projects", f"HistoricalProject_{kind}") for kind in ("programmes", "actions")}
    rows = book.worksheets[0].iter_rows(min_row=4, values_only=True)
    changed_rows = 0

    def month(text):
        year, number = str(text).split("-")
        return datetime.date(int(year), int(number), 1)

    with transaction.atomic():
        while chunk := list(itertools.islice(rows, 2000)):
            codes = [row[at["code"]] for row in chunk]
            found = {project.code: project for project in Project.objects.filter(code__in=codes)}
            ids = [project.pk for project in found.values()]
            links = {"programmes": {}, "actions": {}}
            for kind, column in (("programmes", "programme_id"), ("actions", "action_id")):
                for project_id, pk in getattr(Project, kind).through.objects.filter(project_id__in=ids).values_list("project_id", column):
                    links[kind].setdefault(project_id, set()).add(pk)
            plans = {plan.project_id: plan for plan in AnnualPlan.objects.filter(project_id__in=ids, year=2026)}
            changed, fields = [], set()
            for row in chunk:
                project = found[row[at["code"]]]
                start, end = str(row[at["period"]]).split("-")
                wanted = {
                    "name": row[at["name"]], "batch_id": batches[row[at["batch"]]], "stage": stages[row[at["stage"]]],
                    "city_id": regions[row[at["city"]]], "county_id": counties.get((row[at["city"]], row[at["county"]])),
                    "industry_id": industries[row[at["industry"]]], "owner": row[at["owner"]], "scope": row[at["scope"]],
                    "start_year": int(start), "end_year": int(end), "planned_start": month(row[at["planned_start"]]),
                    "planned_end": month(row[at["planned_end"]]), "total_investment": Decimal(row[at["total_investment"]]),
                }
                differ = {name for name, value in wanted.items() if getattr(project, name) != value}
                plan = plans.get(project.pk)
                same_links = (
                    links["programmes"].get(project.pk, set()) == {programmes[n] for n in str(row[at["programmes"]]).split("、")}
                    and links["actions"].get(project.pk, set()) == {actions[int(n)] for n in str(row[at["actions"]]).split("、")}
                )
                same_plan = plan is not None and plan.planned_investment == Decimal(row[at["annual_plan"]]) and \
                    plan.completed_before_year == Decimal(row[at["completed_before_year"]])
                if differ or not same_links or not same_plan:
                    for name in differ:
                        setattr(project, name, wanted[name])
                    fields |= differ
                    changed.append(project)
            changed_rows += len(changed)
            if write and changed:
                Project.objects.bulk_create(changed, update_conflicts=True, unique_fields=["id"],
                                            update_fields=sorted(fields | {"version", "updated_at"}), batch_size=1000)
                history = {record.id: record for record in Project.history.bulk_history_create(changed, update=True, batch_size=1000)}
                for kind, column in (("programmes", "programme_id"), ("actions", "action_id")):
                    through = getattr(Project, kind).through
                    history_links[kind].objects.bulk_create([
                        history_links[kind](history=history[link.project_id], id=link.id, project_id=link.project_id,
                                            **{column: getattr(link, column)})
                        for link in through.objects.filter(project_id__in=[p.pk for p in changed])], batch_size=5000)
        transaction.set_rollback(True)
    return changed_rows


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
        summary = "floor: parse, insert every row (rolled back)"
        floor(path)
    elif step in ("floor-changed", "floor-unchanged"):
        changed = floor_reimport(path, write=step == "floor-changed")
        summary = f"floor: parse, match every row, {changed} rows differ" + (", written (rolled back)" if step == "floor-changed" else "")
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
    parser.add_argument("--quick", action="store_true", help="2,000 rows and 2 runs")
    parser.add_argument("--rows", type=int, nargs="+", help="list sizes (default 10,000 and 50,000; 2,000 with --quick)")
    parser.add_argument("--runs", type=int, help="runs of every step and floor (default 3; 2 with --quick)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    sizes = args.rows or ([2_000] if args.quick else [10_000, 50_000])
    runs = args.runs or (2 if args.quick else 3)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", stdout=open(os.devnull, "w"))
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; DEBUG off; {runs} runs of every step, "
          f"each in a fresh process; seconds: median/p95 of the runs (n = {runs}); peak: the largest")
    print(f"{'rows':>6} {'step':<20} {'seconds':>13} {'floor s':>13} {'ratio':>6} {'peak MiB':>9} {'floor MiB':>9}  result")
    steps = (("first import", "floor"), ("every row changed", "floor-changed"), ("unchanged re-import", "floor-unchanged"))
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            first, changed = Path(folder) / f"list-{rows}.xlsx", Path(folder) / f"list-{rows}-changed.xlsx"
            write_list(first, rows)
            write_list(changed, rows, bump=1)
            timed = {step: [] for step, _floor in steps} | {floor: [] for _step, floor in steps}
            for _ in range(runs):
                clear()
                for (step, floor_step), path in zip(steps, (first, changed, changed)):
                    timed[floor_step].append(measured(floor_step, path))  # on the state the step starts from
                    timed[step].append(measured("import", path))
            for step, floor_step in steps:
                seconds, floor_seconds = Stat([r[0] for r in timed[step]]), Stat([r[0] for r in timed[floor_step]])
                print(f"{rows:>6} {step:<20} {seconds.median:>6.1f}/{seconds.p95:<6.1f} {floor_seconds.median:>6.1f}/{floor_seconds.p95:<6.1f} "
                      f"{seconds.median / floor_seconds.median:>6.2f} {max(r[1] for r in timed[step]):>9.0f} "
                      f"{max(r[1] for r in timed[floor_step]):>9.0f}  {timed[step][0][2]} | {timed[floor_step][0][2]}")
            exports = [measured("export", first) for _ in range(1 if args.quick else runs)]
            seconds = Stat([r[0] for r in exports])
            print(f"{rows:>6} {'export xlsx':<20} {seconds.median:>6.1f}/{seconds.p95:<6.1f} {'':>13} {'':>6} "
                  f"{max(r[1] for r in exports):>9.0f} {'':>9}  {exports[0][2]}")
    clear()
    print(f"whole run {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
