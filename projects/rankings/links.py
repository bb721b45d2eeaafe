"""Links from the ranking to the project list filtered to exactly the projects a figure counts, where the list's
filters can express it, and only to what the reader may open (another region's rows are shown unlinked)."""

from projects.domain import rules
from projects.domain.access import is_province_wide
from projects.shared import trends
from projects.shared.scopes import list_link


def field_of(level):
    return "city" if level == "city" else "county"


def linkable(user, *, level, own):
    """region -> whether `user` may open that unit's list: the province every unit, a city its counties (and its
    own row among the cities), a county its own row."""
    if is_province_wide(user):
        return lambda region: True
    if own is None:  # a city among its counties
        return lambda region: True
    return lambda region: region.pk == own


def unit_link(region, level):
    return list_link({}, **{field_of(level): region.pk})


def cell_link(indicator, region, level, month, row):
    """The list of exactly the projects an indicator's figure counts, or None where the list cannot express it
    (a light or a late node of a past month: the list judges them today)."""
    if row["projects"] == 0:
        return None
    unit = {field_of(level): region.pk}
    current = trends.judged_on(month) == rules.today()
    if indicator == "new_starts":
        return list_link(unit, started_month=month.strftime("%Y-%m"))
    if indicator == "punctuality":
        return list_link(unit, report_status="missing", report_month=month.strftime("%Y-%m"))
    if indicator in ("red", "yellow") and current:
        return list_link(unit, light=indicator)
    if indicator == "nodes_late" and current:
        return list_link(unit, nodes_late="true")
    if indicator == "investment" and row["detail"]["signed"]:
        return list_link(unit, signed_year=month.year, investment_reached="registered")
    return None


def trend_links(region, level, month):
    """{"current", "previous", "last_year"}: the starts of each month of a unit's trend."""
    return trends.trend_links(month, params={field_of(level): region.pk})
