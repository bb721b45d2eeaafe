"""The monthly ranking (排名) as the page, the API, the export and the bulletin read it.

Public read (the bulletin codes against it; keep the shape):
    unit_ranking(user, *, month, level="city") -> Ranking

Ranking: .month (date, first of month), .level ("city" | "county"), .weights [(indicator value, label, weight)],
.rows [UnitRow], .scope_trend (shared.trends.Trend of the whole scope), .scope (the Region ranked within, None for
the province), .highlight (pk of the reader's own unit or None).
UnitRow: .region, .ranked, .rank, .rank_change (positive = moved up), .score, .cells {indicator value: Cell},
.trend (its Trend), .link (the project list of the unit, None where the reader may not open it), .projects (count),
.detail (the counts behind the shares: on_time, late, missing, owing, open, red, yellow, signed, registered ...),
.own (the reader's own unit).
Cell: .value, .text, .rank, .change (positive = moved up), .link (the list of exactly the counted projects or None).

Computed per unit in SQL (grouped by unit, a fixed number of queries whatever the number of projects), scored by
domain.ranking and cached under the data versions (shared.versions.cached_summary) per month, level and scope."""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from projects.domain import rules
from projects.domain.access import is_province_wide
from projects.domain.choices import RankingIndicator
from projects.models import Region
from projects.models.leaders import RankingWeight
from projects.rankings import links, measures, scoring
from projects.shared import trends
from projects.shared.pieces import region_slots, slot_of
from projects.shared.versions import cached_summary

LEVELS = ("city", "county")


@dataclass
class Cell:
    """One indicator of one unit: its value (None = no data), display text, rank among ranked units, change."""

    value: float | None
    text: str
    rank: int | None = None
    change: int | None = None
    link: str | None = None


@dataclass
class UnitRow:
    region: Region
    ranked: bool
    rank: int | None
    rank_change: int | None
    score: float | None
    cells: dict = field(default_factory=dict)
    trend: object = None
    link: str | None = None
    projects: int = 0
    detail: dict = field(default_factory=dict)
    own: bool = False


@dataclass
class Ranking:
    month: datetime.date
    level: str
    weights: list
    rows: list
    scope_trend: object
    scope: Region | None = None
    highlight: int | None = None


def default_month(on=None):
    """The latest month whose reports were due: what a ranking is read for by default."""
    return rules.latest_due_month(on=on or rules.today())


def default_level(user):
    """The province ranks cities, a city its counties, a county its city's counties."""
    return "city" if is_province_wide(user) else "county"


def levels_for(user):
    """The levels `user` may rank at: a county only its city's counties."""
    if is_province_wide(user) or (user.region_id is not None and user.region.is_city_level):
        return LEVELS
    return ("county",)


def units_for(user, level):
    """(scope region or None, [units ranked], own unit pk or None) of what `user` may see at `level`.

    The province: the 14 city-level units, or every county (level=county). A city: its counties, or
    (level=city) the city-level units with its own row marked. A county: its city's counties, its own marked.
    Cities and counties only as the province allows (RANKING_VISIBLE_TO_COUNTIES): else PermissionDenied."""
    if not may_see(user):
        raise PermissionDenied
    if is_province_wide(user):
        if level == "county":
            return None, list(Region.objects.counties()), None
        return None, list(Region.objects.city_level()), None
    region = user.region
    if region.is_city_level:
        if level == "city":
            return None, list(Region.objects.city_level()), region.pk
        return region, counties_of(region), None
    return (region.reporting_city or region.parent), counties_of(region.reporting_city or region.parent), region.pk


def may_see(user):
    """Whether `user` may see a ranking: the province always; a city or county with a region as the province
    allows (RANKING_VISIBLE_TO_COUNTIES). The menu shows 排名 to them alone."""
    if is_province_wide(user):
        return True
    return user.region_id is not None and getattr(settings, "RANKING_VISIBLE_TO_COUNTIES", True)


def counties_of(city):
    """The counties a city-level unit reports (their projects carry it as their city)."""
    return list(Region.objects.counties().filter(Q(reporting_city=city) | Q(reporting_city__isnull=True, parent=city)))


def weights():
    """[(indicator value, label, weight)] in the order of RankingIndicator; a missing row weighs 0."""
    stored = dict(RankingWeight.objects.values_list("indicator", "weight"))
    return [(value, str(label), stored.get(value, 0)) for value, label in RankingIndicator.choices]


def _computed(units, *, month, level, scope, weight_rows):
    """The cached part: the rows' values, ranks and scores and each unit's Trend (no links, no reader)."""
    by = "city" if level == "city" else "county"

    def compute():
        # Per region and cached so (measures.scoped_rows): after a write, only its county's rows are read anew.
        before, year_before = rules.add_months(month, -1), rules.add_months(month, -12)
        rows = measures.scoped_rows(units, month=month, by=by, scope=scope)
        previous_rows = measures.scoped_rows(units, month=before, by=by, scope=scope)
        year_rows = measures.scoped_rows(units, month=year_before, by=by, scope=scope, parts=("trend",))
        current = measures.unit_values(units, month=month, by=by, rows=rows)
        previous = measures.unit_values(units, month=before, by=by, rows=previous_rows)
        trend_rows = {m: part["trend"] for m, part in ((month, rows), (before, previous_rows), (year_before, year_rows))}
        return {"rows": scoring.rows_of(units, current, previous, weight_rows), "trend_rows": trend_rows}

    key = ("ranking", month, level, scope.pk if scope else None, tuple(weight_rows))
    return cached_summary(key, compute)


def unit_ranking(user, *, month, level="city"):
    """The ranking `user` may see for `month` (a date, first of month) at `level` ("city" or "county").
    Raises PermissionDenied where the province does not let the user see rankings, ValueError on a bad level."""
    if level not in LEVELS:
        raise ValueError(level)
    month = rules.month_start(month)
    scope, units, own = units_for(user, level)
    weight_rows = weights()
    data = _computed(units, month=month, level=level, scope=scope, weight_rows=weight_rows)
    regions = {unit.pk: unit for unit in units}
    unit_trends = _unit_trends(data["trend_rows"], month, "city" if level == "city" else "county")
    linkable = links.linkable(user, level=level, own=own)
    rows = []
    for row in data["rows"]:
        region = regions[row["pk"]]
        may = linkable(region)
        cells = {indicator: Cell(**cell, link=links.cell_link(indicator, region, level, month, row) if may else None)
                 for indicator, cell in row["cells"].items()}
        rows.append(UnitRow(region=region, ranked=row["ranked"], rank=row["rank"], rank_change=row["rank_change"],
                            score=row["score"], cells=cells, trend=unit_trends.get(row["pk"]),
                            link=links.unit_link(region, level) if may else None, projects=row["projects"],
                            detail=row["detail"], own=row["pk"] == own))
    return Ranking(month=month, level=level, weights=weight_rows, rows=rows,
                   scope_trend=_scope_trend(user, data["trend_rows"], month), scope=scope, highlight=own)


def _unit_trends(trend_rows, month, by):
    """{unit pk: Trend} folded from the three months' rows."""
    folded = [trends.fold(trend_rows[m], by=by) for m in trends.trend_months(month)]
    empty = trends.Trend(month, trends._empty(), trends._empty(), trends._empty()).current
    return {pk: trends.Trend(month, *(figures.get(pk) or dict(empty) for figures in folded))
            for pk in set().union(*folded)}


def _scope_trend(user, trend_rows, month):
    """The Trend of what `user` sees, folded from the ranking's rows of the regions in their scope."""
    slots = None if is_province_wide(user) else set(region_slots(user) or ())
    figures = [trends.fold([row for row in trend_rows[m] if slots is None or slot_of(row) in slots]).get(None)
               or trends._empty() for m in trends.trend_months(month)]
    return trends.Trend(month, *figures)
