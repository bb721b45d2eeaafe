"""Import of provincial project lists (SPEC §5): read a workbook as it really arrives, say exactly what
is wrong with which row and column, and write all of it or nothing.

The import runs inside one transaction and is rolled back for a dry run, so a preview reports exactly
what applying would do — including the final check that every written project lies in the importing
user's region (the same `editable_by` rule as everywhere else).
"""

import csv
import datetime
import hashlib
import io
import itertools
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from actions.models import Action

from . import reporting, rules, selectors
from .choices import RegionLevel, Stage
from .exporting import COLUMNS as EXPORT_COLUMNS
from .exporting import FORMULA_STARTS, escape_formula
from .models import (
    AnnualPlan,
    Batch,
    ImportBatch,
    Industry,
    Programme,
    Project,
    Region,
    normalize_project_code,
    validate_project_code,
)

# key: (canonical header, English alias); the keys match exporting.COLUMNS' aliases.
HEADERS = {"seq": ("序号", "no")} | {alias: (header, alias) for header, alias, _get in EXPORT_COLUMNS}
MONEY_KEYS = ("total_investment", "annual_plan", "completed_before_year")
DATE_KEYS = ("planned_start", "planned_end")
TEXT_KEYS = ("owner", "scope", "responsible_unit", "contact", "phone", "remarks")
REQUIRED = ("name", "city")
SUBTOTAL_WORDS = ("合计", "小计", "总计")
HEADER_SEARCH_ROWS = 30
LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
DATE_RE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*(?:月)?\s*(?:[-./]?\s*(\d{1,2})\s*日?)?$")
PERIOD_RE = re.compile(r"^(\d{4})\s*年?\s*(?:[-—–~至到]+\s*(\d{4})\s*年?)?$")
YEAR_IN_TITLE_RE = re.compile(r"(20\d{2})\s*年")


class ImportFileError(Exception):
    """The file as a whole cannot be read as a project list (not a workbook, no header row, ...)."""


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class RowResult:
    row: int
    status: str  # created / updated / unchanged
    name: str
    changes: list = field(default_factory=list)  # (column header, old, new)


@dataclass
class ImportResult:
    year: int
    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    skipped: int = 0

    def count(self, status):
        return sum(1 for row in self.rows if row.status == status)

    def to_dict(self, *, row_limit=500):
        """What a preview or result page shows, to keep on the import batch (errors all, changed rows capped)."""
        return {
            "year": self.year,
            "skipped": self.skipped,
            "counts": {status: self.count(status) for status in ("created", "updated", "unchanged")},
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
            "changed_rows": [
                {"row": r.row, "status": r.status, "name": r.name, "changes": [[str(c) for c in change] for change in r.changes]}
                for r in self.rows
                if r.status != "unchanged"
            ][:row_limit],
        }

    @property
    def summary(self):
        return (
            f"created {self.count('created')}, updated {self.count('updated')}, unchanged {self.count('unchanged')}, "
            f"skipped {self.skipped}, errors {len(self.errors)}"
        )

    @property
    def localized_summary(self):
        """The summary for people (the plain `summary` is what commands print and scripts parse)."""
        return _("新增 %(created)d，更新 %(updated)d，不变 %(unchanged)d，跳过 %(skipped)d，错误 %(errors)d") % {
            "created": self.count("created"), "updated": self.count("updated"), "unchanged": self.count("unchanged"),
            "skipped": self.skipped, "errors": len(self.errors),
        }


# --- Reading files ------------------------------------------------------------------------------------


def read_rows(data, filename):
    """The file's rows as a list (small files: monthly progress workbooks)."""
    return list(iter_rows(data, filename))


def iter_rows(data, filename):
    """The file's rows, one at a time, as (sheet row number, list of cell values)."""
    if not data:
        raise ImportFileError(_("文件是空的。"))
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(_("文件超过 %(limit)d MB 的上限。") % {"limit": settings.IMPORT_MAX_BYTES // 2**20})
    name = filename.lower()
    if name.endswith(".csv"):
        return _read_csv(data)
    if name.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return _read_xlsx(data)
    raise ImportFileError(_("只接受 xlsx 或 csv 文件。"))


def _read_csv(data):
    for encoding in ("utf-8-sig", "gb18030"):  # what Excel saves as "CSV UTF-8" and as plain Chinese CSV
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GB18030。"))
    return enumerate(csv.reader(io.StringIO(text)), start=1)


def _read_xlsx(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        # A few kilobytes can unpack to gigabytes: judge the uncompressed size before any parsing.
        unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFileError(_("文件不是有效的 xlsx 工作簿。")) from None
    if unpacked > settings.IMPORT_MAX_UNPACKED_BYTES:
        raise ImportFileError(_("工作簿解压后过大（%(size)d MB），拒绝处理。") % {"size": unpacked // 2**20})
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(_("无法读取工作簿：%(error)s") % {"error": error}) from None
    return _sheet_rows(workbook, sheet)


def _sheet_rows(workbook, sheet):
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        workbook.close()


# --- Cells --------------------------------------------------------------------------------------------


def clean_text(value):
    """Trimmed text with full-width letters, digits and spaces made half-width; None for empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]  # the escape our export (and careful users) put before formula-like text
    return text or None


def header_key(value, headers=None):
    """Header text to (key, unit factor): ignores spaces, full/half width, and the unit in brackets."""
    text = unicodedata.normalize("NFKC", str(value or "")).replace(" ", "").lower()
    factor = Decimal(10000) if "亿元" in text else Decimal(1)
    bare = re.sub(r"\(.*?\)", "", text)
    for key, (chinese, alias) in (headers or HEADERS).items():
        if bare in (re.sub(r"\(.*?\)", "", unicodedata.normalize("NFKC", chinese)).lower(), alias):
            return key, factor
    return None, factor


def parse_money(text, factor):
    try:
        amount = Decimal(unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")) * factor
    except InvalidOperation:
        raise ValueError(_("“%(value)s”不是数字") % {"value": text}) from None
    if not amount.is_finite():
        raise ValueError(_("“%(value)s”不是数字") % {"value": text})
    if amount < 0:
        raise ValueError(_("金额不能为负数"))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("“%(value)s”换算为万元后超过两位小数") % {"value": text})
    return amount.quantize(Decimal("0.01"))


def parse_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = DATE_RE.match(text)
    if not match:
        raise ValueError(_("“%(value)s”不是可识别的日期（如 2023-03、2023.03、2023年3月、2023/3/15）") % {"value": text})
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ValueError(_("“%(value)s”不是有效日期") % {"value": text}) from None


def parse_period(text):
    match = PERIOD_RE.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(_("“%(value)s”应为“2023-2025”的形式") % {"value": text})
    start, end = int(match[1]), int(match[2] or match[1])
    if start > end:
        raise ValueError(_("起始年份晚于结束年份"))
    return start, end


# --- Catalogues ---------------------------------------------------------------------------------------


def _name_key(text, suffix=""):
    text = unicodedata.normalize("NFKC", text).replace(" ", "")
    return text[: -len(suffix)] if suffix and text.endswith(suffix) and len(text) > len(suffix) else text


class Catalogues:
    """Every lookup table the rows need, loaded once (no query per row)."""

    def __init__(self):
        self.programmes = {_name_key(p.name, "项目"): p for p in Programme.objects.all()}
        self.batches = {_name_key(b.name, "项目"): b for b in Batch.objects.all()}
        self.industries = {_name_key(i.name, "产业"): i for i in Industry.objects.all()}
        actions = list(Action.objects.select_related("plan"))
        self.actions_by_number = {a.number: a for a in actions if a.plan.is_primary}
        self.actions_by_name = {}
        for action in actions:
            self.actions_by_name.setdefault(_name_key(action.name, "行动"), action)
        with translation.override("zh-hans"):
            self.stages = {_name_key(str(label)): value for value, label in Stage.choices} | {value: value for value in Stage.values}
        regions = list(Region.objects.all())
        self.regions_by_code = {r.code: r for r in regions}
        self.cities_by_name = {r.name: r for r in regions if r.is_city_level}
        self.counties_by_name = {}
        for region in regions:
            if region.level == RegionLevel.COUNTY:
                self.counties_by_name.setdefault(region.name, []).append(region)

    def city(self, text):
        region = self.regions_by_code.get(text) or self.cities_by_name.get(text)
        if region is None or not region.is_city_level:
            raise ValueError(_("未知的市“%(value)s”") % {"value": text})
        return region

    def county(self, text, city):
        candidates = [self.regions_by_code[text]] if text in self.regions_by_code else self.counties_by_name.get(text, [])
        candidates = [c for c in candidates if c.level == RegionLevel.COUNTY]
        if not candidates:
            raise ValueError(_("未知的县（市、区）“%(value)s”") % {"value": text})
        inside = [c for c in candidates if city is None or city.pk in (c.parent_id, c.reporting_city_id)]
        if not inside:
            raise ValueError(_("“%(county)s”不属于“%(city)s”") % {"county": text, "city": city.name})
        if len(inside) > 1:
            raise ValueError(_("“%(value)s”在多个市都有，请填写所属市") % {"value": text})
        return inside[0]

    def lookup(self, table, text, suffix, what):
        found = table.get(_name_key(text, suffix))
        if found is None:
            raise ValueError(_("未知的%(what)s“%(value)s”") % {"what": what, "value": text})
        return found

    def action(self, text):
        if text.isdigit():
            action = self.actions_by_number.get(int(text))
        else:
            action = self.actions_by_name.get(_name_key(text, "行动"))
        if action is None:
            raise ValueError(_("未知的专项行动“%(value)s”") % {"value": text})
        return action


# --- Parsing a sheet ----------------------------------------------------------------------------------


def find_header(rows, headers=None):
    """(index of the header row in `rows`, {key: (column index, unit factor)})."""
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = {}
        for position, cell in enumerate(cells):
            key, factor = header_key(cell, headers)
            if key and key not in columns:
                columns[key] = (position, factor)
        if "name" in columns and len(columns) >= 3:
            return index, columns
    raise ImportFileError(_("没有找到表头行：前 %(rows)d 行中没有包含“项目名称”等列名的行。") % {"rows": HEADER_SEARCH_ROWS})


def year_from_titles(rows):
    for _number, cells in rows:
        for cell in cells:
            match = YEAR_IN_TITLE_RE.search(str(cell or ""))
            if match:
                return int(match[1])
    return None


SECTION_RE = re.compile(r"^([一二三四五六七八九十百]+|\d+)[、.．]|[（(]\s*\d+\s*[项个][)）]$")


def is_passed_over(values):
    """Blank rows, section headings (一、重大产业项目（25项）) and subtotal rows (合计 / 小计 / 总计)."""
    filled = {key: value for key, value in values.items() if value is not None}
    if not filled:
        return True
    seq, name = (filled.get("seq") or "").replace(" ", ""), (filled.get("name") or "").replace(" ", "")
    if any(word in seq or word in name for word in SUBTOTAL_WORDS):
        return True
    if len(filled) == 1:
        (text,) = filled.values()
        return bool(SECTION_RE.search(text.replace(" ", "")))
    return False


@dataclass
class ParsedRow:
    row: int
    values: dict  # key -> parsed value


PROGRESS_EVERY = 1000


def terminal_progress(stream):
    """A progress callback drawing a bar on a terminal (None when output goes to a file or a pipe)."""
    if not stream.isatty():
        return None

    def draw(done, total):
        filled = int(30 * done / total) if total else 30
        stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", ending="", style_func=str)
        stream.flush()

    return draw


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
            stage = catalogues.stages.get(_name_key(raw["stage"]))
            if stage is None:
                fail("stage", _("未知的建设阶段“%(value)s”（前期、新开工、续建、竣工投产）") % {"value": raw["stage"]})
            values["stage"] = stage
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


def _shown(value):
    return "" if value is None else str(value)


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
    header_index, columns = find_header(head)
    missing = [HEADERS[key][0] for key in REQUIRED if key not in columns]
    if missing:
        raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
    year = year or year_from_titles(head[:header_index]) or rules.today().year
    result = ImportResult(year=year)
    catalogues, seen = Catalogues(), {}
    data_rows = itertools.chain(head[header_index + 1 :], rows)
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
        for key in PROJECT_FIELDS:
            if _column(key) not in columns and key != "city":
                continue  # a column the file does not carry leaves the field as it is
            if key == "code" and values["code"] is None:
                continue  # an empty code cell never takes a project's national code away
            new = _new_value(values, key)
            if not _same(project, key, new):
                if status == "updated":  # a new project's "changes" would be every field: not kept
                    changes.append((_header(key), _shown(getattr(project, key)), _shown(new)))
                setattr(project, key, new)
                changed_fields.add(key)
        for key in ("programmes", "actions"):
            if key in columns:
                current = {item.pk for item in getattr(project, key).all()} if project.pk else set()
                if current != values[key]:
                    if status == "updated":
                        changes.append((HEADERS[key][0], len(current), len(values[key])))
                    links.setdefault(key, []).append((project, values[key]))
        plan = plans.get(project.pk) if project.pk else None
        if "annual_plan" in columns or "completed_before_year" in columns:
            planned = values.get("annual_plan") if "annual_plan" in columns else (plan.planned_investment if plan else None)
            before = values.get("completed_before_year") if "completed_before_year" in columns else (plan.completed_before_year if plan else None)
            if planned is not None or before is not None:
                planned, before = planned or Decimal(0), before or Decimal(0)
                if plan is None or (plan.planned_investment, plan.completed_before_year) != (planned, before):
                    if status == "updated":
                        changes.append((HEADERS["annual_plan"][0], _shown(plan.planned_investment if plan else None), _shown(planned)))
                    plan_rows.append((project, plan, planned, before))
        if status == "updated" and not changes:
            status = "unchanged"  # (a created row always counts as created)
        elif status == "updated":
            project.version += 1
            updates.append(project)
        else:
            creates.append(project)
        row_of[id(project)] = row.row
        result.rows.append(RowResult(row.row, status, values["name"], changes))

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
            lists.cell(row=row, column=index, value=value)
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


def import_progress(data, filename, *, user, month, dry_run=False, progress=None):
    """Record a month's reports from a progress workbook (项目代码 or 项目名称 + 县, 本月完成投资, 形象进度,
    存在问题, 说明) and open the problems named, through the same service and checks as the report page:
    every row, or nothing when any row is wrong. A check that fires is an error for the row unless its
    说明 cell confirms the figure; unchanged rows are reported unchanged and not written."""
    rows = read_rows(data, filename)
    if not rows:
        raise ImportFileError(_("文件中没有数据。"))
    header_index, columns = find_header(rows, PROGRESS_HEADERS)
    missing = [PROGRESS_HEADERS[key][0] for key in ("name", "completed") if key not in columns]
    if missing:
        raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
    if user is not None and not user.has_perm("projects.add_monthlyreport"):
        raise ImportFileError(_("您的角色不能填报月度调度。"))
    month = month.replace(day=1)
    result = ImportResult(year=month.year)
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
                old = _shown(report.completed_investment) if report else ""
                changes = [] if outcome.status == "unchanged" else [(header["completed"], old, _shown(outcome.entry.completed_investment))]
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
        .order_by("city__code", "county__code", "name")
    )
    for number, project in enumerate(projects.iterator(), start=1):
        # Names are the province's text, not formulas, in the coordinator's Excel too.
        cells = [number, project.code or "", project.name, project.county.name if project.county else ""]
        sheet.append([escape_formula(cell) for cell in cells] + [None] * (len(PROGRESS_HEADERS) - len(cells)))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- Import batches: preview and apply, inline or on a worker -------------------------------------------

ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
XLSX_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def count_rows(data, filename):
    """The rows of the file's first sheet, counted in the file itself: an xlsx's size tag is missing in
    workbooks written by streaming writers (ours and most generated lists), so the sheet's row elements
    are counted while it is decompressed a block at a time (fast, bounded memory)."""
    if filename.lower().endswith(".csv"):
        return data.count(b"\n")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(_first_sheet_path(archive)) as sheet:
            rows, tail = 0, b""
            while block := sheet.read(1 << 20):
                text = tail + block
                # A tag cut at the block's end is counted with the next block.
                cut = max(0, len(text) - 16)
                rows += len(ROW_TAG.findall(text, 0, cut))
                tail = text[cut:]
            return rows + len(ROW_TAG.findall(tail))
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError):
        return 0  # unreadable: the import itself will say why


def _first_sheet_path(archive):
    from defusedxml import ElementTree

    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = next(element for element in book.iter() if element.tag.endswith("}sheet"))
    relation_id = first.get(XLSX_RELATIONSHIP)
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(element.get("Target") for element in relations if element.get("Id") == relation_id)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def runs_in_background(data, filename):
    return count_rows(data, filename) > settings.IMPORT_BACKGROUND_ROWS


class Superseded(Exception):
    """Another run took this batch over (this one was presumed dead): its work is rolled back."""


def batch_is_stalled(batch, *, now=None):
    """A check or import whose run has not reported for IMPORT_HEARTBEAT_STALE_SECONDS has died."""
    if batch.status not in (ImportBatch.Status.CHECKING, ImportBatch.Status.APPLYING):
        return False
    last = batch.heartbeat_at or batch.created_at
    return last < (now or timezone.now()) - datetime.timedelta(seconds=settings.IMPORT_HEARTBEAT_STALE_SECONDS)


def stalled_batches(*, now=None):
    stale = (now or timezone.now()) - datetime.timedelta(seconds=settings.IMPORT_HEARTBEAT_STALE_SECONDS)
    return ImportBatch.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale),
        status__in=[ImportBatch.Status.CHECKING, ImportBatch.Status.APPLYING],
    )


def batch_can_reconfirm(batch):
    """Whether the owner may confirm again: a clean preview whose run died or failed before applying
    (the file is kept until it is applied)."""
    clean_preview = bool(batch.preview_summary) and not (batch.result or {}).get("errors")
    stopped = batch.status == ImportBatch.Status.FAILED or batch_is_stalled(batch)
    return clean_preview and stopped and bool(batch.data)


def batch_start(batch, *, apply, enqueue):
    """(Re)start a batch's check or import: in this process when the file is small, else by
    `enqueue(batch_id, apply)` on a worker. The status moves first by a conditional update, so two
    confirms at once (or a confirm and a recovery) start it once. Returns the result when it ran here,
    True when it was queued, False when it was not startable."""
    Status = ImportBatch.Status
    target = Status.APPLYING if apply else Status.CHECKING
    startable = Q(status=Status.PREVIEWED, result__errors=[]) if apply else Q(status=Status.CHECKING, claim_token="")
    if (apply and batch_can_reconfirm(batch)) or batch_is_stalled(batch):
        # Exactly the state this caller saw: of two restarts at once, one moves it.
        startable = Q(status=batch.status, heartbeat_at=batch.heartbeat_at)
    started = ImportBatch.objects.filter(startable, pk=batch.pk).update(
        status=target, progress=0, claim_token="", heartbeat_at=timezone.now(), error=""
    )
    if not started:
        return False
    if runs_in_background(bytes(batch.data), batch.filename):
        transaction.on_commit(lambda: enqueue(batch.pk, apply))
        return True
    return batch_run_claimed(batch.pk, apply=apply, token=f"web-{uuid.uuid4()}")


def batches_restart(batches, *, enqueue):
    """Start again every stalled batch given (an operator's action or recover_background_work): a check
    is checked again; an import is applied again, which writes only if the outcome is still the one
    previewed. Returns the batches restarted."""
    restarted = []
    for batch in batches:
        apply = batch.status == ImportBatch.Status.APPLYING
        try:
            if batch_start(batch, apply=apply, enqueue=enqueue) is not False:
                restarted.append(batch)
        except Exception:  # recorded on the batch as failed, shown on its page
            restarted.append(batch)
    return restarted


def batch_run_claimed(batch_id, *, apply, token):
    """Run a started batch as the attempt `token`, unless another live attempt holds it or it is done.

    A redelivered task (same token) or a run started after the holder stopped reporting takes it over.
    """
    Status = ImportBatch.Status
    stale = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_HEARTBEAT_STALE_SECONDS)
    claimable = Q(claim_token=token) | Q(claim_token="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
    claimed = ImportBatch.objects.filter(claimable, pk=batch_id, status=Status.APPLYING if apply else Status.CHECKING).update(
        claim_token=token, heartbeat_at=timezone.now()
    )
    if not claimed:
        status = ImportBatch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
        running = Status.APPLYING if apply else Status.CHECKING
        return "held by another run" if status == running else "already done"
    batch = ImportBatch.objects.select_related("user").get(pk=batch_id)
    try:
        return batch_run(batch, apply=apply, token=token)
    except Superseded:
        return "superseded by another run"


def _progress_writer(batch_id, token):
    """(write(progress), close): progress and heartbeat where other connections see them at once.

    On PostgreSQL through a connection of its own, since the import's transaction hides its own writes
    until it ends; SQLite allows one writer at a time, so there through the import's connection (the
    embedded default runs tasks in-process, and nobody watches from elsewhere).
    """
    if connection.vendor != "postgresql":
        def write(progress):
            ImportBatch.objects.filter(pk=batch_id, claim_token=token).update(progress=progress, heartbeat_at=timezone.now())
        return write, lambda: None
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    table = side.ops.quote_name(ImportBatch._meta.db_table)

    def write(progress):
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET progress = %s, heartbeat_at = %s WHERE id = %s AND claim_token = %s",
                [progress, timezone.now(), batch_id, token],
            )

    return write, side.close


def batch_run(batch, *, apply, token):
    """Check (apply=False) or apply an ImportBatch as the attempt `token`, recording progress, result
    and status on it. Returns the ImportResult; failures end in status FAILED.

    Applying imports exactly the stored bytes, and nothing if the outcome now differs from the
    preview (the data changed meanwhile). The batch's final status is written in the import's own
    transaction, and only while this attempt still holds it: applied exactly once, or not at all.
    """
    Status = ImportBatch.Status
    write_progress, close = _progress_writer(batch.pk, token)

    def report(done, total):
        write_progress(0 if not total else min(99, int(done * 100 / total)))

    data = bytes(batch.data)
    try:
        if hashlib.sha256(data).hexdigest() != batch.sha256:
            raise ImportFileError(_("文件内容与预览时不一致。"))
        with transaction.atomic():
            if batch.kind == "progress":
                result = import_progress(data, batch.filename, user=batch.user, month=batch.month, dry_run=not apply, progress=report)
            else:
                result = import_projects(data, batch.filename, user=batch.user, year=batch.year, dry_run=not apply, progress=report)
            if apply and (result.errors or result.summary != batch.preview_summary):
                transaction.set_rollback(True)
                raise ImportFileError(
                    _("数据在预览之后发生了变化（预览：%(preview)s；现在：%(now)s），未导入任何内容，请重新上传预览。")
                    % {"preview": batch.preview_summary, "now": result.summary}
                )
            fields = {"progress": 100, "result": result.to_dict(), "claim_token": "", "heartbeat_at": timezone.now()}
            if apply:
                fields.update(status=Status.APPLIED, result_summary=result.summary, data=b"")
            else:
                fields.update(status=Status.PREVIEWED, preview_summary=result.summary, year=result.year)
            mine = ImportBatch.objects.filter(pk=batch.pk, claim_token=token, status=batch.status)
            if not mine.update(**fields):
                transaction.set_rollback(True)
                raise Superseded
    except Superseded:
        raise
    except Exception as error:  # whatever failed is recorded and shown as a failure, never as done
        ImportBatch.objects.filter(pk=batch.pk, claim_token=token).update(
            status=Status.FAILED, error=str(error), progress=100, claim_token=""
        )
        batch.refresh_from_db()
        raise
    finally:
        close()
    batch.refresh_from_db()
    return result
