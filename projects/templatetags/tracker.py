"""Template filters of the pages: amounts in 万元/亿元, percentages, lights' colours, names and punctuation
in the reader's language, and phone numbers shown in full only to those who may edit the project."""

from decimal import Decimal

from django import template

from projects.domain.access import phone_shown

register = template.Library()

WAN_PER_YI = Decimal(10000)


@register.filter
def money(value, unit="万元"):
    """The one way an amount (held in 万元) is shown: with thousands separators, in 万元 for a project's
    figures (whole 万元) or in 亿元 for summaries (two decimals, SPEC §2); "—" when there is none."""
    if value in (None, ""):
        return "—"
    if unit == "亿元":
        return f"{Decimal(value) / WAN_PER_YI:,.2f}"
    text = f"{Decimal(value):,.2f}"
    return text[:-3] if text.endswith(".00") else text  # 万元 to the cent only when there are cents


@register.filter
def yi(value):
    """An amount in 亿元 (summaries): `money` with that unit."""
    return money(value, "亿元")


@register.filter
def pct(value):
    if value in (None, ""):
        return "—"
    return f"{Decimal(value):.1f}%"


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


LIGHT_COLOURS = {"green": "#1a7f37", "yellow": "#9a6700", "red": "#cf222e", "none": "#6e7781"}


@register.filter
def light_colour(light):
    return LIGHT_COLOURS.get(str(light), "#6e7781")


@register.filter
def invert(percent):
    """100 - percent, for bars that grow upwards from the bottom of an SVG."""
    return 100 - float(percent or 0)


@register.filter
def localized(obj, field="name"):
    """obj.<field> in the reader's language: its <field>_en in English mode when there is one."""
    from django.utils import translation

    english = getattr(obj, f"{field}_en", "")
    return english if english and (translation.get_language() or "").startswith("en") else getattr(obj, field)


def _english():
    from django.utils import translation

    return (translation.get_language() or "").startswith("en")


@register.simple_tag
def colon():
    """A label's colon: full-width in Chinese, ": " in English."""
    return ": " if _english() else "："


@register.filter
def bracketed(value):
    """A remark in brackets: （…） in Chinese, " (…)" in English."""
    return f" ({value})" if _english() else f"（{value}）"


@register.filter
def phone_for(phone, may_edit):
    """A project's contact number as this reader may see it: whole if they may edit the project, else
    masked (access.phone_shown, issue 22)."""
    return phone_shown(phone, may_edit=bool(may_edit))
