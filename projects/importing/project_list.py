"""The provincial project list (SPEC §5): parse rows, match them to projects, write all or nothing."""

import datetime
import io
import itertools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from actions.models import Action

from .. import rules, selectors
from ..choices import Stage
from ..exporting import COLUMNS as EXPORT_COLUMNS
from ..exporting import escape_formula
from ..models import (
    AnnualPlan,
    Batch,
    Programme,
    Project,
    normalize_project_code,
    validate_project_code,
)
from .catalogues import Catalogues
from .headers import (
    HEADER_SEARCH_ROWS,
    HEADERS,
    HeaderMap,
    find_header,
    is_passed_over,
    year_from_titles,
)
from .reading import (
    clean_text,
    count_rows,
    iter_rows,
    parse_date,
    parse_money,
    parse_period,
)
from .results import ImportFileError, ImportResult, RowError, RowResult

MONEY_KEYS = ("total_investment", "annual_plan", "completed_before_year")
DATE_KEYS = ("planned_start", "planned_end")
TEXT_KEYS = ("owner", "scope", "responsible_unit", "contact", "phone", "remarks")
REQUIRED = ("name", "city")
LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")


@dataclass
class ParsedRow:
    row: int
    values: dict  # key -> parsed value


def parse_rows(rows, catalogues, columns):
    """Parse data rows; returns (parsed rows, errors, number passed over)."""
    headers = {key: HEADERS[key][0] for key in columns}
    parsed, errors, skipped = [], [], 0
    for number, cells in rows:
        raw = {key: clean_text(cells[position] if position < len(cells) else None) for key, (position, _f) in columns.items()}
        if is_passed_over(raw):
            skipped += 1
            continue
        values, row_errors = {}, []

        def fail(key, message, row_errors=row_errors, number=number):
            row_errors.append(RowError(number, headers.get(key, key), message))

        for key in REQUIRED:
            if not raw.get(key):
                fail(key, _("必填"))
        if row_errors:
            errors.extend(row_errors)
            continue
        values["name"] = raw["name"]
        try:
            values["city"] = catalogues.city(raw["city"])
        except ValueError as error:
            fail("city", str(error))
        values["county"] = None
        if raw.get("county") and "city" in values:
            try:
                values["county"] = catalogues.county(raw["county"], values["city"])
                if values["county"] is not None:
                    values["city"] = values["county"].reporting_city  # 容城县 under 保定市 reports under 雄安新区
            except ValueError as error:
                fail("county", str(error))
        if raw.get("code"):
            code = normalize_project_code(unicodedata.normalize("NFKC", raw["code"]))
            try:
                validate_project_code(code, known_division=catalogues.regions_by_code.__contains__)
                values["code"] = code
            except ValidationError as error:
                fail("code", " ".join(error.messages))
        else:
            values["code"] = None
        for key, table, suffix, what in (
            ("batch", catalogues.batches, "项目", _("五个一批类别")),
            ("industry", catalogues.industries, "产业", _("产业")),
        ):
            values[key] = None
            if raw.get(key):
                try:
                    values[key] = catalogues.lookup(table, raw[key], suffix, what)
                except ValueError as error:
                    fail(key, str(error))
        values["stage"] = Stage.PREPARATORY
        if raw.get("stage"):
            try:
                values["stage"] = catalogues.stage(raw["stage"])
            except ValueError as error:
                fail("stage", str(error))
        values["programmes"] = set()
        for item in LIST_SEPARATORS.split(raw.get("programmes") or ""):
            if item:
                try:
                    values["programmes"].add(catalogues.lookup(catalogues.programmes, item, "项目", _("项目类别")).pk)
                except ValueError as error:
                    fail("programmes", str(error))
        values["actions"] = set()
        for item in LIST_SEPARATORS.split(raw.get("actions") or ""):
            if item:
                try:
                    values["actions"].add(catalogues.action(item).pk)
                except ValueError as error:
                    fail("actions", str(error))
        for key in MONEY_KEYS:
            values[key] = None
            if raw.get(key):
                try:
                    values[key] = parse_money(raw[key], columns[key][1])
                except ValueError as error:
                    fail(key, str(error))
        for key in DATE_KEYS:
            values[key] = None
            cell = cells[columns[key][0]] if key in columns and columns[key][0] < len(cells) else None
            if raw.get(key):
                try:
                    values[key] = parse_date(cell if isinstance(cell, datetime.date) else raw[key])
                except ValueError as error:
                    fail(key, str(error))
        values["start_year"] = values["end_year"] = None
        if raw.get("period"):
            try:
                values["start_year"], values["end_year"] = parse_period(raw["period"])
            except ValueError as error:
                fail("period", str(error))
        for key in TEXT_KEYS:
            values[key] = raw.get(key) or ""
        if row_errors:
            errors.extend(row_errors)
        else:
            parsed.append(ParsedRow(number, values))
    return parsed, errors, skipped


# --- Applying -----------------------------------------------------------------------------------------

PROJECT_FIELDS = ("code", "name", "batch", "stage", "city", "county", "industry", "owner", "scope", "start_year",
                  "end_year", "planned_start", "planned_end", "total_investment", "responsible_unit", "contact",
                  "phone", "remarks")
RELATIONS = ("batch", "city", "county", "industry")
# The column a field comes from, where the names differ.
FIELD_COLUMN = {"start_year": "period", "end_year": "period"}


def _column(key):
    return FIELD_COLUMN.get(key, key)


def _header(key):
    return HEADERS[_column(key)][0]


def _new_value(values, key):
    value = values[key]
    if key == "total_investment" and value is None:
        return Decimal(0)
    return value


def _same(project, key, value):
    if key in RELATIONS:
        return getattr(project, f"{key}_id") == (value.pk if value is not None else None)
    return getattr(project, key) == value


def _shown(key, value):
    """A value as the preview shows it: labels for choices, names for catalogue rows, 万元 as stored."""
    if value is None or value == "":
        return ""
    if key == "stage":
        return str(Stage(value).label)
    return str(value)


def _names(names, keys):
    return "、".join(sorted(names.get(key, str(key)) for key in keys))


# As many changed rows as the preview page lists (ImportResult.to_dict's row_limit).
PREVIEW_ROWS = 500


IMPORT_CHUNK_ROWS = 2000


def import_projects(data, filename, *, user, year=None, dry_run=False, progress=None):
    """Import a project list. Returns an ImportResult; nothing is written when it has errors or dry_run.

    Rows are read, checked and written a chunk at a time inside one transaction, so memory stays
    bounded however long the list; the first error stops the writing (parsing goes on, to report every
    error) and the transaction is rolled back at the end.
    """
    if user is not None and not user.has_perm("projects.add_project"):
        raise ImportFileError(_("您的角色不能导入项目。"))
    total = count_rows(data, filename) if progress else 0
    rows = iter_rows(data, filename)
    head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    if not head:
        raise ImportFileError(_("文件中没有数据。"))
    columns = find_header(head, HeaderMap.for_project_list())
    missing = [HEADERS[key][0] for key in REQUIRED if key not in columns]
    if missing:
        raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
    year = year or year_from_titles(head[: columns.index]) or rules.today().year
    result = ImportResult(year=year, unrecognized=columns.headings)
    catalogues, seen = Catalogues(year=year), {}
    if "county" not in columns:
        _refuse_an_unnamed_county_column(head[columns.index + 1 :], columns, catalogues)
    data_rows = itertools.chain(head[columns.index + 1 :], rows)
    with transaction.atomic():
        while chunk := list(itertools.islice(data_rows, IMPORT_CHUNK_ROWS)):
            if chunk[-1][0] > settings.IMPORT_MAX_ROWS:
                raise ImportFileError(_("文件超过 %(limit)d 行的上限。") % {"limit": settings.IMPORT_MAX_ROWS})
            if progress:
                progress(chunk[0][0], total)
            parsed, errors, skipped = parse_rows(chunk, catalogues, columns)
            result.errors.extend(errors)
            result.skipped += skipped
            _check_duplicates(parsed, result.errors, seen)
            if not result.errors:
                _apply(parsed, result, user=user, year=year, columns=columns)
        if result.errors or dry_run:
            transaction.set_rollback(True)
            if result.errors:
                result.rows.clear()  # nothing is written: no row counts as created or updated
        else:
            selectors.data_changed()
    return result


def _refuse_an_unnamed_county_column(rows, columns, catalogues):
    """A list whose county column was not recognised must not import as city-level projects: if a
    column the importer does not know holds county names, say which and stop."""
    for position, heading in columns.unrecognized:
        for _number, cells in rows:
            value = clean_text(cells[position] if position < len(cells) else None)
            if value and catalogues.regions.looks_like_county(value):
                raise ImportFileError(
                    _("没有找到“所属县（市、区）”列，但“%(heading)s”列中是县（市、区）名称（如“%(value)s”）。"
                      "请将该列的标题改为“所属县（市、区）”，或在管理后台的“表头同义词”中添加“%(heading)s”。")
                    % {"heading": heading, "value": value}
                )


def _match_key(values):
    return ("code", values["code"]) if values["code"] else ("name", values["name"], values["county"].pk if values["county"] else None, values["city"].pk)


def _check_duplicates(parsed, errors, seen):
    for row in parsed:
        key = _match_key(row.values)
        if key in seen:
            column = HEADERS["code" if key[0] == "code" else "name"][0]
            errors.append(RowError(row.row, column, _("与第 %(other)d 行重复") % {"other": seen[key]}))
        seen.setdefault(key, row.row)


def _apply(parsed, result, *, user, year, columns):
    codes = [row.values["code"] for row in parsed if row.values["code"]]
    by_code, by_name = {}, {}
    related = ("batch", "city", "county", "industry")
    for project in Project.objects.filter(code__in=codes).select_related(*related).prefetch_related("programmes", "actions"):
        by_code[project.code] = project
    # Only rows that no code found are looked up by name (most lists carry codes).
    names = [row.values["name"] for row in parsed if row.values["code"] not in by_code]
    for project in Project.objects.filter(name__in=names).select_related(*related).prefetch_related("programmes", "actions"):
        by_name.setdefault((project.name, project.county_id, project.city_id), project)

    def match(values):
        """By 项目代码; else by 项目名称 + county — for a coded row only a project that has no code yet."""
        place = (values["name"], values["county"].pk if values["county"] else None, values["city"].pk)
        if values["code"]:
            project = by_code.get(values["code"])
            named = by_name.get(place)
            return project or (named if named is not None and not named.code else None)
        return by_name.get(place)

    existing = {id(row): match(row.values) for row in parsed}
    existing = {key: project for key, project in existing.items() if project is not None}
    plans = {plan.project_id: plan for plan in AnnualPlan.objects.filter(project__in=[p.pk for p in existing.values()], year=year)}
    editable = set(Project.objects.editable_by(user).filter(pk__in=[p.pk for p in existing.values()]).values_list("pk", flat=True)) if user else None

    link_names = {
        "programmes": dict(Programme.objects.values_list("pk", "name")),
        "actions": dict(Action.objects.values_list("pk", "name")),
    }
    creates, updates, changed_fields, links, plan_rows, row_of = [], [], set(), {}, [], {}
    for row in parsed:
        values = row.values
        project = existing.get(id(row))
        if project is not None and editable is not None and project.pk not in editable:
            result.errors.append(RowError(row.row, HEADERS["code"][0], _("该项目属于其他地区或您无权修改")))
            continue
        changes = []
        if project is None:
            project = Project()
            status = "created"
        else:
            status = "updated"
        # What the preview shows: old → new of an updated row; the values of a new row (money as converted
        # to 万元, so the clerk can check the unit) for as many rows as the preview lists.
        detailed = status == "updated" or result.detailed_new_rows < PREVIEW_ROWS
        for key in PROJECT_FIELDS:
            if _column(key) not in columns and key != "city":
                continue  # a column the file does not carry leaves the field as it is
            if key == "code" and values["code"] is None:
                continue  # an empty code cell never takes a project's national code away
            new = _new_value(values, key)
            if not _same(project, key, new):
                if detailed:
                    old = getattr(project, key) if status == "updated" else None
                    changes.append((_header(key), _shown(key, old), _shown(key, new)))
                setattr(project, key, new)
                changed_fields.add(key)
        for key in ("programmes", "actions"):
            if key in columns:
                current = {item.pk for item in getattr(project, key).all()} if project.pk else set()
                if current != values[key]:
                    if detailed:
                        changes.append((HEADERS[key][0], _names(link_names[key], current), _names(link_names[key], values[key])))
                    links.setdefault(key, []).append((project, values[key]))
        plan = plans.get(project.pk) if project.pk else None
        if "annual_plan" in columns or "completed_before_year" in columns:
            planned = values.get("annual_plan") if "annual_plan" in columns else (plan.planned_investment if plan else None)
            before = values.get("completed_before_year") if "completed_before_year" in columns else (plan.completed_before_year if plan else None)
            if planned is not None or before is not None:
                planned, before = planned or Decimal(0), before or Decimal(0)
                if plan is None or (plan.planned_investment, plan.completed_before_year) != (planned, before):
                    if detailed:
                        for key, old, new in (("annual_plan", plan.planned_investment if plan else None, planned),
                                              ("completed_before_year", plan.completed_before_year if plan else None, before)):
                            if old != new:
                                changes.append((HEADERS[key][0], _shown(key, old), _shown(key, new)))
                    plan_rows.append((project, plan, planned, before))
        if status == "created" and detailed:
            result.detailed_new_rows += 1
        if status == "updated" and not changes:
            status = "unchanged"  # (a created row always counts as created)
        elif status == "updated":
            project.version += 1
            updates.append(project)
        else:
            creates.append(project)
        row_of[id(project)] = row.row
        result.rows.append(RowResult(row.row, status, values["name"], changes))

    for project in creates + updates:
        project.set_sort_keys()  # the regions are the catalogue's objects: no query
    if {"city", "county"} & changed_fields:
        changed_fields |= {"city_code", "county_code"}
    if creates:
        bulk_create_with_history(creates, Project, default_user=user, batch_size=1000)
        if creates[0].pk is None:  # a database without RETURNING: read the keys back
            keys = dict(Project.objects.filter(key__in=[p.key for p in creates]).values_list("key", "pk"))
            for project in creates:
                project.pk = project.id = keys[project.key]
    if updates:
        # An upsert on the primary key writes at insert speed; Django's bulk_update builds a CASE per column
        # per row and is as slow as saving one by one. History rows are written in bulk alongside.
        fields = sorted(changed_fields | {"version", "updated_at"})
        Project.objects.bulk_create(updates, update_conflicts=True, unique_fields=["id"], update_fields=fields, batch_size=1000)
        Project.history.bulk_history_create(updates, update=True, default_user=user, batch_size=1000)
    for key, pairs in links.items():
        through = getattr(Project, key).through
        column = "programme_id" if key == "programmes" else "action_id"
        through.objects.filter(project_id__in=[project.pk for project, _ids in pairs]).delete()
        through.objects.bulk_create(
            [through(project_id=project.pk, **{column: pk}) for project, ids in pairs for pk in ids], batch_size=5000
        )
    new_plans, changed_plans = [], []
    for project, plan, planned, before in plan_rows:
        if plan is None:
            new_plans.append(AnnualPlan(project_id=project.pk, year=year, planned_investment=planned, completed_before_year=before))
        else:
            plan.planned_investment, plan.completed_before_year = planned, before
            changed_plans.append(plan)
    if new_plans:
        bulk_create_with_history(new_plans, AnnualPlan, default_user=user, batch_size=1000)
    if changed_plans:
        AnnualPlan.objects.bulk_create(
            changed_plans, update_conflicts=True, unique_fields=["id"],
            update_fields=["planned_investment", "completed_before_year"], batch_size=1000,
        )
        AnnualPlan.history.bulk_history_create(changed_plans, update=True, default_user=user, batch_size=1000)

    # Stages, statuses, starts and plans move lights.
    rules.lights_refresh(projects={project.pk for project in creates + updates} | {project.pk for project, *_rest in plan_rows})

    # NetBox's re-check: whatever the file said, every project written must be one the user may edit.
    written = [project.pk for project in creates + updates]
    if user is not None and written:
        allowed = set(Project.objects.editable_by(user).filter(pk__in=written).values_list("pk", flat=True))
        for project in creates + updates:
            if project.pk not in allowed:
                result.errors.append(RowError(row_of[id(project)], HEADERS["county"][0], _("不在您的管辖区域内")))


# --- The downloadable template ------------------------------------------------------------------------


def template_workbook(*, year):
    """An empty list in the provincial template: title, units note, header, and drop-down lists."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "项目清单"
    sheet.append([f"河北省{year}年重点项目清单"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["单位：万元。项目类别、八项行动可填多个，用“、”分隔；日期可写 2023-03、2023年3月 或 2023/3/15。"])
    headers = ["序号"] + [header for header, _alias, _get in EXPORT_COLUMNS]
    sheet.append(headers)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    # Lists for the drop-downs live on a second sheet (a list in the formula itself is limited to 255 chars).
    lists = book.create_sheet("选项")
    with translation.override("zh-hans"):
        options = {
            "stage": [str(label) for _value, label in Stage.choices],
            "programmes": list(Programme.objects.values_list("name", flat=True)),
            "batch": list(Batch.objects.values_list("name", flat=True)),
            "actions": [f"{a.number}" for a in Action.objects.filter(plan__is_primary=True)]
            + list(Action.objects.values_list("name", flat=True)),
        }
    for index, (key, values) in enumerate(options.items(), start=1):
        column = chr(ord("A") + index - 1)
        lists.cell(row=1, column=index, value=HEADERS[key][0])
        for row, value in enumerate(values, start=2):
            lists.cell(row=row, column=index, value=escape_formula(value))  # catalogue names are text, never formulas
        target = chr(ord("A") + headers.index(HEADERS[key][0]))
        validation = DataValidation(
            type="list",
            formula1=f"'选项'!${column}$2:${column}${len(values) + 1}",
            allow_blank=True,
            showErrorMessage=key == "stage",  # several programmes or actions may be typed into one cell
        )
        sheet.add_data_validation(validation)
        validation.add(f"{target}4:{target}5000")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
