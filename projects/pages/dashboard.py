"""The dashboard (驾驶舱): totals against time progress, lights, breakdowns, the trend and the red list, every
figure linked to the list filtered to exactly its projects."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from projects.domain import rules
from projects.domain.access import scope_key
from projects.domain.choices import Light
from projects.models import PROJECT_ORDER
from projects.pages.common import bar_rows, chosen_plan, scope_filterset
from projects.shared import forecast, summaries, trends, versions
from projects.shared.filtersets import REPORT_STATUS_CHOICES
from projects.shared.investment import investment_card_links
from projects.shared.scopes import active_params, list_link


@login_required
def dashboard(request):
    user = request.user
    on = rules.today()
    # Rendering the body costs more than reading its cached sums (a warm page was three quarters template); it
    # changes with the data (the scope's versions), the scope and its name, the review button, the parameters as
    # asked (filters, year, plan), the day and the language, and is kept until one of those changes. Only a valid
    # request's body is kept, so a kept one needs no FilterSet.
    may_review = user.has_perm("projects.review_monthlyreport")
    key = "projects:dashboard-body:" + versions.versioned_key(
        "dashboard-body", scope_key(user), user.region_id, may_review,
        sorted(request.GET.lists()), on, translation.get_language(), user=user,
    )
    stale = []

    def draw():
        filterset, year = scope_filterset(request)
        if not filterset.is_valid():
            raise Http404
        plans, plan = chosen_plan(request)
        context = _dashboard_context(request, filterset=filterset, year=year, params=active_params(filterset), plans=plans,
                                     plan=plan, on=on)
        stale.append(context["stale"])
        return render_to_string("projects/_dashboard_body.html", {**context, "may_review": may_review}, request)

    # Drawn once however many ask at once while cold; figures of seconds ago are shown once, not kept.
    body = versions.computed_once(key, draw, keep=lambda _body: not stale[0])
    return render(request, "projects/dashboard.html", {"body": mark_safe(body)})  # noqa: S308 — our template's output


def _dashboard_context(request, *, filterset, year, params, plans, plan, on):
    projects = filterset.qs
    progress = rules.time_progress(year=year, on=on)
    cycle_month = rules.reporting_month(on)

    summary = summaries.dashboard_summary(projects, user=request.user, year=year, on=on, plan=plan, params=params)
    totals = summary["totals"]
    def area_params(row):
        # A unit's own projects (no county) are its row without a key.
        return {row["field"]: row["key"]} if row["key"] else {"no_county": "true"}

    areas = bar_rows(summary["areas"], value_key="plan", link=lambda row: list_link(params, **area_params(row)))
    for row in areas:
        row["light_links"] = {
            light: list_link(params, **area_params(row), light=light) for light in ("red", "yellow", "green")
        }
    actions = bar_rows(summary["actions"], value_key="count", link=lambda row: list_link(params, action=row["key"]))
    programmes = bar_rows(
        summary["programmes"],
        value_key="count",
        link=lambda row: list_link(params, programme=row["key"]) if row["key"] else None,
    )
    stages = bar_rows(
        [{"key": value, "label": label, "count": count} for value, label, count in totals["stages"]],
        value_key="count",
        link=lambda row: list_link(params, stage=row["key"]),
    )
    trend = bar_rows(
        summary["trend"],
        value_key="completed",
        link=lambda row: list_link(params, reported_month=row["month"].strftime("%Y-%m")),
    )
    cycle_labels = dict(REPORT_STATUS_CHOICES)
    cycle = [
        {"key": key, "label": cycle_labels[key], "count": summary["cycle"][key],
         "href": list_link(params, report_status=key, report_month=cycle_month.strftime("%Y-%m"))}
        for key in summaries.REPORT_CYCLE_KEYS
    ]
    investment = investment_card_links(summary["investment"], params=params, year=year)
    red = [
        {"project": project, "reason": rules.describe_light(reason=project.light_reason, project=project, year=year, on=on)}
        for project in projects.filter(rules.light_q(Light.RED)).select_related("city", "county").order_by(*PROJECT_ORDER)[:20]
    ]
    return {
        "filterset": filterset,
        "year": year,
        "years": rules.selectable_years(on),
        "time_progress": progress,
        "totals": totals,
        "light_links": {light: list_link(params, light=light) for light in ("red", "yellow", "green", "none")},
        "all_link": list_link(params),
        "area_title": summary["area_title"],
        "areas": areas,
        "action_plans": plans,
        "action_plan": plan,
        "actions": actions,
        "programmes": programmes,
        "stages": stages,
        "trend": trend,
        "red_projects": red,
        "nodes_late": summary["nodes_late"],
        "nodes_late_link": list_link(params, nodes_late="true"),
        "supervision": summary["supervision"],
        "supervision_query": urlencode({key: value for key, value in params.items() if key in ("city", "county")}),
        "cycle": cycle,
        "investment": investment,
        "trend_card": trends.dashboard_trend_card(summary["trend_months"], params=params),  # 环比/同比 (issue 28)
        "forecast_card": forecast.forecast_view(summary["forecast"]),
        "stale": summary.get("stale", False),
        "cycle_month": cycle_month,
        "cycle_deadline": rules.report_deadline(cycle_month),
    }

