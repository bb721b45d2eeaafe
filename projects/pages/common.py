"""What several pages share: the user's projects through the FilterSet, the chosen action plan, bar rows."""

from actions.models import ActionPlan
from projects.models import Project
from projects.shared.filtersets import ProjectFilterSet


def scope_filterset(request, data=None):
    """The user's visible projects through the FilterSet (year defaulting to the current one)."""
    data = (data if data is not None else request.GET).copy()
    year = ProjectFilterSet.selected_year(data)
    data["year"] = str(year)
    filterset = ProjectFilterSet(data, queryset=Project.objects.visible_to(request.user), request=request)
    return filterset, year


def bar_rows(rows, *, value_key, link):
    """Rows for a horizontal SVG bar chart: each with its share of the largest value and a link."""
    largest = max((row.get(value_key) or 0 for row in rows), default=0) or 1
    return [
        {**row, "bar": float((row.get(value_key) or 0) / largest * 100), "href": link(row)}
        for row in rows
    ]


def chosen_plan(request):
    """All action plans, and the one ?plan= names (else the default plan)."""
    plans = list(ActionPlan.objects.all())
    chosen = next((p for p in plans if p.code == request.GET.get("plan")), None)
    return plans, chosen or next((p for p in plans if p.is_primary), None)


def active_params(filterset):
    return {name: value for name, value in filterset.data.items() if name in filterset.filters and value not in ("", None)}
