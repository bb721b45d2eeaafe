"""What the API shows and takes. Amounts are decimal strings in 万元, dates ISO, and every code of a choice
comes with its Chinese label (`stage` and `stage_display`). Nothing here decides: writes go through the
services (dispatch.reports.reports_submit) and reads through the summaries the pages use."""

import copy
import hashlib
import json

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from actions.models import Action, ActionPlan, Measure, Target
from projects.domain import rules
from projects.domain.access import may_edit_project, phone_shown
from projects.domain.figures import MONEY_MAX_DIGITS, SUM_DIGITS, money_validator
from projects.models import (
    AnnualPlan,
    Batch,
    Cluster,
    Industry,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
    SupervisionItem,
    SupervisionStep,
)
from projects.shared.kept_rows import kept_rows
from projects.shared.links import project_links

MONEY = {"max_digits": 18, "decimal_places": 2}


class ChoiceLabelField(serializers.CharField):
    """The label of a model field's choice (`source` names the field) in the reader's language. DRF's
    source="get_FOO_display" inspects the method's signature on every row and each label is translated anew: two
    fifths of serialising 1,000 projects (issue 24). Here a field's labels are translated once per language."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)
        self._labels = {}

    def to_representation(self, value):
        language = get_language()
        labels = self._labels.get(language)
        if labels is None:
            choices = self.parent.Meta.model._meta.get_field(self.source).flatchoices
            labels = self._labels[language] = {key: str(label) for key, label in choices}
        return labels.get(value, value)


class RegionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name"]


class ActionRefSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Action
        fields = ["id", "plan", "number", "name"]


@extend_schema_field({"type": "string"})
class ProgrammeNames(serializers.SlugRelatedField):
    """A project's programmes by name, from the list the view gives each project (programme_list): the schema names
    their type, which it cannot find along that source on the model."""


class KeptProjectRows(serializers.ListSerializer):
    """A page of projects serialised a row at a time from the cache (kept_rows): after a write in the caller's scope
    its page is read anew, and serialising 100 rows cost twice reading them, though most were what they were."""

    def to_representation(self, data):
        rows = list(data.all() if hasattr(data, "all") else data)
        return kept_rows(("api", type(self.child).__name__), rows, self.child.to_representation)


class ProjectSerializer(serializers.ModelSerializer):
    """A project of the list, with the selected year's plan, completion and traffic light."""

    stage_display = ChoiceLabelField(source="stage")
    status_display = ChoiceLabelField(source="status")
    city = RegionRefSerializer(read_only=True)
    county = RegionRefSerializer(read_only=True, allow_null=True)
    batch = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    industry = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    # Given by the view with each project (api.project_pages.with_catalogue_lists), not prefetched per link.
    programmes = ProgrammeNames(slug_field="name", many=True, read_only=True, source="programme_list")
    actions = ActionRefSerializer(many=True, read_only=True, source="action_list")
    year = serializers.IntegerField(source="progress_year", read_only=True)
    plan_investment = serializers.DecimalField(**MONEY, read_only=True, allow_null=True)
    completed_before_year = serializers.DecimalField(**MONEY, read_only=True, allow_null=True)
    completed_year = serializers.DecimalField(**MONEY, read_only=True)
    completion_rate = serializers.DecimalField(max_digits=SUM_DIGITS, decimal_places=2, read_only=True, allow_null=True)
    light = serializers.SerializerMethodField()
    light_display = serializers.SerializerMethodField()
    light_reason = serializers.CharField(read_only=True)
    light_description = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    # The investment-promotion lifecycle (招商引资, issue 25); blank for other projects.
    investor_source_display = ChoiceLabelField(source="investor_source")
    investment_stage = serializers.CharField(read_only=True)
    investment_stage_display = serializers.CharField(source="investment_stage_label", read_only=True)

    class Meta:
        model = Project
        list_serializer_class = KeptProjectRows
        fields = [
            "id", "key", "code", "name", "programmes", "batch", "stage", "stage_display", "status", "status_display",
            "city", "county", "industry", "actions", "owner", "total_investment", "start_year", "end_year",
            "planned_start", "planned_end", "actual_start", "actual_end", "last_report_month", "year",
            "plan_investment", "completed_before_year", "completed_year", "completion_rate", "light", "light_display",
            "light_reason", "light_description", "version", "page_url",
            "investor", "investor_region", "investor_source", "investor_source_display", "signed_on", "signing_event",
            "contract_amount", "registered_on", "production_on", "terminated_on", "investment_stage",
            "investment_stage_display",
        ]

    @classmethod
    def not_shown(cls):
        """The project's columns a row of the list does not show (the detail does): a page reads none of them."""
        return [field.name for field in Project._meta.concrete_fields if field.name not in cls.Meta.fields]

    def get_light(self, project) -> str:
        return rules.light_of(project.light_reason).value

    def get_light_display(self, project) -> str:
        # Translated once per language and light, not once a row (one serializer serialises a whole page).
        labels = self.__dict__.setdefault("_light_labels", {})
        key = (get_language(), rules.light_of(project.light_reason))
        if key not in labels:
            labels[key] = str(key[1].label)
        return labels[key]

    def get_light_description(self, project) -> str:
        return rules.describe_light(reason=project.light_reason, project=project, year=project.progress_year, on=rules.today())

    def get_page_url(self, project) -> str:
        if "_project_link" not in self.__dict__:
            self._project_link = project_links()  # reverse() once a page, not once a row
        return self._project_link(project.pk)


class AnnualPlanSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = AnnualPlan
        fields = ["id", "project", "year", "planned_investment", "completed_before_year", "completed_investment",
                  "funds_in_place"]


class CheckWarningSerializer(serializers.Serializer):
    """A check that fired (数据校验): its code, its key (code and the figure it fired on: what a note
    confirms), its parameters and its words in the reader's language."""

    code = serializers.CharField()
    key = serializers.CharField()
    params = serializers.DictField(child=serializers.CharField())
    message = serializers.CharField()


class MonthlyReportSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(read_only=True)  # written through MonthlyReportWriteSerializer
    review_status_display = ChoiceLabelField(source="review_status")
    warnings = serializers.SerializerMethodField()
    reported_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_late = serializers.BooleanField(read_only=True)

    class Meta:
        model = MonthlyReport
        fields = [
            "id", "project", "month", "completed_investment", "funds_in_place", "image_progress", "note", "warnings",
            "reported_by",
            "reported_at", "is_late", "review_status", "review_status_display", "reviewed_by", "reviewed_at",
            "review_reason", "version",
        ]

    @extend_schema_field(CheckWarningSerializer(many=True))
    def get_warnings(self, report):
        return [warning.as_api() for warning in report.check_warnings]


class ProjectDetailSerializer(ProjectSerializer):
    """A project with everything the list template holds, its plans and its latest report."""

    period = serializers.CharField(read_only=True)
    plans = AnnualPlanSerializer(many=True, read_only=True)
    latest_report = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField(help_text=_("联系电话；无权修改该项目的用户看到的是部分隐藏的号码（138****5678）。"))

    class Meta(ProjectSerializer.Meta):
        list_serializer_class = serializers.ListSerializer  # its phone is the reader's to see: never kept as a row
        fields = ProjectSerializer.Meta.fields + [
            "scope", "period", "responsible_unit", "contact", "phone", "remarks", "latitude", "longitude", "plans",
            "latest_report",
        ]

    @extend_schema_field(serializers.CharField())
    def get_phone(self, project):
        """In full only for those who may edit the project (issue 22)."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return phone_shown(project.phone, may_edit=user is not None and may_edit_project(user, project))

    @extend_schema_field(MonthlyReportSerializer(allow_null=True))
    def get_latest_report(self, project):
        report = project.reports.select_related("reported_by", "reviewed_by").order_by("-month").first()
        return MonthlyReportSerializer(report).data if report else None


class MonthlyReportWriteSerializer(serializers.Serializer):
    """A monthly report sent by a machine: the same fields as a row of the report page."""

    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    month = serializers.DateField(help_text=_("该月任一天，按月份保存。"))
    completed_investment = serializers.DecimalField(max_digits=MONEY_MAX_DIGITS + 4, decimal_places=None,
                                                    validators=[money_validator])
    # Optional: a write without it keeps the stored figure (issue 25); null clears it.
    funds_in_place = serializers.DecimalField(max_digits=MONEY_MAX_DIGITS + 4, decimal_places=None, required=False,
                                              allow_null=True, validators=[money_validator],
                                              help_text=_("本月实际到位资金（万元，招商引资项目）；不传则保留原值。"))
    image_progress = serializers.CharField(allow_blank=True, required=False, default="")
    problem = serializers.CharField(allow_blank=True, required=False, default="", write_only=True,
                                    help_text=_("新提出的问题（问题协调）。"))
    note = serializers.CharField(allow_blank=True, required=False, default="",
                                 help_text=_("对数据校验提示的说明；校验提示出现时必填。"))
    version = serializers.IntegerField(min_value=0, help_text=_("所依据的月报版本；新月报为 0。"))
    confirmed_warnings = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=20, write_only=True,
        help_text=_("再次提交时确认的校验提示（400 响应中各提示的 key）；与已存说明不同的新说明也确认本次数值的提示。"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Another region's project is as unknown as a missing one.
        self.fields["project"].queryset = Project.objects.editable_by(user) if user else Project.objects.none()

    def validate_month(self, month):
        month = month.replace(day=1)
        if month >= rules.month_start(rules.today()):
            raise serializers.ValidationError(_("只能填报已结束的月份。"))
        return month


def problem_version(problem):
    """A problem's version: a digest of what it says, so that a write names the state it was based on."""
    state = [problem.category, problem.description, problem.responsible_unit, str(problem.raised_on), problem.status,
             problem.resolution, str(problem.resolved_on)]
    return hashlib.sha256(json.dumps(state, ensure_ascii=False).encode()).hexdigest()[:16]


class ProblemSerializer(serializers.ModelSerializer):
    category_display = ChoiceLabelField(source="category")
    status_display = ChoiceLabelField(source="status")
    version = serializers.SerializerMethodField()
    expected_version = serializers.CharField(write_only=True, required=False,
                                             help_text=_("修改时必填：读取时的 version。"))

    class Meta:
        model = Problem
        fields = [
            "id", "project", "category", "category_display", "description", "responsible_unit", "raised_on", "status",
            "status_display", "resolution", "resolved_on", "version", "expected_version",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.editable_by(user) if user else Project.objects.none()

    def get_version(self, problem) -> str:
        return problem_version(problem)

    def validate(self, attrs):
        attrs.pop("expected_version", None)
        instance = copy.copy(self.instance) if self.instance is not None else Problem()  # the stored one stays as read
        for key, value in attrs.items():
            setattr(instance, key, value)
        instance.clean()  # the model's own rules, as the admin applies them
        for key in ("resolved_on",):
            attrs[key] = getattr(instance, key)
        if self.instance is not None and "project" in attrs and attrs["project"] != self.instance.project:
            raise serializers.ValidationError({"project": _("问题不能移到其他项目。")})
        return attrs


class ProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Programme
        fields = ["id", "code", "name", "name_en", "order"]


class BatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Batch
        fields = ["id", "code", "name", "name_en", "order"]


class IndustrySerializer(serializers.ModelSerializer):
    category_display = ChoiceLabelField(source="category")

    class Meta:
        model = Industry
        fields = ["id", "name", "name_en", "parent", "category", "category_display", "order"]


class RegionSerializer(serializers.ModelSerializer):
    level_display = ChoiceLabelField(source="level")
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    reporting_city = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "level_display", "parent", "reporting_city", "is_reporting_unit",
                  "is_statistical", "layout", "yellow_lag", "red_lag"]


class ClusterSerializer(serializers.ModelSerializer):
    county = RegionRefSerializer(read_only=True)
    industry = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Cluster
        fields = ["id", "name", "county", "industry", "description"]


class MeasureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Measure
        fields = ["id", "number", "title", "text"]


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "indicator", "year", "value", "unit"]


class ActionSerializer(serializers.ModelSerializer):
    measures = MeasureSerializer(many=True, read_only=True)
    targets = TargetSerializer(many=True, read_only=True)

    class Meta:
        model = Action
        fields = ["id", "number", "name", "name_en", "measures", "targets"]


class ActionPlanSerializer(serializers.ModelSerializer):
    actions = ActionSerializer(many=True, read_only=True)

    class Meta:
        model = ActionPlan
        fields = ["id", "code", "name", "name_en", "start_year", "end_year", "is_primary", "actions"]


class SupervisionStepSerializer(serializers.ModelSerializer):
    kind_display = ChoiceLabelField(source="kind")
    user = serializers.StringRelatedField(allow_null=True, help_text=_("办理人；自动步骤为空"))

    class Meta:
        model = SupervisionStep
        fields = ["kind", "kind_display", "level", "at", "user", "text"]


class SupervisionItemSerializer(serializers.ModelSerializer):
    """A supervision item (督办事项) with its timeline; items are opened, answered and closed on the pages."""

    cause_display = ChoiceLabelField(source="cause")
    level_display = ChoiceLabelField(source="level")
    status_display = ChoiceLabelField(source="status")
    steps = SupervisionStepSerializer(many=True, read_only=True)
    signer_level = serializers.SerializerMethodField(help_text=_("销号层级：申请办结后由该层级销号或退回，并审批延期"))

    class Meta:
        model = SupervisionItem
        fields = [
            "id", "project", "cause", "cause_display", "problem", "report_month", "description", "level", "level_display",
            "status", "status_display", "opened_on", "due_on", "escalated_on", "closed_on", "result",
            "issuer_level", "signer_level", "extension_due_on", "extension_reason", "urged_on", "version", "steps",
        ]

    def get_signer_level(self, item) -> str:
        return item.signer_level
