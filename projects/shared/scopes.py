"""A scope read through the FilterSet: the user's visible projects with the filters asked for, the year they show
and the action plan chosen. The dashboard's page, its API, the map and the night's warm-up read a scope through
these, so that the same filters name the same cached sums (summaries.dashboard_summary)."""

from django.core.cache import cache
from django.urls import reverse
from django.utils.http import urlencode

from actions.models import ActionPlan
from projects.models import Project
from projects.shared import versions
from projects.shared.filtersets import ProjectFilterSet


def scope_filterset(user, data, *, request=None):
    """(the FilterSet over `user`'s visible projects with `data`, the year it shows): the year defaults to the
    current one."""
    data = data.copy()
    year = ProjectFilterSet.selected_year(data)
    data["year"] = str(year)
    return ProjectFilterSet(data, queryset=Project.objects.visible_to(user), request=request), year


def active_params(filterset):
    """The filters a (valid) FilterSet applies, by parameter: what its figures' links and cache entries carry."""
    return {name: value for name, value in filterset.data.items() if name in filterset.filters and value not in ("", None)}


def action_plans(code=None):
    """All action plans, and the one `code` names (else the primary plan, the eight special actions). Catalogue data,
    read once per epoch (a query of every cold dashboard)."""
    key = "projects:action-plans:" + versions.catalogue_key("action-plans")
    plans = cache.get(key)
    if plans is None:
        plans = list(ActionPlan.objects.all())
        cache.set(key, plans, versions.PIECE_CACHE_SECONDS)
    chosen = next((plan for plan in plans if plan.code == code), None)
    return plans, chosen or next((plan for plan in plans if plan.is_primary), None)


def list_link(base_params, **extra):
    """A link to the project list with the page's filters plus `extra` (None removes a parameter)."""
    params = {key: value for key, value in base_params.items() if value not in ("", None) and key not in ("page", "sort")}
    for key, value in extra.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return reverse("project_list") + "?" + urlencode(params)
