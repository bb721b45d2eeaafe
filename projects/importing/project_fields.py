"""The project list's own import-export fields and its instance loader (SPEC §5), used by the list's
resource (project_list.py). The fields are those a plain `fields.Field` cannot be: 建设起止年限, one column
setting two of the model's fields; a contact number that a masked export value (138****5678) never
overwrites; and the columns kept on the instance until the bulk steps (project_writes.py) write them
elsewhere (links, the annual plan, node dates); and the investment-promotion block (招商引资, issue 25), whose
fields `investment_fields()` makes for each resource. The loader finds the project each row names a window of
rows at a time, with their links, this year's plans, their nodes and which of them the user may edit. The
few constants the resource and its bulk steps share with the loader live here, below them all.
"""

from import_export import fields
from import_export.instance_loaders import BaseInstanceLoader

from projects.domain.access import phone_is_masked
from projects.domain.choices import InvestorSource
from projects.domain.figures import contract_amount_validator
from projects.domain.investment import investor_source_from, investor_source_of
from projects.importing.reading import clean_text
from projects.importing.resources import ChoiceWidget
from projects.importing.widgets import MoneyWidget, MonthWidget, TextWidget
from projects.models import AnnualPlan, Milestone, Project

RELATIONS = ("batch", "city", "county", "industry")
LINKS = {"programmes": "programme_id", "actions": "action_id"}
# Rows whose projects the loader fetches at once, and projects written per bulk step.
IMPORT_CHUNK_ROWS = 2000


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


class InvestorSourceField(fields.Field):
    """投资方来源 (京津 / 省内 / 省外 / 境外, or its code). A blank cell keeps a chosen source, else takes the
    one the investor's region says (the row's 投资方所在地, else the stored one)."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        try:
            source = self.clean(row, **kwargs)
        except ValueError:
            # A place written where the source goes (北京, 香港): the source it says, else the error.
            source = investor_source_of(clean_text(row.get(self.column_name)))
            if not source:
                raise
        if not source:
            region = clean_text(row.get("investor_region")) or instance.investor_region
            source = instance.investor_source or investor_source_from(region=region, investor=instance.investor)
        instance.investor_source = source


class InvestorRegionField(fields.Field):
    """投资方所在地; without a 投资方来源 column, the source follows it while none was chosen."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        super().save(instance, row, is_m2m, **kwargs)
        if "investor_source" not in row and not instance.investor_source:
            instance.investor_source = investor_source_from(region=instance.investor_region, investor=instance.investor)


class InvestorField(fields.Field):
    """投资方; without a 投资方来源 or 投资方所在地 column, the source follows the name's place while none was
    chosen (北京某集团 → 京津)."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        super().save(instance, row, is_m2m, **kwargs)
        if not ({"investor_source", "investor_region"} & set(row)) and not instance.investor_source:
            instance.investor_source = investor_source_from(region=instance.investor_region, investor=instance.investor)


class AmountField(fields.Field):
    """An optional amount: a number in the workbook, a blank cell for none."""

    def export(self, instance, **kwargs):
        return getattr(instance, self.attribute)


# The investment-promotion block's columns (domain.template.INVESTMENT_COLUMNS): the project's fields they
# set, compared by the list import to tell an updated row from an unchanged one.
INVESTMENT_ATTRIBUTES = ("investor", "investor_region", "investor_source", "signed_on", "signing_event",
                         "contract_amount", "registered_on", "actual_start", "production_on", "terminated_on")


def investment_fields():
    """The block's fields, new for each resource (widgets hold per-import state: the amount's unit)."""
    text, date = TextWidget, MonthWidget
    return {
        "investor": InvestorField("investor", "investor", widget=text()),
        "investor_region": InvestorRegionField("investor_region", "investor_region", widget=text()),
        "investor_source": InvestorSourceField("investor_source", "investor_source",
                                               widget=ChoiceWidget(InvestorSource.choices)),
        "signed_on": fields.Field("signed_on", "signed_on", widget=date()),
        "signing_event": fields.Field("signing_event", "signing_event", widget=text()),
        "contract_amount": AmountField("contract_amount", "contract_amount",
                                       widget=MoneyWidget(validators=(contract_amount_validator,))),
        "registered_on": fields.Field("registered_on", "registered_on", widget=date()),
        "actual_start": fields.Field("actual_start", "actual_start", widget=date()),
        "production_on": fields.Field("production_on", "production_on", widget=date()),
        "terminated_on": fields.Field("terminated_on", "terminated_on", widget=date()),
    }


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
