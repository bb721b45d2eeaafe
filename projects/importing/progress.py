"""Monthly progress workbooks (月度调度表): import through reporting.reports_submit, and the prefilled template."""

import io
import unicodedata

from django.db import transaction
from django.utils.translation import gettext as _

from .. import reporting
from ..choices import Stage
from ..exporting import escape_formula
from ..models import (
    PROJECT_ORDER,
    Project,
    normalize_project_code,
)
from .headers import HeaderMap, find_header, is_passed_over
from .project_list import _shown
from .reading import clean_text, parse_money, read_rows
from .results import PROGRESS_EVERY, ImportFileError, ImportResult, RowError, RowResult

# --- Monthly progress workbooks -----------------------------------------------------------------------

PROGRESS_HEADERS = {
    "seq": ("序号", "no"),
    "code": ("项目代码", "code"),
    "name": ("项目名称", "name"),
    "county": ("所属县（市、区）", "county"),
    "completed": ("本月完成投资（万元）", "completed_investment"),
    "progress": ("形象进度", "image_progress"),
    "problem": ("存在问题", "problem"),
    "note": ("说明", "note"),
}
PROGRESS_SYNONYMS = {
    "completed": ["当月完成投资", "本月完成", "月完成投资", "本月完成投资额"],
    "progress": ["工程进度", "进展情况", "项目进展", "形象进度情况"],
    "problem": ["问题", "存在的问题", "需协调解决的问题", "困难问题"],
    "county": ["县", "所属县", "县(市、区)", "县区"],
    "note": ["情况说明"],
}


def import_progress(data, filename, *, user, month, dry_run=False, progress=None):
    """Record a month's reports from a progress workbook (项目代码 or 项目名称 + 县, 本月完成投资, 形象进度,
    存在问题, 说明) and open the problems named, through the same service and checks as the report page:
    every row, or nothing when any row is wrong. A check that fires is an error for the row unless its
    说明 cell confirms the figure; unchanged rows are reported unchanged and not written."""
    rows = read_rows(data, filename)
    if not rows:
        raise ImportFileError(_("文件中没有数据。"))
    columns = find_header(rows, HeaderMap(PROGRESS_HEADERS, PROGRESS_SYNONYMS))
    header_index = columns.index
    missing = [PROGRESS_HEADERS[key][0] for key in ("name", "completed") if key not in columns]
    if missing:
        raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
    if user is not None and not user.has_perm("projects.add_monthlyreport"):
        raise ImportFileError(_("您的角色不能填报月度调度。"))
    month = month.replace(day=1)
    result = ImportResult(year=month.year, unrecognized=columns.headings)
    projects = Project.objects.editable_by(user) if user is not None else Project.objects.all()
    by_code = {p.code: p for p in projects.filter(code__isnull=False)}
    by_name = {}
    for project in projects.select_related("county"):
        by_name.setdefault((project.name, project.county.name if project.county else None), project)
        by_name.setdefault((project.name, None), project)
    header = {key: PROGRESS_HEADERS[key][0] for key in columns}
    entries, numbers, seen = [], [], {}
    data_rows = rows[header_index + 1 :]
    for done, (number, cells) in enumerate(data_rows):
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, len(data_rows))
        raw = {key: clean_text(cells[position] if position < len(cells) else None) for key, (position, _f) in columns.items()}
        if is_passed_over(raw) or not any(raw.get(key) for key in ("completed", "progress", "problem")):
            result.skipped += 1  # also a prefilled project left empty: not reported this time
            continue
        code = normalize_project_code(unicodedata.normalize("NFKC", raw.get("code") or ""))
        project = by_code.get(code) if code else by_name.get((raw.get("name"), raw.get("county")))
        column = header.get("code", header["name"]) if code else header["name"]
        if project is None:
            result.errors.append(RowError(number, column, _("找不到该项目，或不在您的管辖区域内")))
            continue
        if project.pk in seen:
            result.errors.append(RowError(number, column, _("与第 %(other)d 行是同一项目") % {"other": seen[project.pk]}))
            continue
        seen[project.pk] = number
        if not raw.get("completed"):
            result.errors.append(RowError(number, header["completed"], _("必填")))
            continue
        try:
            amount = parse_money(raw["completed"], columns["completed"][1])
        except ValueError as error:
            result.errors.append(RowError(number, header["completed"], str(error)))
            continue
        entries.append(reporting.ReportEntry(
            project=project, month=month, completed_investment=amount, image_progress=raw.get("progress") or "",
            problem=raw.get("problem") or "", note=raw.get("note") or "",
        ))
        numbers.append(number)
    if result.errors or not entries:
        return result
    with transaction.atomic():
        outcomes = reporting.reports_submit(user=user, entries=entries)
        for number, outcome in zip(numbers, outcomes):
            report = outcome.report
            if outcome.status == reporting.EntryStatus.REFUSED:
                result.errors.append(RowError(number, header["completed"], outcome.message))
            elif outcome.status == reporting.EntryStatus.NEEDS_NOTE:
                reasons = "；".join(warning.message for warning in outcome.warnings)
                result.errors.append(RowError(number, header["completed"], _("%(reasons)s。如确认无误，请在“说明”列填写说明") % {"reasons": reasons}))
            else:
                old = _shown("completed", report.completed_investment) if report else ""
                changes = [] if outcome.status == "unchanged" else [(header["completed"], old, _shown("completed", outcome.entry.completed_investment))]
                result.rows.append(RowResult(number, outcome.status, outcome.entry.project.name, changes))
        if result.errors:
            result.rows.clear()  # nothing is written: no row counts as created or updated
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result


def progress_template_workbook(*, user, month):
    """The month's progress workbook prefilled with the projects the user reports for."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("月度调度")
    sheet.append([f"{month:%Y年%-m月}重点项目月度调度表"])
    sheet.append(["单位：万元"])
    sheet.append([header for header, _alias in PROGRESS_HEADERS.values()])
    projects = (
        Project.objects.editable_by(user)
        .exclude(stage=Stage.PREPARATORY)
        .exclude(status="cancelled")
        .select_related("county", "city")
        .order_by(*PROJECT_ORDER)
    )
    for number, project in enumerate(projects.iterator(), start=1):
        # Names are the province's text, not formulas, in the coordinator's Excel too.
        cells = [number, project.code or "", project.name, project.county.name if project.county else ""]
        sheet.append([escape_formula(cell) for cell in cells] + [None] * (len(PROGRESS_HEADERS) - len(cells)))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
