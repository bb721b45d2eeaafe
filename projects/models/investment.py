"""The investment-promotion lifecycle on the project (招商引资项目, SPEC §2; issue 25): who invests and from
where, the signing, the contract amount and the lifecycle's dates. Not a separate app: an abstract part of
Project, so that every surface that shows, filters, imports or exports a project has these fields.

The stage (investment_stage) is a generated column: the database derives it from the dates on every write,
whatever the path (a form, the list import's bulk upsert, the demo's COPY, an UPDATE); the rule is
domain.investment's, the same in Python and SQL. 开工 is the project's actual start (实际开工, on Project)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.domain.choices import InvestmentStage, InvestorSource
from projects.domain.figures import contract_amount_validator
from projects.domain.investment import investment_stage_expression, investor_source_from
from projects.models.catalogue import money_field

# The lifecycle's fields a person writes (forms, the admin, the list's columns), in the order shown.
INVESTMENT_FIELDS = ("investor", "investor_region", "investor_source", "signed_on", "signing_event", "contract_amount",
                     "registered_on", "production_on", "terminated_on")


class InvestmentLifecycle(models.Model):
    """An investment-promotion item's investor, signing and lifecycle dates (blank for other projects)."""

    investor = models.CharField(
        verbose_name=_("投资方"),
        max_length=200,
        blank=True,
        help_text=_("签约企业或投资主体；项目单位（项目法人）可能是其在本地注册的公司。"),
    )
    investor_region = models.CharField(
        verbose_name=_("投资方所在地"),
        max_length=100,
        blank=True,
        help_text=_("如“北京市海淀区”“广东省深圳市”“香港”；投资方来源未填时据此判定。"),
    )
    investor_source = models.CharField(
        verbose_name=_("投资方来源"),
        max_length=20,
        choices=InvestorSource.choices,
        blank=True,
        help_text=_("京津、省内、省外或境外；未填时按投资方所在地判定，可修改。"),
    )
    signed_on = models.DateField(
        verbose_name=_("签约时间"),
        null=True,
        blank=True,
    )
    signing_event = models.CharField(
        verbose_name=_("签约活动"),
        max_length=200,
        blank=True,
        help_text=_("如集中签约、廊坊经洽会。"),
    )
    contract_amount = money_field(
        _("协议投资额（万元）"),
        validators=[contract_amount_validator],
        null=True,
        blank=True,
    )
    registered_on = models.DateField(
        verbose_name=_("注册时间"),
        null=True,
        blank=True,
    )
    production_on = models.DateField(
        verbose_name=_("投产时间"),
        null=True,
        blank=True,
    )
    terminated_on = models.DateField(
        verbose_name=_("终止时间"),
        null=True,
        blank=True,
        help_text=_("签约项目终止（不再落地）的日期。"),
    )
    # Derived by the database from the dates above and the actual start (domain.investment): never typed in.
    investment_stage = models.GeneratedField(
        verbose_name=_("招商阶段"),
        expression=investment_stage_expression(),
        output_field=models.CharField(max_length=20, choices=InvestmentStage.choices, blank=True),
        db_persist=True,
    )

    class Meta:
        abstract = True

    def derive_investor_source(self):
        """The source from the investor's region or name when none was chosen (a chosen one is kept)."""
        if not self.investor_source:
            self.investor_source = investor_source_from(region=self.investor_region, investor=self.investor)

    def clean_investment(self):
        """The lifecycle's dates in order: {field: message} for those that are not."""
        errors = {}
        if self.signed_on:
            for name, label in (("registered_on", _("注册时间")), ("production_on", _("投产时间"))):
                value = getattr(self, name)
                if value and value < self.signed_on:
                    errors[name] = _("%(label)s早于签约时间。") % {"label": label}
        if self.registered_on and self.production_on and self.production_on < self.registered_on:
            errors["production_on"] = _("投产时间早于注册时间。")
        return errors

    def _investment_stage_label(self):
        return InvestmentStage(self.investment_stage).label if self.investment_stage else ""

    _investment_stage_label.short_description = _("招商阶段")
    investment_stage_label = property(_investment_stage_label)
