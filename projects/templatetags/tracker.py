"""Template filters of the pages: amounts in 万元/亿元, percentages, lights' colours, names and punctuation
in the reader's language, and phone numbers shown in full only to those who may edit the project."""

from decimal import Decimal

from django import template
from django.utils.html import format_html_join

from projects.domain.access import phone_shown
from projects.domain.figures import figure_text
from projects.rankings.reads import may_see

register = template.Library()


@register.filter
def money(value, unit="万元"):
    """An amount (held in 万元) as people read it: figures.figure_text, in 万元 for a project's figures or
    in 亿元 for summaries; "—" when there is none."""
    return figure_text(value, unit)


@register.filter
def yi(value):
    """An amount in 亿元 (summaries): `money` with that unit."""
    return money(value, "亿元")


@register.filter
def number(value):
    """A count as people read it, thousands separated (共 3,000 个项目, issue 26). Display only: a page
    number in a link or an input stays the plain number."""
    return figure_text(value)


@register.filter
def pct(value):
    if value in (None, ""):
        return "—"
    return f"{Decimal(value):,.1f}%"


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


@register.simple_tag(takes_context=True)
def query_inputs(context, *excluded):
    """The request's query as hidden inputs, but for `excluded` parameters: a small GET form (the page jump,
    the page size) keeps the list's filters and sort (issue 26)."""
    request = context.get("request")
    if request is None:
        return ""
    pairs = [(name, value) for name, values in request.GET.lists() if name not in excluded for value in values]
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', pairs)


@register.simple_tag
def may_see_rankings(user):
    """Whether the menu shows 排名 to `user` (rankings.reads.may_see)."""
    return may_see(user)
