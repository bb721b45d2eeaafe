"""What several pages share: the user's projects through the FilterSet, the chosen action plan, bar rows."""

from projects.shared import scopes


def scope_filterset(request, data=None):
    """The user's visible projects through the FilterSet (year defaulting to the current one)."""
    return scopes.scope_filterset(request.user, data if data is not None else request.GET, request=request)


def bar_rows(rows, *, value_key, link):
    """Rows for a horizontal SVG bar chart: each with its share of the largest value and a link."""
    largest = max((row.get(value_key) or 0 for row in rows), default=0) or 1
    return [
        {**row, "bar": float((row.get(value_key) or 0) / largest * 100), "href": link(row)}
        for row in rows
    ]


def chosen_plan(request):
    """All action plans, and the one ?plan= names (else the default plan)."""
    return scopes.action_plans(request.GET.get("plan"))
