"""The rules every figure obeys, whichever path writes it (report page, review, admin and its inlines, the
progress workbook, the provincial list, the API): one validator per kind of figure, and the checks'
warnings as codes with parameters, worded in the reader's language when shown.

Part of the domain core: it imports nothing of the project above it.
"""

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# An amount in 万元: the columns hold 16 digits, two of them decimals (catalogue.MONEY). One amount is
# kept two digits below that, so that what is summed into a column (a year's reports into its plan) fits
# it too; sums across projects and rates are read with SUM_DIGITS (28, Python's decimal precision).
MONEY_MAX_DIGITS = 16
MONEY_PLACES = 2
MONEY_LIMIT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_PLACES - 2) - Decimal("0.01")
SUM_DIGITS = 28
CENT = Decimal("0.01")
COLUMN_LIMIT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_PLACES) - CENT


def money_constraints(prefix, *names):
    """The database's own guard on amount columns (SQLite would store any number, and a value its column
    cannot hold makes every read of the row fail): non-negative and within the column."""
    return [
        models.CheckConstraint(condition=Q(**{f"{name}__gte": 0, f"{name}__lte": COLUMN_LIMIT}), name=f"{prefix}_{name}_in_range")
        for name in names
    ]


def money_text(value):
    return f"{Decimal(value):,.2f}"


WAN_PER_YI = Decimal(10000)


def figure_text(value, unit="万元"):
    """The one way a figure is shown to people (issue 26), on pages, in previews and in mail: thousands
    separated; an amount held in 万元 shown in 万元 (whole 万元, to the cent only when there are cents) or in
    亿元 (two decimals, SPEC §2); a count, whole, as an amount in 万元 is; "—" when there is none.
    Display only: what goes into an input, an export or the API is the plain number."""
    if value is None or value == "":
        return "—"
    if unit == "亿元":
        return f"{Decimal(value) / WAN_PER_YI:,.2f}"
    text = f"{Decimal(value):,.2f}"
    return text[:-3] if text.endswith(".00") else text


def money_validator(value):
    """An amount is a non-negative decimal of at most two places that its column can hold. The model's
    fields carry it (admin and its inlines), the widgets of every workbook and the API call it."""
    if value is None:
        return
    if not isinstance(value, Decimal):
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(_("不是数字"), code="not_a_number") from None
    if not value.is_finite():
        raise ValidationError(_("不是数字"), code="not_a_number")
    if value < 0:
        raise ValidationError(_("金额不能为负数"), code="negative")
    if value > MONEY_LIMIT:  # before any quantize: a huge number has more digits than the context holds
        raise ValidationError(
            _("金额 %(value)s 万元超过上限 %(limit)s 万元"),
            code="too_large", params={"value": f"{value:,f}" if abs(value.adjusted()) < 40 else str(value),
                                      "limit": money_text(MONEY_LIMIT)},
        )
    if value != value.quantize(CENT):
        raise ValidationError(_("金额最多两位小数（万元）"), code="places")


def _plausible(value, message, code):
    """Refuse an amount above the plausibility limit of a project's total (FIGURE_MAX_TOTAL_INVESTMENT, 万元):
    a unit mistake (元 typed as 万元, 亿元 as 万元). `message` names the figure."""
    if value is None:
        return
    limit = Decimal(str(settings.FIGURE_MAX_TOTAL_INVESTMENT))
    if Decimal(value) > limit:
        raise ValidationError(message, code=code,
                              params={"value": money_text(value), "limit": money_text(limit), "yi": f"{limit / 10000:,.0f}"})


def total_investment_validator(value):
    """A total investment above what any Hebei project has had is a unit mistake, refused where the total is
    written: the admin and the list."""
    _plausible(value, _("总投资 %(value)s 万元超过合理上限 %(limit)s 万元（%(yi)s 亿元），请核对单位"), "implausible_total")


def contract_amount_validator(value):
    """A contract amount (协议投资额 / 签约额, 万元) above the same limit, refused wherever it is written: the
    admin, the project form and the list (issue 25). Its own code, so the words say which figure."""
    _plausible(value, _("协议投资额 %(value)s 万元超过合理上限 %(limit)s 万元（%(yi)s 亿元），请核对单位"), "implausible_contract")


def validation_text(error):
    """A ValidationError's words in the reader's language (for paths that report a plain message)."""
    return "；".join(error.messages)


# --- The checks' warnings --------------------------------------------------------------------------------

# What each check says; its parameters are stored with it, so the words follow the reader's language.
WARNING_TEXTS = {
    "over_total": _("累计完成投资 %(cumulative)s 万元，超过总投资 %(total)s 万元"),
    "over_plan": _("本年累计完成 %(year)s 万元，超过年度计划 %(plan)s 万元的 %(ratio)s%%"),
    "spike": _("本月 %(amount)s 万元，超过本年已报月份月均 %(average)s 万元的 %(multiple)s 倍"),
    "after_completion": _("项目已于 %(date)s 竣工投产，仍填报完成投资"),
    "idle": _("在建项目已连续 %(months)s 个月未完成投资"),
    "month_over_total": _("本月 %(amount)s 万元，超过项目总投资 %(total)s 万元"),
    "funds_over_contract": _("本月实际到位资金 %(amount)s 万元，超过协议投资额 %(total)s 万元"),  # issue 25
}
MONEY_PARAMS = {"cumulative", "total", "year", "plan", "amount", "average"}


@dataclass(frozen=True)
class CheckWarning:
    """A check that fired on a figure: its code, its parameters, and the figure it fired on. A note
    (说明) confirms a warning by its key, so a changed figure asks again."""

    code: str
    params: dict = field(default_factory=dict, hash=False, compare=False)
    figure: str = ""

    @property
    def key(self):
        return f"{self.code}:{self.figure}"

    @property
    def message(self):
        params = {
            name: money_text(value) if name in MONEY_PARAMS else value for name, value in self.params.items()
        }
        return gettext(WARNING_TEXTS[self.code]) % params if self.code in WARNING_TEXTS else self.code

    def as_dict(self):
        return {"code": self.code, "params": self.params, "figure": self.figure}

    def as_api(self):
        return {"code": self.code, "key": self.key, "params": self.params, "message": self.message}

    @classmethod
    def from_stored(cls, stored):
        """A stored warning; one kept as words by an older version keeps its words."""
        if "params" not in stored:
            return _LegacyWarning(stored.get("code", ""), {}, "", stored.get("message", ""))
        return cls(stored["code"], dict(stored["params"]), stored.get("figure", ""))


@dataclass(frozen=True)
class _LegacyWarning(CheckWarning):
    text: str = ""

    @property
    def message(self):
        return self.text


def parse_money(text, factor, validators=()):
    """An amount as typed (or in a cell), times the column's unit, under the one rule for amounts
    (money_validator) and the column's own `validators`; ValueError says what is wrong."""
    try:
        amount = Decimal(unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")) * factor
    except InvalidOperation:
        raise ValueError(gettext("“%(value)s”不是数字") % {"value": text}) from None
    if not amount.is_finite():
        raise ValueError(gettext("“%(value)s”不是数字") % {"value": text})
    try:
        for validate in (money_validator, *validators):
            validate(amount)
    except ValidationError as error:
        if error.code == "places":
            raise ValueError(gettext("“%(value)s”换算为万元后超过两位小数") % {"value": text}) from None
        raise ValueError(validation_text(error)) from None
    return amount.quantize(Decimal("0.01"))
