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
