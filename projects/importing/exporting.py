"""Export of projects in the shape of the provincial list template (SPEC §5): xlsx, csv, json.

Rows are produced lazily (queryset.iterator, openpyxl write-only), so memory stays flat with the list's
size. Text that a spreadsheet would run as a formula is escaped in csv and xlsx alike. What each column
holds is the list resource's (project_list.ProjectListResource), so that an export imports back unchanged."""

import csv
import io
import json
import tempfile
from decimal import Decimal

from django.db.models import Prefetch

from actions.models import Action
from projects.domain.access import phone_shown
from projects.domain.rules import today
from projects.domain.template import COLUMNS, escape_formula
from projects.importing.project_list import ProjectListResource
from projects.models import Programme, Project
from projects.shared import lights

FORMATS = ("xlsx", "csv", "json")


CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def export_queryset(projects):
    """The related rows every column needs, fetched in a fixed number of queries per chunk."""
    return projects.select_related("city", "county", "batch", "industry").prefetch_related(
        Prefetch("programmes", queryset=Programme.objects.order_by("order")),
        Prefetch("actions", queryset=Action.objects.select_related("plan").order_by("number")),
    )


def rows(projects, *, chunk_size=2000, user=None):
    """Template rows for `projects` (annotated by lights.annotate_progress for the export's year), lazily, as the list
    resource exports each project. For a `user` (an export from the pages), the contact number is masked
    in the rows of projects they may not edit (issue 22); an operator's command (no user) writes it whole."""
    from django.db.models import Exists, OuterRef


    resource = ProjectListResource(user=None)
    fields = resource.get_export_fields()
    phone = next(index for index, field in enumerate(fields) if field.attribute == "phone")
    if user is not None:
        projects = projects.annotate(phone_editable=Exists(Project.objects.editable_by(user).filter(pk=OuterRef("pk"))))
    for project in export_queryset(projects).iterator(chunk_size=chunk_size):
        row = [resource.export_field(field, project) for field in fields]
        if user is not None:
            row[phone] = phone_shown(row[phone], may_edit=project.phone_editable)
        yield row


def _text(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return str(value)


def write_csv(projects, handle, *, user=None):
    """UTF-8 with BOM, which Excel opens as UTF-8. Returns the number of rows written."""
    handle.write("\ufeff")
    writer = csv.writer(handle)
    writer.writerow(["序号"] + [header for header, _alias in COLUMNS])
    number = 0
    for number, row in enumerate(rows(projects, user=user), start=1):
        writer.writerow([number] + [escape_formula(_text(value)) for value in row])
    return number


def write_json(projects, handle, *, user=None):
    handle.write("[")
    count = 0
    for number, row in enumerate(rows(projects, user=user)):
        record = {alias: (_text(value) if isinstance(value, Decimal) else value) for (_header, alias), value in zip(COLUMNS, row)}
        handle.write(("," if number else "") + "\n" + json.dumps(record, ensure_ascii=False))
        count = number + 1
    handle.write("\n]\n")
    return count


def write_xlsx(projects, handle, *, title, user=None):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("项目清单")
    sheet.append([title])
    sheet.append(["单位：万元"])
    sheet.append(["序号"] + [header for header, _alias in COLUMNS])
    number = 0
    for number, row in enumerate(rows(projects, user=user), start=1):
        sheet.append([number] + [escape_formula(value) if isinstance(value, str) else value for value in row])
    workbook.save(handle)
    return number


def export(projects, *, fmt, year, user=None):
    """The export as a file object positioned at its start (a spooled temporary file: large exports go
    to disk, not memory), with the number of projects written as its `rows`. With a `user`, contact
    numbers of projects they may not edit are masked (see `rows`)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if "light_reason" not in projects.query.annotations:
        projects = lights.annotate_progress(projects, year=year, on=today())
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)
    if fmt == "xlsx":
        count = write_xlsx(projects, spool, title=f"河北省重点项目清单（{year}年）", user=user)
    else:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        count = (write_csv if fmt == "csv" else write_json)(projects, text, user=user)
        text.flush()
        text.detach()
    spool.seek(0)
    spool.rows = count
    return spool


def filename(fmt, year):
    return f"projects-{year}.{fmt}"
