"""The eight-actions page (八项行动): each action of the chosen plan with its projects, amounts and lights."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from projects.domain import rules
from projects.pages.common import chosen_plan, scope_filterset
from projects.shared import summaries
from projects.shared.scopes import list_link


@login_required
def action_plan(request):
    plans, plan = chosen_plan(request)
    if plan is None:
        raise Http404
    filterset, year = scope_filterset(request, data={"year": request.GET.get("year", "")})
    filterset.is_valid()
    progress = rules.time_progress(year=year, on=rules.today())
    stats = {
        row["key"]: row
        for row in summaries.breakdown(filterset.qs.filter(actions__plan=plan), by="actions", label_field="actions__name",
                                       progress=progress)
    }
    actions = []
    for action in plan.actions.prefetch_related("measures", "targets"):
        row = stats.get(action.pk, {"count": 0, "plan": None, "completed": None, "rate": None, "red": 0, "yellow": 0, "green": 0})
        link = list_link({"year": year}, action=action.pk)
        actions.append({
            "action": action,
            "stats": row,
            "href": link,
            "light_links": {light: list_link({"year": year}, action=action.pk, light=light) for light in ("red", "yellow", "green")},
        })
    return render(request, "projects/actions.html", {
        "plans": plans, "plan": plan, "actions": actions, "year": year, "time_progress": progress,
    })
