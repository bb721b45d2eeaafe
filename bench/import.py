"""Import and export of big lists: `import_projects` for a first import, a re-import that changes every
row and a re-import of the unchanged file, each against a floor measured in the same run (openpyxl
read-only parse plus bulk_create of the same rows and their action links), with peak Python memory;
and a streamed export.

    DATABASE_URL=sqlite:////tmp/bench-import.sqlite3 .venv/bin/python bench/import.py [--rows 10000 50000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench_import .venv/bin/python bench/import.py

Use a database of its own: the bench deletes every project in it.
"""

import argparse
import io
import os
import random
import sys
import tempfile
import time
import resource
import subprocess
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

from actions.models import Action  # noqa: E402
from projects import exporting  # noqa: E402
from projects.exporting import COLUMNS  # noqa: E402
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
    sheet.append(["序号"] + [header for header, _alias, _get in COLUMNS])
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
        sheet.append([number] + [values.get(alias, "") for _header, alias, _get in COLUMNS])
    book.save(path)


def floor(path):
    """openpyxl read-only parse plus bulk_create of the same rows and their action links, rolled back."""
    started = time.perf_counter()
    book = load_workbook(path, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(min_row=4, values_only=True))
    regions = {r.name: r for r in Region.objects.all()}
    actions = {a.number: a.pk for a in Action.objects.filter(plan__is_primary=True)}
    with transaction.atomic():
        projects = [
            Project(code=row[1], name=row[2], city=regions[row[6]], county=regions.get(row[7]), total_investment=Decimal(row[15]))
            for row in rows
        ]
        Project.objects.bulk_create(projects, batch_size=2000)
        if projects[0].pk is None:
            ids = dict(Project.objects.values_list("code", "pk"))
            for project in projects:
                project.pk = ids[project.code]
        links = [
            Project.actions.through(project_id=project.pk, action_id=actions[int(number)])
            for project, row in zip(projects, rows)
            for number in str(row[9]).split("、")
        ]
        Project.actions.through.objects.bulk_create(links, batch_size=5000)
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", stdout=open(os.devnull, "w"))
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"{'rows':>6} {'step':<20} {'seconds':>8} {'floor s':>8} {'ratio':>6} {'peak MiB':>9}  result")
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            Project.objects.all().delete()
            first, changed = Path(folder) / f"list-{rows}.xlsx", Path(folder) / f"list-{rows}-changed.xlsx"
            write_list(first, rows)
            write_list(changed, rows, bump=1)
            base, base_peak, _summary = measured("floor", first)
            print(f"{rows:>6} {'floor':<20} {base:>8.1f} {'':>8} {'':>6} {base_peak:>9.0f}")
            for step, path in (("first import", first), ("every row changed", changed), ("unchanged re-import", changed)):
                seconds, peak, summary = measured("import", path)
                print(f"{rows:>6} {step:<20} {seconds:>8.1f} {base:>8.1f} {seconds / base:>6.2f} {peak:>9.0f}  {summary}")
            seconds, peak, summary = measured("export", first)
            print(f"{rows:>6} {'export xlsx':<20} {seconds:>8.1f} {'':>8} {'':>6} {peak:>9.0f}  {summary}")
    Project.objects.all().delete()


if __name__ == "__main__":
    main()
