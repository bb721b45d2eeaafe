"""The provincial project list (SPEC §5) as a django-import-export resource.

`import_projects` reads the file (reading.py) into a dataset of the sheet's rows as they are; the resource's
`before_import` finds the header under title and note rows, passes over section and subtotal rows and keeps
each row's sheet number for messages; its widgets (widgets.py) read the cells; its instance loader fetches
the projects a window of rows names at once (by 项目代码, else 项目名称 + county); its bulk steps write
projects, programme and action links, annual plans and history rows (with the importing user, and the links
each history row had) a chunk at a time. An unchanged row writes nothing. Any error writes nothing: the
import runs in one transaction, rolled back also for a dry run, so a preview reports exactly what applying
would do — including the final check that every written project lies in the user's region.

Before a row is matched the import takes its locks (`_lock`): the places its rows name, so that imports of
one county run one after the other and overlapping lists never make a project twice, then the projects
its rows match, by id, as every writer does (locks.py). A confirm compares the versions its preview read:
a project the file writes that was changed after the preview refuses the whole file, naming it.
"""

import io
import time
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from import_export import fields
from import_export.instance_loaders import BaseInstanceLoader
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from actions.models import Action

from projects.domain import rules
from projects.domain.access import phone_is_masked
from projects.domain.choices import Stage
from projects.domain.figures import total_investment_validator
from projects.domain.template import COLUMNS as EXPORT_COLUMNS
from projects.domain.template import escape_formula
from projects.importing.catalogues import Catalogues
from projects.importing.headers import (
    HEADER_SEARCH_ROWS,
    HEADERS,
    HeaderMap,
    find_header,
    is_passed_over,
    year_from_titles,
)
from projects.importing.reading import clean_text, count_rows
from projects.importing.resources import WorkbookResource, sheet_dataset
from projects.importing.results import KEPT_ROWS, PROGRESS_EVERY, ImportFileError, ImportResult, RowError, RowResult
from projects.importing.widgets import (
    CatalogueWidget,
    CityWidget,
    CodeWidget,
    CountyWidget,
    LinksWidget,
    LookupWidget,
    MoneyWidget,
    MonthWidget,
    PeriodWidget,
    StageWidget,
    TextWidget,
)
from projects.models import AnnualPlan, Batch, Milestone, MilestoneKind, Programme, Project
from projects.shared import lights, locks, versions

REQUIRED = ("name", "city")
# The model's fields a row sets, compared to tell an updated row from an unchanged one.
PROJECT_FIELDS = ("code", "name", "batch", "stage", "city", "county", "industry", "owner", "scope", "start_year",
                  "end_year", "planned_start", "planned_end", "total_investment", "responsible_unit", "contact",
                  "phone", "remarks")
RELATIONS = ("batch", "city", "county", "industry")
ATTNAMES = {key: f"{key}_id" if key in RELATIONS else key for key in PROJECT_FIELDS}
LINKS = {"programmes": "programme_id", "actions": "action_id"}
PLAN_KEYS = ("annual_plan", "completed_before_year")
# The column a field comes from, where the names differ.
FIELD_COLUMN = {"start_year": "period", "end_year": "period"}
# Rows whose projects the loader fetches at once, and projects written per bulk step.
IMPORT_CHUNK_ROWS = 2000
# The imports of one place (a county, or a city for its own projects) run one after the other: each takes,
# on PostgreSQL, a transaction-level advisory lock per place its rows name, in this key space, by region id
# ascending, before it matches a row. Waiting longer than this for another import's places refuses the file.
PLACE_LOCK_SPACE = 0x48424950  # "HBIP"
PLACE_LOCK_WAIT_SECONDS = 60
# Projects named in a changed-since-preview refusal (the rest are counted).
STALE_NAMED = 10


def _header(key):
    return HEADERS[FIELD_COLUMN.get(key, key)][0]


def _shown(key, value):
    """A value as the preview shows it: labels for choices, names for catalogue rows, 万元 as stored."""
    if value is None or value == "":
        return ""
    if key == "stage":
        return str(Stage(value).label)
    return str(value)


def _names(names, keys):
    return "、".join(sorted(names.get(key, str(key)) for key in keys))


class PeriodField(fields.Field):
    """建设起止年限: one column, two of the model's fields."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        instance.start_year, instance.end_year = self.clean(row, **kwargs)

    def export(self, instance, **kwargs):
        return instance.period


class PhoneField(fields.Field):
    """A contact number. A masked one (138****5678: what an export shows those who may not edit the
    project) never overwrites the stored number."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        if phone_is_masked(clean_text(row.get(self.column_name))):
            return
        super().save(instance, row, is_m2m, **kwargs)


class StagedField(fields.Field):
    """A column kept on the instance until the bulk step writes it elsewhere (links, the annual plan)."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        instance._cells[self.column_name] = self.clean(row, **kwargs)


class ProjectListLoader(BaseInstanceLoader):
    """The project each row names, found a window of rows at a time in a fixed number of queries: by
    项目代码, else by 项目名称 + county (a coded row matches by name only a project without a code yet);
    with the window's projects come their links, this year's plans and which of them the user may edit."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        resource.loader = self
        self.window = None

    def get_instance(self, row):
        index = self.resource.row_index
        if index // IMPORT_CHUNK_ROWS != self.window:
            self.load(index // IMPORT_CHUNK_ROWS)
        return self.matches.get(index)

    def load(self, window):
        self.window = window
        start = window * IMPORT_CHUNK_ROWS
        headers = self.dataset.headers
        known = self.resource.match_keys  # computed for the locks, before any row was matched
        if known is not None:
            self.keys = {start + offset: key for offset, key in enumerate(known[start:start + IMPORT_CHUNK_ROWS])}
        else:
            self.keys = {start + offset: self.resource.match_key(dict(zip(headers, cells)))
                         for offset, cells in enumerate(self.dataset[start:start + IMPORT_CHUNK_ROWS])}
        keys = [key for key in self.keys.values() if key is not None]
        related = Project.objects.select_related(*RELATIONS)
        by_code = {p.code: p for p in related.filter(code__in=[key[1] for key in keys if key[0] == "code"])}
        names = [key[2] for key in keys if key[0] == "name" or key[1] not in by_code]
        by_place = {}
        for project in related.filter(name__in=names):
            by_place.setdefault((project.name, project.county_id, project.city_id), project)
        self.matches = {}
        for index, key in self.keys.items():
            if key is None:
                continue
            named = by_place.get(key[2:])
            if key[0] == "code":
                project = by_code.get(key[1]) or (named if named is not None and not named.code else None)
            else:
                project = named
            if project is not None:
                self.matches[index] = project
        found = {project.pk for project in self.matches.values()}
        self.links = {pk: {kind: set() for kind in LINKS} for pk in found}
        for kind, column in LINKS.items():
            for pk, linked in getattr(Project, kind).through.objects.filter(project_id__in=found).values_list("project_id", column):
                self.links[pk][kind].add(linked)
        self.plans = {plan.project_id: plan for plan in AnnualPlan.objects.filter(project__in=found, year=self.resource.year)}
        self.nodes = {}
        if self.resource.node_kinds:
            for milestone in Milestone.objects.filter(project__in=found):
                self.nodes.setdefault(milestone.project_id, {})[milestone.kind_id] = milestone
        user = self.resource.user
        self.editable = None if user is None else set(
            Project.objects.editable_by(user).filter(pk__in=found).values_list("pk", flat=True))


class ProjectListResource(WorkbookResource):
    """A provincial list's rows as projects. Headings are found by `before_import` (the template's, their
    English aliases, the synonyms real lists use and those the province adds); a column the file does not
    carry leaves the field as it is."""

    code = fields.Field("code", "code", widget=CodeWidget(), saves_null_values=False)  # an empty cell keeps the code
    name = fields.Field("name", "name", widget=TextWidget())
    programmes = StagedField("programmes", "programmes", widget=LinksWidget("programmes"))
    batch = fields.Field("batch", "batch", widget=LookupWidget("batches", "项目", gettext_noop("五个一批类别")))
    stage = fields.Field("stage", "stage", widget=StageWidget())
    city = fields.Field("city", "city", widget=CityWidget())
    county = fields.Field("county", "county", widget=CountyWidget())
    industry = fields.Field("industry", "industry", widget=LookupWidget("industries", "产业", gettext_noop("产业")))
    actions = StagedField("actions", "actions", widget=LinksWidget("actions"))
    owner = fields.Field("owner", "owner", widget=TextWidget())
    scope = fields.Field("scope", "scope", widget=TextWidget())
    period = PeriodField("start_year", "period", widget=PeriodWidget())
    planned_start = fields.Field("planned_start", "planned_start", widget=MonthWidget())
    planned_end = fields.Field("planned_end", "planned_end", widget=MonthWidget())
    total_investment = fields.Field("total_investment", "total_investment", default=Decimal(0),
                                    widget=MoneyWidget(validators=(total_investment_validator,)))
    annual_plan = StagedField("annual_plan", "annual_plan", widget=MoneyWidget())
    completed_before_year = StagedField("completed_before_year", "completed_before_year", widget=MoneyWidget())
    responsible_unit = fields.Field("responsible_unit", "responsible_unit", widget=TextWidget())
    contact = fields.Field("contact", "contact", widget=TextWidget())
    phone = PhoneField("phone", "phone", widget=TextWidget())
    remarks = fields.Field("remarks", "remarks", widget=TextWidget())

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
        return project.plan_investment  # annotated for the export's year (with_progress)

    def dehydrate_completed_before_year(self, project):
        return project.completed_before_year

    # --- The sheet ------------------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        """Find the header row under the titles and notes; keep the known columns of the data rows that
        are not section headings, subtotals or blank, each with its sheet row number."""
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
        missing = [HEADERS[key][0] for key in REQUIRED if key not in columns]
        if missing:
            raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
        self.year = self.year or year_from_titles(head[: columns.index]) or rules.today().year
        self.outcome = ImportResult(year=self.year, unrecognized=columns.headings)
        self.catalogues = Catalogues(year=self.year)
        for field in self.fields.values():
            if isinstance(field.widget, CatalogueWidget):
                field.widget.catalogues = self.catalogues
            if isinstance(field.widget, MoneyWidget):
                field.widget.unit = columns[field.column_name][1] if field.column_name in columns else 1
        keys = [key for key in columns if key in self.fields or key == "seq"]
        positions = [columns[key][0] for key in keys]
        kept, kept_numbers = [], []
        for number, cells in zip(numbers[columns.index + 1 :], dataset[columns.index + 1 :]):
            values = [cells[position] for position in positions]
            if is_passed_over({key: clean_text(value) for key, value in zip(keys, values)}):
                self.outcome.skipped += 1
                continue
            kept.append(values)
            kept_numbers.append(number)
        if "county" not in columns:
            self._refuse_an_unnamed_county_column(columns, dataset[columns.index + 1 :])
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
            name = clean_text(row.get("name"))
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
        if errors:
            self._fail(errors)
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

    # --- Writing in bulk ------------------------------------------------------------------------------

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        creates, self.create_instances = self.create_instances, []
        if creates:
            self._write(creates, created=True, result=result)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        updates, self.update_instances = self.update_instances, []
        if updates:
            self._write(updates, created=False, result=result)

    def _write(self, projects, *, created, result):
        """Write a chunk: projects, links, history, plans; then NetBox's re-check, whatever the file said:
        every project written must be one the user may edit. (Rows after an error are written too, to
        report every row's errors; the transaction is rolled back.)"""
        for project in projects:
            project.set_sort_keys()  # the regions are the catalogue's objects: no query
        if created:
            Project.objects.bulk_create(projects, batch_size=1000)
            if projects[0].pk is None:  # a database without RETURNING: read the keys back
                keys = dict(Project.objects.filter(key__in=[p.key for p in projects]).values_list("key", "pk"))
                for project in projects:
                    project.pk = project.id = keys[project.key]
        else:
            # An upsert on the primary key writes at insert speed; Django's bulk_update builds a CASE per
            # column per row and is as slow as saving one by one.
            changed = self.changed_fields | ({"city_code", "county_code"} if {"city", "county"} & self.changed_fields else set())
            Project.objects.bulk_create(projects, update_conflicts=True, unique_fields=["id"],
                                        update_fields=sorted(changed | {"version", "updated_at"}), batch_size=1000)
        links = self._write_links(projects)
        history = Project.history.bulk_history_create(projects, update=not created, default_user=self.user, batch_size=1000)
        self._write_link_history(projects, history, links)
        self._write_plans(projects)
        self._write_nodes(projects)
        self.written.update((project.pk, project._row_number) for project in projects)
        if self.user is not None:
            pks = [project.pk for project in projects]
            allowed = set(Project.objects.editable_by(self.user).filter(pk__in=pks).values_list("pk", flat=True))
            for project in projects:
                if project.pk not in allowed:
                    result.append_invalid_row(project._row_number, {}, ValidationError({"county": [_("不在您的管辖区域内")]}))

    def _write_links(self, projects):
        """The programme and action links the rows changed; returns every link of the projects, as rows of
        the through tables (what the history rows record)."""
        links = {}
        for kind, column in LINKS.items():
            through = getattr(Project, kind).through
            changed = [project for project in projects if kind in project._links]
            through.objects.filter(project_id__in=[project.pk for project in changed if not project._new]).delete()
            created = through.objects.bulk_create(
                [through(project_id=project.pk, **{column: pk}) for project in changed for pk in project._links[kind]],
                batch_size=5000,
            )
            kept = [project.pk for project in projects if kind not in project._links and project._all_links[kind]]
            links[kind] = created + list(through.objects.filter(project_id__in=kept))
        return links

    def _write_link_history(self, projects, history, links):
        """What simple_history records on each save of a project with m2m_fields: its links at that moment."""
        by_project = {record.id: record for record in history}
        for kind, column in LINKS.items():
            model = apps.get_model("projects", f"HistoricalProject_{kind}")
            model.objects.bulk_create(
                [model(history=by_project[link.project_id], id=link.id, project_id=link.project_id,
                       **{column: getattr(link, column)}) for link in links[kind]],
                batch_size=5000,
            )

    def _write_plans(self, projects):
        new_plans, changed_plans = [], []
        for project in projects:
            if project._plan is None:
                continue
            plan, planned, before = project._plan
            self.planned.add(project.pk)
            if plan is None:
                new_plans.append(AnnualPlan(project_id=project.pk, year=self.year, planned_investment=planned,
                                            completed_before_year=before))
            else:
                plan.planned_investment, plan.completed_before_year = planned, before
                changed_plans.append(plan)
        if new_plans:
            bulk_create_with_history(new_plans, AnnualPlan, default_user=self.user, batch_size=1000)
        if changed_plans:
            AnnualPlan.objects.bulk_create(changed_plans, update_conflicts=True, unique_fields=["id"],
                                           update_fields=["planned_investment", "completed_before_year"], batch_size=1000)
            AnnualPlan.history.bulk_history_create(changed_plans, update=True, default_user=self.user, batch_size=1000)

    def _write_nodes(self, projects):
        new_nodes, changed_nodes = [], []
        for project in projects:
            for kind, milestone, planned in project._nodes:
                if milestone is None:
                    new_nodes.append(Milestone(project_id=project.pk, kind=kind, planned_on=planned))
                else:
                    milestone.planned_on = planned
                    changed_nodes.append(milestone)
        if new_nodes:
            bulk_create_with_history(new_nodes, Milestone, default_user=self.user, batch_size=1000)
        if changed_nodes:
            bulk_update_with_history(changed_nodes, Milestone, ["planned_on"], default_user=self.user, batch_size=1000)

    def after_import(self, dataset, result, **kwargs):
        if not result.has_validation_errors() and self.written:
            lights.lights_refresh(projects=set(self.written) | self.planned)  # stages, starts and plans move lights


# --- The import -----------------------------------------------------------------------------------------


def places_lock(region_ids):
    """Take the imports' place locks (PostgreSQL advisory locks, held until the transaction ends), by
    region id ascending; refuse the file when other imports keep them for longer than
    PLACE_LOCK_WAIT_SECONDS in all. Only imports take them: they order imports among themselves, and
    come before every row lock."""
    deadline = time.monotonic() + PLACE_LOCK_WAIT_SECONDS
    busy = ImportFileError(_("另一个导入正在写入同一地区的项目，本文件未导入任何内容。请稍后再试。"))
    restore = None
    with connection.cursor() as cursor:
        try:
            for region_id in sorted(region_ids):
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [PLACE_LOCK_SPACE, region_id])
                if cursor.fetchone()[0]:
                    continue
                remaining = deadline - time.monotonic()  # another import holds it: wait, within the limit
                if remaining <= 0:
                    raise busy
                if restore is None:
                    cursor.execute("SELECT current_setting('lock_timeout')")
                    (restore,) = cursor.fetchone()
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(remaining * 1000) + 1}ms"])
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PLACE_LOCK_SPACE, region_id])
        except OperationalError as error:
            if _sqlstate(error) != "55P03":  # lock_not_available: the wait ran out
                raise
            raise busy from error
        if restore is not None:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [restore])


def _sqlstate(error):
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


# Errors of writers meeting at once that the locks leave possible (a project code new in two lists of
# different places, or a wait cut short): the file is refused whole, never a 500.
CONCURRENT_SQLSTATES = {"23505", "40P01", "40001", "55P03"}  # unique, deadlock, serialization, lock timeout


def _changed_projects_message(names):
    quoted = _("、").join(f"“{name}”" for name in names[:STALE_NAMED])
    if len(names) > STALE_NAMED:
        quoted = _("%(names)s等 %(count)d 个项目") % {"names": quoted, "count": len(names)}
    return _("预览之后，%(projects)s已被他人修改，本次未导入任何内容。请重新上传文件预览后再确认导入。") % {"projects": quoted}


def import_projects(data, filename, *, user, year=None, dry_run=False, progress=None, preview=None):
    """Import a project list through ProjectListResource. Returns an ImportResult (what commands print and
    previews show); nothing is written when it has errors or for a dry run.

    `preview`: a confirm's preview record (ImportResult.preview_record); if a project the file writes was
    changed since (its version moved) or the file now matches a project the preview did not, nothing is
    written and ImportFileError names them. Two imports of one place run one after the other (places_lock);
    what the locks leave to chance (a code new in two places' lists at once) is refused whole."""
    if user is not None and not user.has_perm("projects.add_project"):
        raise ImportFileError(_("您的角色不能导入项目。"))
    total = count_rows(data, filename) if progress else 0
    dataset = sheet_dataset(data, filename)
    if not len(dataset):
        raise ImportFileError(_("文件中没有数据。"))
    resource = ProjectListResource(user=user, year=year, progress=progress, total=total, preview=preview)
    try:
        with transaction.atomic():  # the whole import, so that a refusal below rolls back what it wrote
            library_result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True)
            for failed in library_result.error_rows:  # not a cell's fault: a step failed; nothing is kept
                raise failed.errors[0].error
            if resource.stale:
                raise ImportFileError(_changed_projects_message(resource.stale))
    except (IntegrityError, OperationalError) as error:
        if _sqlstate(error) not in CONCURRENT_SQLSTATES:
            raise
        raise ImportFileError(
            _("其他人正在同时导入或修改本文件中的项目，本次未导入任何内容。请稍后重新上传文件预览后再确认导入。")
        ) from error
    result = resource.outcome
    for invalid in library_result.invalid_rows:
        for key, messages in invalid.error_dict.items():
            result.errors.extend(RowError(invalid.number, resource.headings.get(key, key), message)
                                 for message in messages)
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        result.clear_rows()
    elif not dry_run:
        versions.data_changed()
    return result


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
    # The province's project nodes are optional columns: a planned date each.
    nodes = [f"{kind.name}计划日期" for kind in MilestoneKind.objects.filter(is_active=True)]
    headers = ["序号"] + [header for header, _alias in EXPORT_COLUMNS] + nodes
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
