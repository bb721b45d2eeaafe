"""The provincial project list (SPEC §5) as a django-import-export resource.

`import_projects` (project_import.py) reads the file (reading.py) into a dataset of the sheet's rows as they
are; the resource's `before_import` finds the header under title and note rows, passes over section and
subtotal rows and keeps each row's sheet number for messages; its widgets (widgets.py) read the cells; its
instance loader (project_fields.py) fetches the projects a window of rows names at once (by 项目代码, else
项目名称 + county); its bulk steps (project_writes.py) write projects, programme and action links, annual
plans and history rows (with the importing user, and the links each history row had) a chunk at a time. An
unchanged row writes nothing. Any error writes nothing: the import runs in one transaction, rolled back
also for a dry run, so a preview reports exactly what applying would do — including the final check that
every written project lies in the user's region.

Before a row is matched the import takes its locks (`_lock`): the places its rows name (place_locks.py), so
that imports of one county run one after the other and overlapping lists never make a project twice, then
the projects its rows match, by id, as every writer does (locks.py). A confirm compares the versions its
preview read: a project the file writes that was changed after the preview refuses the whole file, naming it.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from import_export import fields

from actions.models import Action
from projects.domain import rules
from projects.domain.choices import Stage
from projects.domain.figures import figure_text, total_investment_validator
from projects.domain.template import COLUMNS as EXPORT_COLUMNS
from projects.importing.catalogues import Catalogues
from projects.importing.headers import (
    HEADER_SEARCH_ROWS,
    HEADERS,
    HeaderMap,
    city_without_column,
    find_header,
    is_passed_over,
    judge_unrecognized,
    programmes_from_title,
    refuse_lost_columns,
    title_texts,
    year_from_titles,
)
from projects.importing.place_locks import places_lock
from projects.importing.project_fields import (
    IMPORT_CHUNK_ROWS,
    INVESTMENT_ATTRIBUTES,
    LINKS,
    RELATIONS,
    PeriodField,
    PhoneField,
    ProjectListLoader,
    StagedField,
)
from projects.importing.project_writes import ProjectListWrites
from projects.importing.reading import clean_text, name_text
from projects.importing.resources import WorkbookResource
from projects.importing.results import KEPT_ROWS, PROGRESS_EVERY, ImportFileError, ImportResult, RowResult
from projects.importing.widgets import (
    CatalogueWidget,
    CityWidget,
    CodeWidget,
    CountyWidget,
    FreeTextWidget,
    LinksWidget,
    LookupWidget,
    MoneyWidget,
    MonthWidget,
    NameWidget,
    PeriodWidget,
    StageWidget,
)
from projects.models import MilestoneKind, Programme, Project
from projects.shared import lights, locks

REQUIRED = ("name", "city")
# Approximate amounts (约300) named one by one in the notes; more are counted.
APPROXIMATE_NOTED = 50
# The model's fields a row sets, compared to tell an updated row from an unchanged one.
PROJECT_FIELDS = ("code", "name", "batch", "stage", "city", "county", "industry", "owner", "scope", "start_year",
                  "end_year", "planned_start", "planned_end", "total_investment", "responsible_unit", "contact",
                  "phone", "remarks") + INVESTMENT_ATTRIBUTES  # the investment-promotion block (issue 25)
ATTNAMES = {key: f"{key}_id" if key in RELATIONS else key for key in PROJECT_FIELDS}
PLAN_KEYS = ("annual_plan", "completed_before_year")
# The column a field comes from, where the names differ.
FIELD_COLUMN = {"start_year": "period", "end_year": "period"}


def _header(key):
    return HEADERS[FIELD_COLUMN.get(key, key)][0]


def _shown(key, value):
    """A value as the preview shows it: labels for choices, names for catalogue rows, 万元 thousands separated."""
    if value is None or value == "":
        return ""
    if key == "stage":
        return str(Stage(value).label)
    if isinstance(value, Decimal):
        return figure_text(value)  # issue 26: 13,152, not 13152.00
    return str(value)


def _names(names, keys):
    return "、".join(sorted(names.get(key, str(key)) for key in keys))


class ProjectListResource(ProjectListWrites, WorkbookResource):
    """A provincial list's rows as projects. Headings are found by `before_import` (the template's, their
    English aliases, the synonyms real lists use and those the province adds); a column the file does not
    carry leaves the field as it is."""

    code = fields.Field("code", "code", widget=CodeWidget(), saves_null_values=False)  # an empty cell keeps the code
    name = fields.Field("name", "name", widget=NameWidget())
    programmes = StagedField("programmes", "programmes", widget=LinksWidget("programmes"))
    batch = fields.Field("batch", "batch", widget=LookupWidget("batches", "项目", gettext_noop("五个一批类别")))
    stage = fields.Field("stage", "stage", widget=StageWidget())
    city = fields.Field("city", "city", widget=CityWidget())
    county = fields.Field("county", "county", widget=CountyWidget())
    industry = fields.Field("industry", "industry", widget=LookupWidget("industries", "产业", gettext_noop("产业")))
    actions = StagedField("actions", "actions", widget=LinksWidget("actions"))
    owner = fields.Field("owner", "owner", widget=FreeTextWidget())
    scope = fields.Field("scope", "scope", widget=FreeTextWidget())
    period = PeriodField("start_year", "period", widget=PeriodWidget())
    planned_start = fields.Field("planned_start", "planned_start", widget=MonthWidget())
    planned_end = fields.Field("planned_end", "planned_end", widget=MonthWidget())
    total_investment = fields.Field("total_investment", "total_investment", default=Decimal(0),
                                    widget=MoneyWidget(validators=(total_investment_validator,)))
    annual_plan = StagedField("annual_plan", "annual_plan", widget=MoneyWidget())
    completed_before_year = StagedField("completed_before_year", "completed_before_year", widget=MoneyWidget())
    responsible_unit = fields.Field("responsible_unit", "responsible_unit", widget=FreeTextWidget())
    contact = fields.Field("contact", "contact", widget=FreeTextWidget())
    phone = PhoneField("phone", "phone", widget=FreeTextWidget())
    remarks = fields.Field("remarks", "remarks", widget=FreeTextWidget())

    class Meta:
        model = Project
        fields = ("code", "name", "programmes", "batch", "stage", "city", "county", "industry", "actions", "owner",
                  "scope", "period", "planned_start", "planned_end", "total_investment", "annual_plan",
                  "completed_before_year", "responsible_unit", "contact", "phone", "remarks")
        import_id_fields = ("name",)  # rows are matched by the loader (code, else name + county)
        instance_loader_class = ProjectListLoader
        use_bulk = True
        batch_size = IMPORT_CHUNK_ROWS
        skip_diff = True  # the preview's old → new values are kept by import_instance, not by deep copies
        report_skipped = True
        clean_model_instances = False  # every cell is checked by its widget
        use_transactions = True

    def __init__(self, *, user, year=None, progress=None, total=0, preview=None):
        super().__init__()
        self.user, self.year, self.progress, self.total = user, year, progress, total
        # A confirm's preview record (ImportResult.preview_record): the projects changed since are refused.
        self.preview = None
        if preview and "matched" in preview:
            self.preview = {"matched": preview["matched"], "updating": set(preview["updating"])}
        self.stale = []  # names of the projects changed since the preview
        self.match_keys = None  # each data row's match key, once the places are locked
        self.outcome = ImportResult(year=year)
        self.node_kinds, self.headings = [], {}
        self.seen = {}  # match key -> sheet row, to refuse a project named twice
        self.changed_fields = set()
        self.written, self.planned = {}, set()  # project pk -> its data row; pks of projects whose plan was written
        self.link_names = None
        self.title_programmes = None  # programme pks the title names, for a list without 项目类别
        self.approximate = 0  # approximate amounts read

    # --- Export: each column as the import reads it back ----------------------------------------------

    def get_export_order(self):
        return [alias for _header, alias in EXPORT_COLUMNS]

    def dehydrate_code(self, project):
        return project.code or ""

    def dehydrate_programmes(self, project):
        return "、".join(programme.name for programme in project.programmes.all())

    def dehydrate_batch(self, project):
        return project.batch.name if project.batch else ""

    def dehydrate_stage(self, project):
        return project.get_stage_display()

    def dehydrate_city(self, project):
        return project.city.name

    def dehydrate_county(self, project):
        return project.county.name if project.county else ""

    def dehydrate_industry(self, project):
        return project.industry.name if project.industry else ""

    def dehydrate_actions(self, project):
        """The default plan's actions by number (as lists write them), any other plan's by name."""
        return "、".join(str(a.number) if a.plan.is_primary else a.name for a in project.actions.all())

    def dehydrate_period(self, project):
        return project.period

    # 计划开工 / 计划竣工 are written by their widget (MonthWidget.render): the day kept, a 1st as its month.

    def dehydrate_total_investment(self, project):
        return project.total_investment  # a number in the workbook, not text

    def dehydrate_annual_plan(self, project):
        return project.plan_investment  # annotated for the export's year (lights.annotate_progress)

    def dehydrate_completed_before_year(self, project):
        return project.completed_before_year

    # --- The sheet ------------------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        """Find the header row (one or two rows) under the titles and notes; keep the known columns of the
        data rows that are not section headings, subtotals, notes (注：…) or blank, each with its sheet row
        number. A list without 所属市 takes the city of the uploader or the title, one without 项目类别 the
        programme its title names (issue 25; both said in the notes); an unrecognised column holding amounts
        or organisations refuses the file (headers.judge_unrecognized)."""
        numbers = dataset.sheet_rows
        head = list(zip(numbers[:HEADER_SEARCH_ROWS], dataset[:HEADER_SEARCH_ROWS]))
        if not any(any(clean_text(cell) is not None for cell in cells) for _number, cells in head):
            raise ImportFileError(_("文件中没有数据。"))
        # Optional columns: a planned date per project node (用地计划日期, 开工计划日期 ...).
        self.node_kinds = list(MilestoneKind.objects.filter(is_active=True))
        node_headers = {f"node_{kind.pk}": (f"{kind.name}计划日期", f"node_{kind.pk}") for kind in self.node_kinds}
        for key in node_headers:
            self.fields[key] = StagedField(key, key, widget=MonthWidget())
        self.headings = {key: chinese for key, (chinese, _alias) in (HEADERS | node_headers).items()}
        header_map = HeaderMap.for_project_list()
        header_map.add(node_headers, {key: [f"{kind.name}计划时间", f"计划{kind.name}日期", f"计划{kind.name}时间"]
                                      for key, kind in zip(node_headers, self.node_kinds)})
        columns = find_header(head, header_map)
        titles = title_texts(head[: columns.first])
        self.year = self.year or year_from_titles(head[: columns.first]) or columns.year or rules.today().year
        self.outcome = ImportResult(year=self.year, unrecognized=columns.headings)
        self.catalogues = Catalogues(year=self.year)
        city = None
        if "city" not in columns:
            city, note = city_without_column(self.catalogues.regions, self.user, titles)
            self.outcome.notes.append(note)
        missing = [HEADERS[key][0] for key in REQUIRED if key not in columns and not (key == "city" and city)]
        if missing:
            raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
        if "programmes" not in columns:
            self.title_programmes, note = programmes_from_title(self.catalogues, titles)
            self.outcome.notes.extend([note] if note else [])
        for field in self.fields.values():
            if isinstance(field.widget, CatalogueWidget):
                field.widget.catalogues = self.catalogues
            if isinstance(field.widget, MoneyWidget):
                field.widget.unit = columns[field.column_name][1] if field.column_name in columns else 1
        keys = [key for key in columns if key in self.fields or key == "seq"]
        positions = [columns[key][0] for key in keys]
        kept, kept_numbers, kept_cells = [], [], []
        for number, cells in zip(numbers[columns.index + 1 :], dataset[columns.index + 1 :]):
            values = [cells[position] for position in positions]
            if is_passed_over({key: clean_text(value) for key, value in zip(keys, values)}):
                self.outcome.skipped += 1
                continue
            kept.append(values + [city.code] if city else values)
            kept_numbers.append(number)
            kept_cells.append(cells)
        if city:
            keys.append("city")
        if "county" not in columns:
            self._refuse_an_unnamed_county_column(columns, dataset[columns.index + 1 :])
        money = [columns[key][0] for key in columns if key in self.fields and isinstance(self.fields[key].widget, MoneyWidget)]
        self.outcome.notes.extend(refuse_lost_columns(judge_unrecognized(columns, kept_cells, money)))
        dataset.wipe()
        dataset.headers = keys
        dataset.extend(kept)
        numbers[:] = kept_numbers  # the list the result maps data rows to sheet rows with
        self.link_names = {"programmes": dict(Programme.objects.values_list("pk", "name")),
                           "actions": dict(Action.objects.values_list("pk", "name"))}
        self._lock(dataset)

    # --- Locks: before any row is matched -------------------------------------------------------------

    def _lock(self, dataset):
        """Take the import's locks before the loader matches a row, so that what it reads stays as read
        until the import ends: the places the rows name (two imports of one county run one after the
        other, the second matching the first's committed rows, so overlapping lists never make one
        project twice), then the projects the rows match, by id (locks.py: one order for every writer;
        the loader reads them afterwards, as last saved). On SQLite, whose writers take the whole
        database, there is nothing to lock."""
        headers = dataset.headers
        self.match_keys = [self.match_key(dict(zip(headers, cells))) for cells in dataset]
        if connection.vendor != "postgresql":
            return
        keys = [key for key in self.match_keys if key is not None]
        places_lock({county if county is not None else city for _kind, _code, _name, county, city in keys})
        wanted = {key[2:] for key in keys}
        names = sorted({key[2] for key in keys})
        codes = sorted({key[1] for key in keys if key[0] == "code"})
        ids = set()
        for start in range(0, len(codes), IMPORT_CHUNK_ROWS):
            ids.update(Project.objects.filter(code__in=codes[start:start + IMPORT_CHUNK_ROWS]).values_list("pk", flat=True))
        for start in range(0, len(names), IMPORT_CHUNK_ROWS):
            rows = Project.objects.filter(name__in=names[start:start + IMPORT_CHUNK_ROWS]).values_list("pk", "name", "county_id", "city_id")
            ids.update(pk for pk, *place in rows if tuple(place) in wanted)
        ids = sorted(ids)
        for start in range(0, len(ids), 5 * IMPORT_CHUNK_ROWS):  # ascending chunks: ascending overall
            locks.projects_lock(ids[start:start + 5 * IMPORT_CHUNK_ROWS])

    def _refuse_an_unnamed_county_column(self, columns, rows):
        """A list whose county column was not recognised must not import as city-level projects: if a
        column the importer does not know holds county names, say which and stop."""
        for position, heading in columns.unrecognized:
            for cells in rows:
                value = clean_text(cells[position])
                if value and self.catalogues.regions.looks_like_county(value):
                    raise ImportFileError(
                        _("没有找到“所属县（市、区）”列，但“%(heading)s”列中是县（市、区）名称（如“%(value)s”）。"
                          "请将该列的标题改为“所属县（市、区）”，或在管理后台的“表头同义词”中添加“%(heading)s”。")
                        % {"heading": heading, "value": value}
                    )

    # --- A row ----------------------------------------------------------------------------------------

    def match_key(self, row):
        """How a row names its project: ("code", code) or ("name", name, county pk, city pk); None when the
        cells that say it are wrong (their errors are reported by import_instance)."""
        try:
            code = self.fields["code"].clean(row) if "code" in row else None
            name = name_text(row.get("name"))
            city = self.fields["city"].clean(row)
            county = self.fields["county"].clean(row) if "county" in row else None
        except ValueError:
            return None
        if name is None or city is None:
            return None
        if county is not None:
            city = county.reporting_city  # 容城县 under 保定市 reports under 雄安新区
        place = (name, county.pk if county else None, city.pk)
        return ("code", code, *place) if code else ("name", None, *place)

    def before_import_row(self, row, **kwargs):
        self.row_index = kwargs["row_number"] - 1
        if self.progress and self.row_index % PROGRESS_EVERY == 0:
            self.progress(self.sheet_rows[self.row_index], self.total)

    def get_instance(self, instance_loader, row):
        return instance_loader.get_instance(row)

    def after_init_instance(self, instance, new, row, **kwargs):
        instance._new, instance._cells, instance._changes = new, {}, None
        instance._row_number = self.row_index + 1
        self.instance = instance

    def import_instance(self, instance, row, **kwargs):
        """Set the row's cells on the project and keep what changed (old → new, as the preview shows it);
        a wrong cell, a project named twice or one the user may not edit is an error of its row."""
        missing = [key for key in REQUIRED if clean_text(row.get(key)) is None]
        if missing:
            self._fail({key: _("必填") for key in missing})
        new, number = instance._new, self.sheet_rows[self.row_index]
        # The preview lists the first KEPT_ROWS created or updated rows with their values (old → new);
        # the others are counted, not kept, so memory stays flat with the list's length.
        detailed = len(self.outcome.rows) < KEPT_ROWS
        before = {key: getattr(instance, attname) for key, attname in ATTNAMES.items()}
        shown_before = {key: getattr(instance, key) for key in PROJECT_FIELDS} if detailed and not new else {}
        errors = {}
        for field in self.get_import_fields():
            if field.column_name in row:
                try:
                    field.save(instance, row, **kwargs)
                except ValueError as error:
                    errors[field.column_name] = str(error)
                self._note_approximate(field, number)
        if errors:
            self._fail(errors)
        if self.title_programmes:
            had = self.loader.links[instance.pk]["programmes"] if not new else set()
            instance._cells["programmes"] = had | self.title_programmes
        if "county" in row and instance.county is not None:
            instance.city = instance.county.reporting_city  # 容城县 under 保定市 reports under 雄安新区
        key = self.loader.keys[self.row_index]
        match = key[:2] if key[0] == "code" else key
        if match in self.seen:
            self._fail({key[0]: _("与第 %(other)d 行重复") % {"other": self.seen[match]}})
        self.seen[match] = number
        if not new and self.loader.editable is not None and instance.pk not in self.loader.editable:
            self._fail({"code": _("该项目属于其他地区或您无权修改")})

        changes, changed = [], False
        for name, attname in ATTNAMES.items():
            if getattr(instance, attname) != before[name]:
                self.changed_fields.add(name)
                changed = True
                if detailed:
                    changes.append((_header(name), _shown(name, shown_before.get(name)), _shown(name, getattr(instance, name))))
        current = self.loader.links.get(instance.pk) if not new else None
        instance._links = {}
        for kind in LINKS:
            had = current[kind] if current else set()
            wanted = instance._cells.get(kind, had)
            if wanted != had:
                instance._links[kind] = wanted
                if detailed:
                    changes.append((HEADERS[kind][0], _names(self.link_names[kind], had), _names(self.link_names[kind], wanted)))
        instance._all_links = {kind: instance._links.get(kind, current[kind] if current else set()) for kind in LINKS}
        instance._plan = self._plan_change(instance, changes if detailed else None)
        instance._nodes = self._node_changes(instance, changes if detailed else None)
        instance._changed = new or changed or bool(instance._links or instance._plan or instance._nodes)
        instance._changes = changes
        if not new:
            self._compare_with_preview(instance)
        if instance._changed and not new:
            instance.version += 1

    def _note_approximate(self, field, number):
        """An approximate amount (约300) read as its number: said in the notes by row and column."""
        approximate = getattr(field.widget, "approximate", None)
        while approximate:
            text, figure = approximate.pop()
            self.approximate += 1
            if self.approximate <= APPROXIMATE_NOTED:
                self.outcome.notes.append(_("第 %(row)d 行“%(column)s”：“%(value)s”是约数，按 %(number)s 读取。") % {
                    "row": number, "column": self.headings.get(field.column_name, field.column_name), "value": text,
                    "number": figure})
            elif self.approximate == APPROXIMATE_NOTED + 1:
                self.outcome.notes.append(_("另有更多约数按其数字读取。"))

    def _compare_with_preview(self, instance):
        """Record the matched project's version as read (locked); at a confirm, a project the preview did
        not match, or one whose version moved since and which the preview or this run writes, was changed
        by someone else after the preview: the confirm is refused, naming it."""
        self.outcome.matched[instance.pk] = instance.version
        if instance._changed:
            self.outcome.updating.add(instance.pk)
        if self.preview is None:
            return
        seen = self.preview["matched"].get(str(instance.pk))
        writes = instance._changed or instance.pk in self.preview["updating"]
        if seen is None or (seen != instance.version and writes):
            self.stale.append(instance.name)

    def _plan_change(self, instance, changes):
        """The annual plan the row asks for, when it differs from the stored one: (plan or None, planned, before)."""
        if not any(key in instance._cells for key in PLAN_KEYS):
            return None
        plan = None if instance._new else self.loader.plans.get(instance.pk)
        planned = instance._cells.get("annual_plan", plan.planned_investment if plan else None)
        before = instance._cells.get("completed_before_year", plan.completed_before_year if plan else None)
        if planned is None and before is None:
            return None
        planned, before = planned or Decimal(0), before or Decimal(0)
        if plan is not None and (plan.planned_investment, plan.completed_before_year) == (planned, before):
            return None
        if changes is not None:
            for key, old, new in (("annual_plan", plan.planned_investment if plan else None, planned),
                                  ("completed_before_year", plan.completed_before_year if plan else None, before)):
                if old != new:
                    changes.append((HEADERS[key][0], _shown(key, old), _shown(key, new)))
        return plan, planned, before

    def _node_changes(self, instance, changes):
        """The node dates the row's optional columns change: [(kind, stored milestone or None, planned date)]."""
        current = {} if instance._new else self.loader.nodes.get(instance.pk, {})
        changed = []
        for kind in self.node_kinds:
            key = f"node_{kind.pk}"
            if key not in instance._cells:
                continue
            milestone, planned = current.get(kind.pk), instance._cells[key]
            old = milestone.planned_on if milestone else None
            if planned != old:
                changed.append((kind, milestone, planned))
                if changes is not None:
                    changes.append((self.headings[key], _shown(key, old), _shown(key, planned)))
        return changed

    def _fail(self, errors):
        raise ValidationError({key: [message] for key, message in errors.items()})

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors:
            return False
        return not instance._changed

    def after_import_row(self, row, row_result, **kwargs):
        status = {"new": "created", "update": "updated"}.get(row_result.import_type, "unchanged")
        changes = self.instance._changes if status != "unchanged" else []
        self.outcome.add_row(RowResult(self.sheet_rows[self.row_index], status, self.instance.name, changes))

    # Writing in bulk (bulk_create, bulk_update and their steps) is ProjectListWrites' (project_writes.py).

    def after_import(self, dataset, result, **kwargs):
        if not result.has_validation_errors() and self.written:
            lights.lights_refresh(projects=set(self.written) | self.planned)  # stages, starts and plans move lights
