"""Projects and their yearly plans."""

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.domain.access import can_edit_projects, project_scope_q
from projects.domain.choices import RegionLevel, Stage, Status
from projects.domain.figures import money_constraints, total_investment_validator
from projects.domain.names import normalize_name
from projects.models.catalogue import Batch, Cluster, Industry, Programme, Region, money_field
from projects.models.investment import InvestmentLifecycle

PROJECT_CODE_RE = re.compile(r"^(?P<year>\d{4})-(?P<division>\d{6})-(?P<dept>\d{2})-(?P<type>\d{2})-(?P<serial>[0-9A-Z]{6})$")


def normalize_project_code(value):
    """A code is stored exactly as given, only trimmed and upper-cased (SPEC §2)."""
    return (value or "").strip().upper()


def validate_project_code(value, known_division=None):
    """Shape of GB/T 40058-2021 and, for a Hebei issuer, a known division; never the check character.

    `known_division(code) -> bool` answers from memory for bulk callers; by default it asks the database.
    """
    known_division = known_division or (lambda code: Region.objects.filter(code=code).exists())
    match = PROJECT_CODE_RE.match(value)
    if not match:
        raise ValidationError(
            _("项目代码“%(code)s”格式不正确，应为“年份-区划代码-部门代码-类型代码-6位序号”，如 2023-130100-26-03-012345。"),
            code="invalid_shape",
            params={"code": value},
        )
    division = match["division"]
    if division.startswith("13") and not known_division(division):
        raise ValidationError(
            _("项目代码“%(code)s”中的区划代码 %(division)s 不是河北省的有效区划。"),
            code="unknown_division",
            params={"code": value, "division": division},
        )


def new_project_key():
    """A stable key for every project, including preparatory ones that have no national code yet."""
    return "HB" + secrets.token_hex(5).upper()


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one rule for what a user may see: everything within their region (see domain/access.py)."""
        return self.filter(project_scope_q(user))

    def editable_by(self, user, *, may_edit=None):
        """The projects `user` may edit; `may_edit`: whether they hold the permission, when the caller read it."""
        may_edit = can_edit_projects(user) if may_edit is None else may_edit
        return self.visible_to(user) if may_edit else self.none()


# The order projects are listed in everywhere: by city and county code (stored on the project, so one index,
# projects_default_order, serves it), then name; the key last, since names repeat and pages must be stable.
PROJECT_ORDER = ["city_code", "county_code", "name", "id"]
# Where a project lies in a list chosen by place alone (ProjectFilterSet.counts_by_place(ordered=True)): its region, the
# columns such a list is ordered by (PROJECT_ORDER, ProjectFilterSet.PLACE_SORTS) and those its search reads
# (ProjectFilterSet.SEARCH_FIELDS). A save changing one moves the places' version (projects.signals).
PLACING_FIELDS = ("city_id", "county_id", "city_code", "county_code", "name", "code", "stage", "total_investment",
                  "key", "owner", "investor")


class Project(InvestmentLifecycle, models.Model):
    """A key investment project: one row of the provincial list template (SPEC §5); an investment-promotion
    item also has its lifecycle (InvestmentLifecycle, issue 25)."""

    key = models.CharField(
        verbose_name=_("项目编号"),
        max_length=20,
        unique=True,
        default=new_project_key,
        editable=False,
        help_text=_("系统编号，项目无国家项目代码时也唯一且不变。"),
    )
    code = models.CharField(
        verbose_name=_("项目代码"),
        max_length=40,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_project_code],
        help_text=_("全国投资项目在线审批监管平台赋予的24位代码；前期项目可暂缺。"),
    )
    name = models.CharField(
        verbose_name=_("项目名称"),
        max_length=200,
    )
    programmes = models.ManyToManyField(
        Programme,
        verbose_name=_("项目类别"),
        related_name="projects",
        blank=True,
    )
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("五个一批"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="projects",
    )
    stage = models.CharField(
        verbose_name=_("建设阶段"),
        max_length=20,
        choices=Stage.choices,
        default=Stage.PREPARATORY,
    )
    status = models.CharField(
        verbose_name=_("推进状态"),
        max_length=20,
        choices=Status.choices,
        default=Status.NORMAL,
    )
    city = models.ForeignKey(
        Region,
        verbose_name=_("所属市"),
        on_delete=models.PROTECT,
        related_name="city_projects",
        help_text=_("市级单位，含雄安新区、定州市、辛集市。"),
    )
    county = models.ForeignKey(
        Region,
        verbose_name=_("所属县（市、区）"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="county_projects",
        limit_choices_to={"level": RegionLevel.COUNTY},
    )
    industry = models.ForeignKey(
        Industry,
        verbose_name=_("所属产业"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="projects",
    )
    actions = models.ManyToManyField(
        "actions.Action",
        verbose_name=_("八项行动"),
        related_name="projects",
        blank=True,
    )
    cluster = models.ForeignKey(
        Cluster,
        verbose_name=_("县域特色产业集群"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="projects",
    )
    owner = models.CharField(
        verbose_name=_("项目单位"),
        max_length=200,
        blank=True,
    )
    scope = models.TextField(
        verbose_name=_("建设规模及主要内容"),
        blank=True,
    )
    start_year = models.PositiveSmallIntegerField(
        verbose_name=_("建设起始年份"),
        null=True,
        blank=True,
    )
    end_year = models.PositiveSmallIntegerField(
        verbose_name=_("建设结束年份"),
        null=True,
        blank=True,
    )
    planned_start = models.DateField(
        verbose_name=_("计划开工"),
        null=True,
        blank=True,
    )
    planned_end = models.DateField(
        verbose_name=_("计划竣工"),
        null=True,
        blank=True,
    )
    actual_start = models.DateField(
        verbose_name=_("实际开工"),
        null=True,
        blank=True,
    )
    actual_end = models.DateField(
        verbose_name=_("实际竣工"),
        null=True,
        blank=True,
    )
    total_investment = money_field(
        _("总投资（万元）"),
        validators=[total_investment_validator],
        default=0,
    )
    responsible_unit = models.CharField(
        verbose_name=_("责任单位"),
        max_length=200,
        blank=True,
    )
    # 包联领导: the leader who "contracts" the project sees it, its supervision items and a digest section,
    # whatever their region; or, for a leader without an account, a name and title to show.
    contracting_leader = models.ForeignKey(
        "projects.User",
        verbose_name=_("包联领导"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracted_projects",
        limit_choices_to={"groups__name": "领导（只读）"},
    )
    contracting_leader_name = models.CharField(
        verbose_name=_("包联领导（姓名、职务）"),
        max_length=100,
        blank=True,
        help_text=_("包联领导没有账号时填写，如“张三 副市长”。"),
    )
    contact = models.CharField(
        verbose_name=_("联系人"),
        max_length=50,
        blank=True,
    )
    phone = models.CharField(
        verbose_name=_("联系电话"),
        max_length=50,
        blank=True,
    )
    remarks = models.TextField(
        verbose_name=_("备注"),
        blank=True,
    )
    latitude = models.DecimalField(
        verbose_name=_("纬度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
    )
    longitude = models.DecimalField(
        verbose_name=_("经度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
    )
    # Kept by shared.editing.progress_refresh from the monthly reports, so lists can judge lights in plain SQL.
    last_report_month = models.DateField(
        verbose_name=_("最近填报月份"),
        null=True,
        blank=True,
        editable=False,
    )
    # The default order's keys, copied from the city's and county's codes (set_sort_keys), so that one
    # index serves the list's order without joining the regions (issue 10).
    city_code = models.CharField(
        verbose_name=_("所属市代码"),
        max_length=6,
        blank=True,
        editable=False,
    )
    county_code = models.CharField(
        verbose_name=_("所属县代码"),
        max_length=6,
        blank=True,
        editable=False,
    )
    # Today's traffic light for the current year, kept by lights.lights_refresh on every write that can
    # change it and each morning (time progress moves daily), so that lists filter, count and sort by an
    # indexed column; read only while every project's was judged today (lights.stored_lights_fresh),
    # else evaluated as before.
    current_light_reason = models.CharField(
        verbose_name=_("红黄绿灯原因"),
        max_length=20,
        blank=True,
        editable=False,
    )
    current_light_on = models.DateField(
        verbose_name=_("红黄绿灯评定日"),
        null=True,
        blank=True,
        editable=False,
    )
    # The rule settings the stored light was judged under (rules.light_rules_fingerprint): a light judged
    # under other thresholds or deadlines is not read, whatever its day.
    current_light_rules = models.CharField(
        verbose_name=_("红黄绿灯评定规则"),
        max_length=16,
        blank=True,
        editable=False,
    )
    # Optimistic lock: every save through a form must name the version it started from (issue #2, item 9).
    version = models.PositiveIntegerField(
        verbose_name=_("版本"),
        default=1,
    )
    created_at = models.DateTimeField(
        verbose_name=_("创建时间"),
        auto_now_add=True,
    )
    updated_at = models.DateTimeField(
        verbose_name=_("更新时间"),
        auto_now=True,
    )

    history = HistoricalRecords(
        m2m_fields=[programmes, actions],
        excluded_fields=["updated_at", "version", "last_report_month", "city_code", "county_code", "current_light_reason",
                         "current_light_on", "current_light_rules", "investment_stage"],
    )
    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("项目")
        verbose_name_plural = _("项目")
        ordering = PROJECT_ORDER
        indexes = [
            models.Index(fields=["city", "county"]),
            models.Index(fields=["county", "name"]),
            models.Index(fields=["city_code", "county_code", "name", "id"], name="projects_default_order"),
            # A city's and a county's list in the default order, read from the first entry on (a unit whose
            # code sorts last, 雄安 and its counties, no longer reads the whole default order first).
            models.Index(fields=["city", "city_code", "county_code", "name", "id"], name="projects_city_order"),
            models.Index(fields=["county", "city_code", "county_code", "name", "id"], name="projects_county_order"),
            # The list's sorts (ProjectFilterSet's `sort` the list's headers offer): each sorts by its column and
            # then in the default order, reversed as a whole when descending, so one index read forwards or
            # backwards serves both directions, page 1 and a deep page's keys alike.
            models.Index(fields=["current_light_reason", "city_code", "county_code", "name", "id"], name="projects_light_order"),
            models.Index(fields=["total_investment", "city_code", "county_code", "name", "id"], name="projects_investment_order"),
            models.Index(fields=["stage", "city_code", "county_code", "name", "id"], name="projects_stage_order"),
            models.Index(fields=["name", "city_code", "county_code", "id"], name="projects_name_order"),
            models.Index(fields=["code", "city_code", "county_code", "name", "id"], name="projects_code_order"),
            # The county sort: the province's, and a city's and a county's, each an index range (read in the province's
            # order and filtered, a county whose code sorts last was found after all the others: 48 ms).
            models.Index(fields=["county_code", "city_code", "name", "id"], name="projects_county_code_order"),
            models.Index(fields=["city", "county_code", "city_code", "name", "id"], name="projects_city_county_code"),
            models.Index(fields=["county", "county_code", "city_code", "name", "id"], name="projects_county_county_code"),
            models.Index(fields=["current_light_on"], name="projects_light_day"),
            models.Index(fields=["current_light_rules"], name="projects_light_rules"),
            # 招商引资 items by stage and signing date (the list's filters, the dashboard's card: issue 25).
            models.Index(fields=["investment_stage", "signed_on"], name="projects_investment_stage"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_year__isnull=True)
                | models.Q(end_year__isnull=True)
                | models.Q(start_year__lte=models.F("end_year")),
                name="projects_period_ordered",
            ),
            *money_constraints("projects_project", "total_investment", "contract_amount"),
        ]

    def __str__(self):
        return self.name

    def set_sort_keys(self):
        """The codes the default order sorts by, from the project's city and county (loaded or cached)."""
        self.city_code = self.city.code if self.city_id else ""
        self.county_code = self.county.code if self.county_id else ""

    def save(self, *args, **kwargs):
        self.name = normalize_name(self.name)  # whatever path typed it: as the imports store and match it
        self.set_sort_keys()
        self.derive_investor_source()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"city", "county"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "city_code", "county_code"}
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None):
        # Normalise before the validators see the code and the name.
        self.name = normalize_name(self.name)
        if self.code is not None:
            self.code = normalize_project_code(self.code) or None
        super().clean_fields(exclude=exclude)

    def clean(self):
        errors = {}
        if self.county_id:
            county = self.county
            if county.level != RegionLevel.COUNTY:
                errors["county"] = _("“%(name)s”不是县级区划。") % {"name": county.name}
            elif self.city_id and self.city_id not in (county.reporting_city_id, county.parent_id):
                errors["county"] = _("“%(county)s”不属于“%(city)s”。") % {"county": county.name, "city": self.city.name}
            else:
                # Lists write 容城县 under 保定市 or under 雄安新区; both are right, we keep the reporting unit.
                self.city = county.reporting_city
        if self.city_id and not self.city.is_city_level:
            errors["city"] = _("“%(name)s”不是市级单位。") % {"name": self.city.name}
        if self.planned_start and self.planned_end and self.planned_start > self.planned_end:
            errors["planned_end"] = _("计划竣工时间早于计划开工时间。")
        if self.start_year and self.end_year and self.start_year > self.end_year:
            errors["end_year"] = _("建设结束年份早于起始年份。")
        errors.update(self.clean_investment())
        self.derive_investor_source()
        if errors:
            raise ValidationError(errors)

    @property
    def period(self):
        if self.start_year and self.end_year:
            return f"{self.start_year}-{self.end_year}"
        return str(self.start_year or self.end_year or "")


class ProjectChildQuerySet(models.QuerySet):
    """Plans, reports and problems are visible exactly when their project is."""

    def visible_to(self, user):
        return self.filter(project_scope_q(user, "project__"))


class AnnualPlan(models.Model):
    """A project's plan for one year: planned investment and what was completed before that year."""

    project = models.ForeignKey(
        Project,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="plans",
    )
    year = models.PositiveSmallIntegerField(
        verbose_name=_("年度"),
    )
    planned_investment = money_field(
        _("年度计划投资（万元）"),
    )
    completed_before_year = money_field(
        _("截至上年底累计完成投资（万元）"),
        default=0,
    )
    # The year's monthly reports added up by shared.editing.progress_refresh; never typed in.
    completed_investment = money_field(
        _("本年累计完成投资（万元）"),
        default=0,
        editable=False,
    )
    # Funds in place (实际到位资金) the year's reports add up to, beside completed investment (issue 25).
    funds_in_place = money_field(
        _("本年累计实际到位资金（万元）"),
        default=0,
        editable=False,
    )

    history = HistoricalRecords(excluded_fields=["completed_investment", "funds_in_place"])
    objects = ProjectChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("年度计划")
        verbose_name_plural = _("年度计划")
        ordering = ["project", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["project", "year"], name="projects_plan_unique_year"),
            *money_constraints("projects_plan", "planned_investment", "completed_before_year", "completed_investment",
                               "funds_in_place"),
        ]

    def __str__(self):
        return f"{self.year}"


class MonthLight(models.Model):
    """A project's light as it stood at a month's end: the light stored on the month's last judged day, kept by the
    next month's first full refresh (shared.lights.keep_month_lights) before it judges anew. A past month's red and
    yellow counts (环比/同比) read it: evaluated again later, the light would be judged with today's completion."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="month_lights")
    month = models.DateField(verbose_name=_("月份"))  # its first day
    light_reason = models.CharField(verbose_name=_("红黄绿灯原因"), max_length=20)
    judged_on = models.DateField(verbose_name=_("红黄绿灯评定日"))

    class Meta:
        verbose_name = _("月末红黄绿灯")
        verbose_name_plural = _("月末红黄绿灯")
        constraints = [models.UniqueConstraint(fields=["project", "month"], name="projects_month_light_unique")]

    def __str__(self):
        return f"{self.project_id} {self.month:%Y-%m} {self.light_reason}"
