"""The ranking page (排名): the month's ranking of the reader's units with each indicator's rank and change, the
composite score, and month-on-month / year-on-year figures; and its .xlsx export (export.py)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from projects.domain import ranking as ranking_rules
from projects.domain.access import is_province_wide
from projects.rankings import export, links
from projects.rankings.params import BadParameter, read_params
from projects.rankings.reads import unit_ranking
from projects.shared import trends


def _level_choices(user):
    if is_province_wide(user):
        return [("city", _("各市")), ("county", _("各县（市、区）"))]
    if user.region is not None and user.region.is_city_level:
        return [("county", _("本市各县（市、区）")), ("city", _("各市"))]
    return []


@login_required
def rankings_page(request):
    try:
        month, level = read_params(request.GET, request.user)
    except BadParameter as error:
        return render(request, "projects/rankings/rankings.html", {"error": str(error)}, status=400)
    ranking = unit_ranking(request.user, month=month, level=level)
    rows = []
    for row in ranking.rows:
        starts = links.trend_links(row.region, level, month) if row.link else None
        trend = trends.card(row.trend, starts_links=starts)["rows"] if row.trend else []
        rows.append({"row": row, "change": ranking_rules.change_text(row.rank_change),
                     "cells": [(indicator, label, row.cells[indicator], ranking_rules.change_text(row.cells[indicator].change))
                               for indicator, label, _weight in ranking.weights],
                     # This month, the change since last month and since the same month last year, per figure.
                     "trend": [(figure["name"], [figure["cells"][i] for i in (0, 2, 4)]) for figure in trend]})
    return render(request, "projects/rankings/rankings.html", {
        "ranking": ranking,
        "rows": rows,
        "level_choices": _level_choices(request.user),
        "trend_card": trends.card(ranking.scope_trend, starts_links=trends.trend_links(month)),
        "export_query": urlencode({"month": month.strftime("%Y-%m"), "level": level}),
        "scored": [label for _value, label, weight in ranking.weights if weight > 0],
    })


@login_required
def rankings_export(request):
    try:
        month, level = read_params(request.GET, request.user)
    except BadParameter as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    ranking = unit_ranking(request.user, month=month, level=level)
    content = export.workbook_bytes(ranking)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="ranking-{level}-{month:%Y-%m}.xlsx"'
    return response
