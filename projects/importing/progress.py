"""Monthly progress workbooks (月度调度表): import through reports.reports_submit, and the prefilled template."""

import io
import unicodedata

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from import_export import fields
from import_export.instance_loaders import BaseInstanceLoader

from projects.dispatch import reports
from projects.domain.choices import Stage
from projects.domain.template import escape_formula
from projects.importing.catalogues import Regions
from projects.importing.headers import HEADER_SEARCH_ROWS, HEADER_SYNONYMS, HeaderMap, find_header, is_passed_over
from projects.importing.project_list import _shown
from projects.importing.reading import clean_free_text, clean_text, name_text
from projects.importing.resources import WorkbookResource, sheet_dataset
from projects.importing.results import PROGRESS_EVERY, ImportFileError, ImportResult, RowError, RowResult
from projects.importing.widgets import FreeTextWidget, MoneyWidget, NameWidget, TextWidget
from projects.models import PROJECT_ORDER, HeaderSynonym, MonthlyReport, Project, Region, normalize_project_code

# --- Monthly progress workbooks -----------------------------------------------------------------------

PROGRESS_HEADERS = {
    "seq": ("序号", "no"),
    "code": ("项目代码", "code"),
    "name": ("项目名称", "name"),
    "county": ("所属县（市、区）", "county"),
    "completed": ("本月完成投资（万元）", "completed_investment"),
    # 招商引资 items' funds in place this month (issue 25); blank for other projects.
    "funds": ("本月实际到位资金（万元）", "funds_in_place"),
    "progress": ("形象进度", "image_progress"),
    "problem": ("存在问题", "problem"),
    "note": ("说明", "note"),
}
PROGRESS_SYNONYMS = {
    "completed": ["当月完成投资", "本月完成", "月完成投资", "本月完成投资额"],
    "funds": ["实际到位资金", "本月实际到位资金", "本月到位资金", "当月到位资金", "到位资金", "资金到位"],
    "progress": ["工程进度", "进展情况", "项目进展", "形象进度情况"],
    "problem": ["问题", "存在的问题", "需协调解决的问题", "困难问题"],
    "note": ["情况说明"],
}


def progress_header_map():
    """The progress workbook's headings; its county column is read with the list's synonyms (built in and the
    province's in the admin): one rule for one column (issue 25)."""
    synonyms = {**PROGRESS_SYNONYMS, "county": list(HEADER_SYNONYMS["county"])}
    synonyms["county"] += HeaderSynonym.objects.filter(column="county").values_list("text", flat=True)
    return HeaderMap(PROGRESS_HEADERS, synonyms)


class ProgressLoader(BaseInstanceLoader):
    """The projects the file names (by 项目代码, else 项目名称 + 县) among those the user may report for, and
    their reports of the month, loaded at once. A county cell is read by the list import's region reader
    (catalogues.Regions: 清河 for 清河县, 邢台经济开发区, 高新区 ...) within each same-named project's city,
    so a workbook the list import accepts names the same projects here (issue 25)."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        resource.loader = self
        rows = [dict(zip(dataset.headers, cells)) for cells in dataset]
        codes = {normalize_project_code(unicodedata.normalize("NFKC", clean_text(row.get("code")) or "")) for row in rows} - {""}
        names = {name_text(row.get("name")) for row in rows} - {None}
        user = resource.user
        projects = Project.objects.editable_by(user) if user is not None else Project.objects.all()
        self.by_code, self.by_name = {}, {}
        for project in projects.filter(Q(code__in=codes) | Q(name__in=names)).select_related("county", "city").order_by("pk"):
            if project.code:
                self.by_code[project.code] = project
            if project.name in names:
                self.by_name.setdefault(project.name, []).append(project)
        self.regions = Regions(list(Region.objects.all()))
        found = {project.pk for project in [*self.by_code.values(), *(p for named in self.by_name.values() for p in named)]}
        self.reports = {report.project_id: report for report in MonthlyReport.objects.filter(project__in=found, month=resource.month)}

    def _in_county(self, text, project):
        """Whether the county cell `text` names the project's county (市直 or the city's name: none)."""
        try:
            county = self.regions.county(text, project.city)
        except ValueError:
            return False
        return (county.pk if county else None) == project.county_id

    def project(self, row):
        """(project or None, the column that names it, why not found or None)."""
        code = normalize_project_code(unicodedata.normalize("NFKC", clean_text(row.get("code")) or ""))
        if code:
            return self.by_code.get(code), "code", None
        named = self.by_name.get(name_text(row.get("name")), [])
        county = clean_text(row.get("county"))
        if county is not None:
            named = [project for project in named if self._in_county(county, project)]
        if len(named) > 1:
            return None, "name", _("有多个同名项目，请填写所属县（市、区）或项目代码")
        return (named[0] if named else None), "name", None

    def get_instance(self, row):
        project, _column, _why = self.project(row)
        return self.reports.get(project.pk) if project is not None else None


class ProgressResource(WorkbookResource):
    """A progress workbook's rows as the month's reports. Rows are checked and read here; what is saved,
    and every check on the figures, is reports.reports_submit's (as on the report page), in bulk once the
    rows are read."""

    code = fields.Field(column_name="code", widget=TextWidget())
    name = fields.Field(column_name="name", widget=NameWidget())
    county = fields.Field(column_name="county", widget=TextWidget())
    completed = fields.Field("completed_investment", "completed", widget=MoneyWidget())
    funds = fields.Field("funds_in_place", "funds", widget=MoneyWidget())
    # Free text: 无, 暂无, 无问题, — are empty (reading.is_empty_meaning), so 无 opens no problem (issue 25).
    progress = fields.Field("image_progress", "progress", widget=FreeTextWidget())
    problem = fields.Field(column_name="problem", widget=FreeTextWidget())
    note = fields.Field(column_name="note", widget=FreeTextWidget())

    class Meta:
        model = MonthlyReport
        fields = ("code", "name", "county", "completed", "funds", "progress", "problem", "note")
        import_id_fields = ("name",)  # rows are matched by the loader
        instance_loader_class = ProgressLoader
        use_bulk = True
        skip_diff = True
        report_skipped = True
        clean_model_instances = False
        use_transactions = True

    def __init__(self, *, user, month, progress=None):
        super().__init__()
        self.user, self.month, self.progress = user, month, progress
        self.outcome = ImportResult(year=month.year)
        self.entries, self.seen = [], {}

    def before_import(self, dataset, **kwargs):
        """The header under the title; the rows that report something (a prefilled project left empty is
        not reported this time), each with its sheet row number."""
        numbers = dataset.sheet_rows
        columns = find_header(list(zip(numbers, dataset[:HEADER_SEARCH_ROWS])), progress_header_map())
        missing = [PROGRESS_HEADERS[key][0] for key in ("name", "completed") if key not in columns]
        if missing:
            raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
        self.outcome.unrecognized = columns.headings
        self.fields["completed"].widget.unit = columns["completed"][1]
        if "funds" in columns:
            self.fields["funds"].widget.unit = columns["funds"][1]
        keys = list(columns)
        kept, kept_numbers = [], []
        for number, cells in zip(numbers[columns.index + 1 :], dataset[columns.index + 1 :]):
            values = [cells[columns[key][0]] for key in keys]
            raw = {key: clean_text(value) for key, value in zip(keys, values)}
            reported = any(clean_free_text(raw.get(key)) for key in ("completed", "progress", "problem"))
            if is_passed_over(raw) or not reported:
                self.outcome.skipped += 1
                continue
            kept.append(values)
            kept_numbers.append(number)
        dataset.wipe()
        dataset.headers = keys
        dataset.extend(kept)
        numbers[:] = kept_numbers

    def before_import_row(self, row, **kwargs):
        self.row_index = kwargs["row_number"] - 1
        if self.progress and self.row_index % PROGRESS_EVERY == 0:
            self.progress(self.row_index, len(self.sheet_rows))

    def get_instance(self, instance_loader, row):
        return instance_loader.get_instance(row)

    def init_instance(self, row=None):
        return MonthlyReport(month=self.month)

    def import_instance(self, instance, row, **kwargs):
        """The row as a ReportEntry for the service: its project (one the user may report for, named once),
        its figure (required) and texts."""
        number = self.sheet_rows[self.row_index]
        project, by, why = self.loader.project(row)
        if project is None:
            raise ValidationError({by: [why or _("找不到该项目，或不在您的管辖区域内")]})
        if project.pk in self.seen:
            raise ValidationError({by: [_("与第 %(other)d 行是同一项目") % {"other": self.seen[project.pk]}]})
        self.seen[project.pk] = number
        try:
            amount = self.fields["completed"].clean(row)
        except ValueError as error:
            raise ValidationError({"completed": [str(error)]}) from None
        if amount is None:  # empty, or — / 无
            raise ValidationError({"completed": [_("必填")]})
        try:
            # A blank cell, or a workbook without the column, reports no funds this time: those stored stay.
            funds = self.fields["funds"].clean(row) if "funds" in row else None
        except ValueError as error:
            raise ValidationError({"funds": [str(error)]}) from None
        text = {key: self.fields[key].clean(row) if key in row else "" for key in ("progress", "problem", "note")}
        instance._entry = reports.ReportEntry(
            project=project, month=self.month, completed_investment=amount, image_progress=text["progress"],
            problem=text["problem"], note=text["note"], funds_in_place=reports.KEEP if funds is None else funds,
        )

    def save_instance(self, instance, is_create, row, **kwargs):
        self.entries.append((self.row_index + 1, instance._entry))  # saved by reports_submit, all at once

    def after_import(self, dataset, result, **kwargs):
        """Submit the month's entries through the report service; a row it refuses, or whose figure a check
        questions without a 说明, is an error of its row (and nothing is kept)."""
        if result.has_validation_errors() or not self.entries:
            return
        outcomes = reports.reports_submit(user=self.user, entries=[entry for _number, entry in self.entries])
        for (number, _entry), outcome in zip(self.entries, outcomes):
            if outcome.status == reports.EntryStatus.REFUSED:
                result.append_invalid_row(number, {}, ValidationError({"completed": [outcome.message]}))
            elif outcome.status == reports.EntryStatus.NEEDS_NOTE:
                reasons = "；".join(warning.message for warning in outcome.warnings)
                message = _("%(reasons)s。如确认无误，请在“说明”列填写说明") % {"reasons": reasons}
                result.append_invalid_row(number, {}, ValidationError({"completed": [message]}))
            else:
                report, header = outcome.report, PROGRESS_HEADERS["completed"][0]
                old = _shown("completed", report.completed_investment) if report else ""
                changes = [] if outcome.status == "unchanged" else [(header, old, _shown("completed", outcome.entry.completed_investment))]
                funds = outcome.entry.funds_in_place
                if changes and funds != reports.KEEP and funds != (report.funds_in_place if report else None):
                    old_funds = _shown("completed", report.funds_in_place) if report else ""
                    changes.append((PROGRESS_HEADERS["funds"][0], old_funds, _shown("completed", funds)))
                self.outcome.add_row(RowResult(self.sheet_rows[number - 1], outcome.status, outcome.entry.project.name, changes))


def import_progress(data, filename, *, user, month, dry_run=False, progress=None):
    """Record a month's reports from a progress workbook (项目代码 or 项目名称 + 县, 本月完成投资, 形象进度,
    存在问题, 说明) and open the problems named, through the same service and checks as the report page:
    every row, or nothing when any row is wrong. A check that fires is an error for the row unless its
    说明 cell confirms the figure; unchanged rows are reported unchanged and not written."""
    if user is not None and not user.has_perm("projects.add_monthlyreport"):
        raise ImportFileError(_("您的角色不能填报月度调度。"))
    dataset = sheet_dataset(data, filename)
    if not len(dataset):
        raise ImportFileError(_("文件中没有数据。"))
    resource = ProgressResource(user=user, month=month.replace(day=1), progress=progress)
    library_result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True)
    result = resource.outcome
    for invalid in library_result.invalid_rows:
        for key, messages in invalid.error_dict.items():
            result.errors.extend(RowError(invalid.number, PROGRESS_HEADERS[key][0], message) for message in messages)
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        result.clear_rows()
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
