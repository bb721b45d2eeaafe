from decimal import Decimal

from django import template

register = template.Library()

WAN_PER_YI = Decimal(10000)


@register.filter
def yi(value):
    """An amount held in 万元, shown in 亿元 (SPEC §2: summaries show 亿元)."""
    if value in (None, ""):
        return "—"
    return f"{Decimal(value) / WAN_PER_YI:,.2f}"


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
