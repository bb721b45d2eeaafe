"""django-import-export resources for the tables the province keeps beside the project list: accounts and
catalogues. Cells are read by this package's reader (formats.py) and parsed by these widgets; headings
are the Chinese column names people see in the admin (verbose names)."""

import itertools
from functools import partial

import tablib
from django.conf import settings
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.results import Result

from actions.models import Action, ActionPlan, Measure, Target
from projects.accounts.services import accounts_opened, user_set_role
from projects.domain.access import ROLE_GROUP_NAMES
from projects.domain.choices import Role
from projects.importing.catalogues import Regions
from projects.importing.headers import HEADER_SEARCH_ROWS
from projects.importing.reading import clean_text, iter_rows
from projects.importing.results import ImportFileError
from projects.importing.widgets import TextWidget
from projects.models import AnnualPlan, Batch, Cluster, Industry, MonthlyReport, Problem, Programme, Region, User


class RegionWidget(widgets.ForeignKeyWidget):
    """A division by its code (130123) or its name as people write it (正定县, 正定, 石家庄市), read by the
    list import's own region reader (catalogues.Regions), loaded once per import."""

    def __init__(self, **kwargs):
        super().__init__(Region, field="code", **kwargs)
        self.regions = None  # a resource's fields are its own copies: this lives for one import

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return None
        if self.regions is None:
            self.regions = Regions(list(Region.objects.all()))
        return self.regions.division(text)


class NamedWidget(widgets.ForeignKeyWidget):
    """A catalogue row by its name, as people write it (the table loaded once per import; a name not in it
    is looked up, since an earlier row of the file may have created it)."""

    def __init__(self, model, **kwargs):
        super().__init__(model, field="name", **kwargs)
        self.by_name = None

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return None
        if self.by_name is None:
            self.by_name = {item.name: item for item in self.model.objects.all()}
        # A row of this same file may have created it (a parent industry listed before its children).
        found = self.by_name.get(text) or self.model.objects.filter(name=text).first()
        if found is None:
            raise ValueError(_("未知的%(what)s“%(value)s”") % {"what": self.model._meta.verbose_name, "value": text})
        return found


class YesNoWidget(widgets.BooleanWidget):
    """是 / 否 as people write them (and the usual 1 / 0, TRUE / FALSE)."""

    TRUE_VALUES = [*widgets.BooleanWidget.TRUE_VALUES, "是"]
    FALSE_VALUES = [*widgets.BooleanWidget.FALSE_VALUES, "否"]

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else ("是" if value else "否")


class ActionWidget(widgets.ForeignKeyWidget):
    """An action by its number within the plan named by the row's 行动方案 column (its code), else the
    default plan's: how the action tables refer to the eight actions."""

    def __init__(self, **kwargs):
        super().__init__(Action, field="number", **kwargs)

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return None
        plan_code = clean_text((row or {}).get(PLAN_COLUMN))
        plans = ActionPlan.objects.filter(code=plan_code) if plan_code else ActionPlan.objects.filter(is_primary=True)
        action = Action.objects.filter(plan__in=plans, number=text).first() if text.isdigit() else None
        if action is None:
            raise ValueError(_("未知的专项行动“%(value)s”") % {"value": text})
        return action


class ChoiceWidget(widgets.Widget):
    """A choice by its label as people read it (续建, 已解决) or its stored value; written as the label."""

    def __init__(self, choices=(), **kwargs):
        super().__init__(**kwargs)
        self.choices = list(choices)

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return ""
        for stored, label in self.choices:
            if text in (stored, str(label)):
                return stored
        raise ValueError(_("“%(value)s”不是可选的值（%(labels)s）") % {
            "value": text, "labels": "、".join(str(label) for _stored, label in self.choices)})

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


class SheetRowsResult(Result):
    """An import's result whose errors name the row of the sheet (as the list import's do), not the row's
    place among the data rows."""

    def __init__(self, sheet_rows=None):
        super().__init__()
        self.sheet_rows = sheet_rows or []

    def sheet_row(self, number):
        return self.sheet_rows[number - 1] if 0 < number <= len(self.sheet_rows) else number

    def row_errors(self):
        return [(self.sheet_row(number), errors) for number, errors in super().row_errors()]

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(self.sheet_row(number), row, validation_error)


def sheet_dataset(data, filename):
    """The first sheet's rows as they are (titles, notes, header, data), each with its sheet row number
    (`dataset.sheet_rows`): what ProjectListResource.before_import reads. Cells beyond the widest of the
    first rows (where the header is) have no heading and are not kept."""
    rows = iter_rows(data, filename)
    head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    width = max((len(cells) for _number, cells in head), default=0)
    dataset, numbers = tablib.Dataset(), []
    for number, cells in itertools.chain(head, rows):
        if number > settings.IMPORT_MAX_ROWS:
            raise ImportFileError(_("文件超过 %(limit)d 行的上限。") % {"limit": settings.IMPORT_MAX_ROWS})
        cells = list(cells[:width])
        dataset.append(cells + [None] * (width - len(cells)))
        numbers.append(number)
    dataset.sheet_rows = numbers
    return dataset


class CountedRowsResult(SheetRowsResult):
    """A result that counts rows instead of keeping one object per row: the provincial list's resources
    keep what their preview shows themselves (a capped list), so 50,000 rows cost no more memory than 500."""

    def append_row_result(self, row_result):
        pass


class WorkbookResource(resources.ModelResource):
    """What the provincial list's and the progress workbook's resources share: errors by sheet row, rows
    counted rather than kept, all or nothing (validation errors roll back too), and a file-level error or
    a failed write stops the whole import instead of becoming a line of the result."""

    def import_data(self, dataset, *args, **kwargs):
        self.sheet_rows = dataset.sheet_rows  # what sheet_dataset read; before_import narrows it to data rows
        return super().import_data(dataset, *args, rollback_on_validation_errors=True, **kwargs)

    def get_result_class(self):
        return lambda: CountedRowsResult(self.sheet_rows)

    def handle_import_error(self, result, error, raise_errors=False):
        raise error


class ProvinceResource(resources.ModelResource):
    """What every table's resource shares: Chinese headings (the fields' verbose names), unchanged rows
    not written, all rows or none, errors by sheet row."""

    class Meta:
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def import_data(self, dataset, *args, **kwargs):
        self.sheet_rows = getattr(dataset, "sheet_rows", None)  # what our formats read (formats.py)
        return super().import_data(dataset, *args, **kwargs)

    def get_result_class(self):
        return partial(SheetRowsResult, getattr(self, "sheet_rows", None))

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        if f.choices:
            return ChoiceWidget
        widget = super().widget_from_django_field(f, default)
        return TextWidget if widget is widgets.CharWidget else widget  # every text cell read alike

    @classmethod
    def widget_kwargs_for_field(cls, field_name, django_field):
        if django_field.choices:
            return {"choices": django_field.choices}
        return super().widget_kwargs_for_field(field_name, django_field)

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        field = super().field_from_django_field(field_name, django_field, readonly)
        field.column_name = str(django_field.verbose_name)
        return field


def _role_of(text):
    """省级管理员 / province_admin / Role's label → Role."""
    wanted = clean_text(text)
    if wanted is None:
        return None
    for role in Role:
        if wanted in (role.value, str(role.label), ROLE_GROUP_NAMES[role]):
            return role
    raise ValueError(_("未知的角色“%(value)s”（可填：%(roles)s）") % {"value": wanted, "roles": "、".join(ROLE_GROUP_NAMES.values())})


class RoleField(fields.Field):
    """The account's role (one role group). Kept on the instance until it is saved, then set as groups."""

    def get_value(self, obj):
        if hasattr(obj, "_imported_role"):
            return obj._imported_role
        return obj.role if obj.pk else None

    def save(self, instance, row, is_m2m=False, **kwargs):
        instance._imported_role = _role_of(row.get(self.column_name))

    def export(self, instance, **kwargs):
        role = self.get_value(instance)
        return ROLE_GROUP_NAMES[role] if role else ""


class UserResource(ProvinceResource):
    """Accounts by username. A new account gets no usable password: its owner sets one through the link
    the account-opened mail carries (services.accounts_opened), sent once the import is committed."""

    username = fields.Field(attribute="username", column_name=str(User._meta.get_field("username").verbose_name), widget=TextWidget())
    name = fields.Field(attribute="first_name", column_name=_("姓名或单位"), widget=TextWidget())
    email = fields.Field(attribute="email", column_name=_("电子邮箱"), widget=TextWidget())
    phone = fields.Field(attribute="phone", column_name=str(User._meta.get_field("phone").verbose_name), widget=TextWidget())
    region = fields.Field(attribute="region", column_name=str(User._meta.get_field("region").verbose_name), widget=RegionWidget())
    role = RoleField(attribute="_imported_role", column_name=_("角色"))

    class Meta:
        model = User
        fields = ("username", "name", "email", "phone", "region", "role")
        import_id_fields = ("username",)

    def __init__(self, *, enqueue=None, **kwargs):
        super().__init__(**kwargs)
        self.enqueue = enqueue
        self.opened = []

    def get_queryset(self):
        return User.objects.prefetch_related("groups")

    def before_import_row(self, row, **kwargs):
        if not clean_text(row.get(self.fields["username"].column_name)):
            raise ValueError(_("“%(column)s”必填") % {"column": self.fields["username"].column_name})

    def before_save_instance(self, instance, row, **kwargs):
        instance.is_staff = True  # every user of this tracker works in the admin
        if instance.pk is None:
            instance.set_unusable_password()
            self.opened.append(instance)

    def after_save_instance(self, instance, row, **kwargs):
        if hasattr(instance, "_imported_role") and instance._imported_role != instance.role:
            user_set_role(user=instance, role=instance._imported_role)

    def after_import(self, dataset, result, **kwargs):
        if not kwargs.get("dry_run") and not result.has_errors() and not result.has_validation_errors() and self.enqueue:
            accounts_opened(self.opened, enqueue=self.enqueue)


def _column(model, name):
    return str(model._meta.get_field(name).verbose_name)


class ProgrammeResource(ProvinceResource):
    class Meta:
        model = Programme
        fields = ("code", "name", "name_en", "order")
        import_id_fields = ("code",)


class BatchResource(ProvinceResource):
    class Meta:
        model = Batch
        fields = ("code", "name", "name_en", "order")
        import_id_fields = ("code",)


class IndustryResource(ProvinceResource):
    parent = fields.Field(attribute="parent", column_name=_column(Industry, "parent"), widget=NamedWidget(Industry))

    class Meta:
        model = Industry
        fields = ("name", "name_en", "parent", "category", "order")
        import_id_fields = ("name",)


class ClusterResource(ProvinceResource):
    county = fields.Field(attribute="county", column_name=_column(Cluster, "county"), widget=RegionWidget())
    industry = fields.Field(attribute="industry", column_name=_column(Cluster, "industry"), widget=NamedWidget(Industry))

    class Meta:
        model = Cluster
        fields = ("name", "county", "industry", "description")
        import_id_fields = ("name",)


class RegionResource(ProvinceResource):
    """The divisions' own settings (thresholds of the traffic light). The divisions themselves come from
    the official list (load_reference_data): an import updates them, it never creates or renames one."""

    name = fields.Field(attribute="name", column_name=_column(Region, "name"), readonly=True)
    level = fields.Field(attribute="level", column_name=_column(Region, "level"), readonly=True,
                         widget=ChoiceWidget(Region._meta.get_field("level").choices))

    class Meta:
        model = Region
        fields = ("code", "name", "level", "yellow_lag", "red_lag")
        import_id_fields = ("code",)

    def init_instance(self, row=None):
        code = (row or {}).get(self.fields["code"].column_name)
        raise ValueError(_("区划代码“%(value)s”不存在：导入只能修改已有区划的设置") % {"value": code})


PLAN_COLUMN = _column(Action, "plan")


class ActionPlanResource(ProvinceResource):
    is_primary = fields.Field(attribute="is_primary", column_name=_column(ActionPlan, "is_primary"), widget=YesNoWidget())

    class Meta:
        model = ActionPlan
        fields = ("code", "name", "name_en", "start_year", "end_year", "is_primary", "source")
        import_id_fields = ("code",)


class ActionResource(ProvinceResource):
    plan = fields.Field(attribute="plan", column_name=PLAN_COLUMN, widget=widgets.ForeignKeyWidget(ActionPlan, field="code"))

    class Meta:
        model = Action
        fields = ("plan", "number", "name", "name_en", "summary")
        import_id_fields = ("plan", "number")


class ActionPartResource(ProvinceResource):
    """Measures and targets: their action by plan code (行动方案) and number (专项行动)."""

    plan = fields.Field(attribute="action__plan__code", column_name=PLAN_COLUMN, readonly=True)
    action = fields.Field(attribute="action", column_name=_column(Measure, "action"), widget=ActionWidget())


class MeasureResource(ActionPartResource):
    class Meta:
        model = Measure
        fields = ("plan", "action", "number", "title", "title_en", "text")
        import_id_fields = ("action", "number")


class TargetResource(ActionPartResource):
    class Meta:
        model = Target
        fields = ("plan", "action", "indicator", "value", "unit", "year")
        import_id_fields = ("action", "indicator", "year")


class ProjectPartResource(ProvinceResource):
    """Plans and problems, exported with their project as people know it (code, name, county). They change
    through the project page (which holds its lock) and the provincial list: the admin lists them read-only."""

    project_code = fields.Field(attribute="project__code", column_name=_("项目代码"), readonly=True)
    project_name = fields.Field(attribute="project__name", column_name=_("项目名称"), readonly=True)
    county = fields.Field(attribute="project__county__name", column_name=_("所属县（市、区）"), readonly=True)


class AnnualPlanResource(ProjectPartResource):
    class Meta:
        model = AnnualPlan
        fields = ("project_code", "project_name", "county", "year", "planned_investment", "completed_before_year",
                  "completed_investment")


class MonthlyReportResource(ProjectPartResource):
    """Export only: reports are imported as the progress workbook (progress.ProgressResource), through the
    report service and its checks."""

    class Meta:
        model = MonthlyReport
        fields = ("project_code", "project_name", "county", "month", "completed_investment", "image_progress", "note",
                  "review_status", "reported_at")


class ProblemResource(ProjectPartResource):
    class Meta:
        model = Problem
        fields = ("project_code", "project_name", "county", "category", "description", "responsible_unit", "raised_on",
                  "status", "resolution", "resolved_on")
