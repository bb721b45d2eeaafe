"""What the map shows for a reader: the units of their scope, each unit's figures (summed by
shared.summaries.unit_breakdown: the area rows the dashboard folds, per region), the chosen indicator's value
and class, and the projects with coordinates as points coloured by their light."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from projects.domain import rules
from projects.domain.access import is_province_wide
from projects.domain.choices import Light, RegionLevel
from projects.models import Region
from projects.shared import summaries
from projects.shared.scopes import list_link

# Points beyond this many are not drawn one by one (the page says so); the red ones come first.
POINT_CAP = 10_000

INDICATORS = (
    ("lag", gettext_lazy("完成率与时序进度之差")),
    ("red", gettext_lazy("红灯项目占比")),
    ("investment", gettext_lazy("总投资")),
    ("plan", gettext_lazy("年度计划投资")),
)
LEVELS = (("city", gettext_lazy("各市")), ("county", gettext_lazy("各县（市、区）")))

# Colour-blind safe ColorBrewer schemes: BrBG (diverging) for ahead/behind, Purples and Blues (sequential) —
# none of them the red/yellow/green of the lights drawn over them.
DIVERGING = ("#8c510a", "#bf812d", "#dfc27d", "#f6e8c3", "#c7eae5", "#5ab4ac", "#01665e")
PURPLES = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
NO_DATA = "#e0e0e0"
LAG_BREAKS = (Decimal(-20), Decimal(-10), Decimal(-5), Decimal(0), Decimal(5), Decimal(10))
RED_BREAKS = (Decimal(5), Decimal(10), Decimal(20), Decimal(30))


def map_level(user, requested):
    """The level the map is drawn at: "city" (the 14 city-level units) or "county". Only the province may
    ask for the cities; a city-level unit sees its counties, a county itself."""
    if requested not in ("", None, "city", "county"):
        raise ValueError(requested)  # a malformed value: the page answers 400
    if is_province_wide(user):
        return requested or "city"
    if requested == "city":
        raise PermissionDenied
    return "county"


def map_units(user, level):
    """The regions drawn, and the region outlined over them (the scope's own)."""
    if is_province_wide(user):
        regions = Region.objects.city_level() if level == "city" else Region.objects.counties()
        return list(regions.order_by("code")), "130000"
    region = user.region
    if region is None:
        raise PermissionDenied
    if region.level == RegionLevel.COUNTY:  # 定州, 辛集 too: their one county is themselves
        return [region], region.code
    counties = Region.objects.visible_to(user).counties().filter(reporting_city=region).order_by("code")
    return list(counties), region.code


def scope_projects(projects, user):
    """The projects that belong on the user's map: a leader's 包联 projects elsewhere are not drawn."""
    if is_province_wide(user) or user.region is None:
        return projects
    field = "city_id" if user.region.is_city_level else "county_id"
    return projects.filter(**{field: user.region_id})


def unit_rows(projects, *, user, field, params, year, on):
    """summaries.unit_breakdown by `field` ("city" or "county"): {region pk: row}, and the row of projects without
    one (a city's own projects at county level), or None."""
    rows = summaries.unit_breakdown(projects, user=user, field=field, params=params, year=year, on=on)
    by_key = {row["key"]: row for row in rows}
    return by_key, by_key.pop(None, None)


def indicator_value(row, indicator, progress):
    """The unit's value of the indicator (percentage points, percent, or 万元), None when it has none."""
    if row is None or not row["count"]:
        return None
    if indicator == "lag":
        return None if row["rate"] is None else row["rate"] - progress
    if indicator == "red":
        return Decimal(row["red"]) * 100 / Decimal(row["count"])
    return row["total_investment" if indicator == "investment" else "plan"]


def investment_breaks(values):
    """Four breaks splitting the units' values into five classes of about as many units (quantiles), each
    rounded to two significant figures of 亿元 so the legend reads plainly."""
    values = sorted(v for v in values if v is not None and v > 0)
    if not values:
        return ()
    breaks = []
    for q in (1, 2, 3, 4):
        raw = values[min(len(values) - 1, len(values) * q // 5)]
        yi = raw / 10000
        digits = max(0, 1 - int(Decimal(yi).adjusted()))
        rounded = round(yi, digits) * 10000
        if rounded > 0 and (not breaks or rounded > breaks[-1]):
            breaks.append(Decimal(rounded))
    return tuple(breaks)


def palette(indicator, values):
    """(breaks, colours): value v is in class i, the number of breaks <= v."""
    if indicator == "lag":
        return LAG_BREAKS, DIVERGING
    if indicator == "red":
        return RED_BREAKS, PURPLES
    breaks = investment_breaks(values)
    return breaks, BLUES[-len(breaks) - 1:] if breaks else BLUES[:1]


def value_class(value, breaks):
    """The class index of a value (None: no data)."""
    if value is None:
        return None
    return sum(1 for edge in breaks if value >= edge)


def legend(indicator, breaks, colours):
    """[(colour, text)] stating each class's bounds, and the no-data swatch."""
    def text(value):
        if indicator in ("investment", "plan"):
            return _("%(value)s亿元") % {"value": _number(value / 10000)}
        if indicator == "red":
            return f"{_number(value)}%"
        return _("%(value)s个百分点") % {"value": _number(value)}

    items = []
    for index, colour in enumerate(colours):
        low = breaks[index - 1] if index > 0 else None
        high = breaks[index] if index < len(breaks) else None
        if low is None and high is None:
            label = _("全部")
        elif low is None:
            label = _("低于 %(value)s") % {"value": text(high)}
        elif high is None:
            label = _("%(value)s 及以上") % {"value": text(low)}
        else:
            label = f"{text(low)} ~ {text(high)}"
        items.append((colour, label))
    items.append((NO_DATA, _("无项目或无年度计划") if indicator == "lag" else _("无项目")))
    return items


def _number(value):
    value = Decimal(value)
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def value_text(value, indicator):
    if value is None:
        return "—"
    if indicator in ("investment", "plan"):
        return _("%(value)s亿元") % {"value": f"{value / 10000:,.2f}"}
    if indicator == "red":
        return f"{value:.1f}%"
    return _("%(value)s个百分点") % {"value": f"{value:+.1f}"}


def unit_link(params, field, region):
    """The project list filtered to exactly the unit's projects, as the dashboard's area links filter."""
    return list_link(params, **{field: region.pk})


def map_points(projects):
    """Projects with coordinates as (pk, name, lon, lat, light), the red first, then yellow, green, unrated,
    at most POINT_CAP (chosen in SQL: the province's 100,000 are never all read); and how many have
    coordinates in all."""
    located = projects.filter(latitude__isnull=False, longitude__isnull=False).exclude(
        Q(latitude=0) & Q(longitude=0))
    severity = Case(*[When(rules.light_q(light), then=Value(rank)) for rank, light in enumerate(
        (Light.RED, Light.YELLOW, Light.GREEN))], default=Value(3), output_field=IntegerField())
    rows = located.annotate(severity=severity).order_by("severity", "pk").values_list(
        "pk", "name", "longitude", "latitude", "light_reason")[:POINT_CAP]
    points = [(pk, name, float(lon), float(lat), rules.light_of(reason).value) for pk, name, lon, lat, reason in rows]
    total = len(points) if len(points) < POINT_CAP else located.count()
    return points, total
