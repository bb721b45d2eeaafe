"""The rules of the monthly ranking (排名, issue 28): ranks with ties, scores and the composite, rank changes.

- Rank: standard competition ranking (1, 2, 2, 4) of the units that have a value, best first; whether higher
  or lower is better is the indicator's (LOWER_IS_BETTER). A unit without a value is not ranked on it.
- Indicator score: 100 for the first, 0 for the last, evenly by rank position between:
  100 × (n − rank) / (n − 1) among the n units ranked on it (100 when only one is).
- Composite score: the weighted mean of a unit's indicator scores over the indicators it has a value for and
  whose weight is above 0 (an indicator without data is left out and the others reweighted; weight 0 is shown,
  not scored). A unit with no projects, or no scored indicator, is listed but not ranked.
- Composite rank: competition ranking of the scores (rounded to 0.1), highest first.
- Change since last month: last month's rank minus this month's (positive = moved up), shown ↑2 / ↓1 / –.
"""

# Indicators where less is better (shares of red/yellow/late-node projects, overdue supervision items).
LOWER_IS_BETTER = frozenset({"red", "yellow", "nodes_late", "supervision_overdue"})

SCORE_PLACES = 1


def competition_ranks(values, *, higher_is_better=True):
    """{key: rank} of the keys of `values` ({key: number or None}) having a number: 1, 2, 2, 4 for ties."""
    present = {key: value for key, value in values.items() if value is not None}
    ordered = sorted(present.values(), reverse=higher_is_better)
    ranks = {}
    for key, value in present.items():
        ranks[key] = ordered.index(value) + 1
    return ranks


def indicator_ranks(indicator, values):
    """competition_ranks with the indicator's direction."""
    return competition_ranks(values, higher_is_better=indicator not in LOWER_IS_BETTER)


def rank_score(rank, count):
    """The 0-100 score of `rank` among `count` ranked units."""
    if count <= 1:
        return 100.0
    return 100.0 * (count - rank) / (count - 1)


def composite_scores(cells, weights):
    """{unit: score or None} from cells {unit: {indicator: rank or None}} (ranks per indicator among its ranked
    units) and weights {indicator: weight}; reweighted over the indicators a unit has."""
    counts = {}
    for ranks in cells.values():
        for indicator, rank in ranks.items():
            if rank is not None:
                counts[indicator] = counts.get(indicator, 0) + 1
    scores = {}
    for unit, ranks in cells.items():
        total = weight_sum = 0.0
        for indicator, rank in ranks.items():
            weight = weights.get(indicator, 0)
            if rank is None or weight <= 0:
                continue
            total += weight * rank_score(rank, counts[indicator])
            weight_sum += weight
        scores[unit] = round(total / weight_sum, SCORE_PLACES) if weight_sum else None
    return scores


def rank_change(previous, current):
    """Places moved up since last month (positive up, negative down), None when either rank is missing."""
    if previous is None or current is None:
        return None
    return previous - current


def change_text(change):
    """↑2, ↓1, – (unchanged), "" (not ranked then or now)."""
    if change is None:
        return ""
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "–"
