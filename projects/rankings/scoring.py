"""The ranking's rows from the units' values of this month and last (measures.unit_values), by domain.ranking's
rules: each indicator's rank and change, the composite score, rank and change. Links are added per reader
(links.py), not here: this is what is cached."""

from projects.domain import ranking

PERCENT = frozenset({"punctuality", "red", "yellow", "nodes_late", "investment"})


def ranks_of(values, weights):
    """({unit: {indicator: rank}}, {unit: score}, {unit: composite rank}) of units with projects."""
    active = {pk: value for pk, value in values.items() if value["projects"] > 0}
    per_indicator = {indicator: ranking.indicator_ranks(indicator, {pk: value[indicator] for pk, value in active.items()})
                     for indicator, _label, _weight in weights}
    cells = {pk: {indicator: per_indicator[indicator].get(pk) for indicator, _l, _w in weights} for pk in active}
    scores = ranking.composite_scores(cells, {indicator: weight for indicator, _l, weight in weights})
    composite = ranking.competition_ranks(scores)
    return cells, scores, composite


def text_of(indicator, value):
    """An indicator's value as shown: points with a sign, percentages, counts; — for none."""
    if value is None:
        return "—"
    if indicator == "progress":
        return f"+{value:.1f}" if value > 0 else f"{value:.1f}".replace("-", "−")
    if indicator in PERCENT:
        return f"{value:.1f}%"
    return str(value)


def rows_of(units, current, previous, weights):
    """[{"pk", "ranked", "rank", "rank_change", "score", "cells": {indicator: {value, text, rank, change}}}],
    ranked units by rank (then name order), then units with projects but no score, then units without projects."""
    cells, scores, composite = ranks_of(current, weights)
    before_cells, _before_scores, before_composite = ranks_of(previous, weights)
    rows = []
    for order, unit in enumerate(units):
        value = current[unit.pk]
        rank = composite.get(unit.pk)
        row = {
            "pk": unit.pk,
            "order": order,
            "projects": value["projects"],
            "ranked": rank is not None,
            "rank": rank,
            "rank_change": ranking.rank_change(before_composite.get(unit.pk), rank),
            "score": scores.get(unit.pk),
            "detail": value["detail"],
            "cells": {},
        }
        for indicator, _label, _weight in weights:
            indicator_rank = cells.get(unit.pk, {}).get(indicator)
            before = before_cells.get(unit.pk, {}).get(indicator)
            row["cells"][indicator] = {
                "value": value[indicator],
                "text": text_of(indicator, value[indicator]),
                "rank": indicator_rank,
                "change": ranking.rank_change(before, indicator_rank),
            }
        rows.append(row)
    rows.sort(key=lambda row: (not row["ranked"], row["projects"] == 0, row["rank"] or 0, row["order"]))
    return rows
