"""Supervision pages (督办): open and overdue items by level and region with their ageing, each figure a
link to its items; an item's page with its timeline, where the acting level answers and closes; opening
an item by hand from a project's page. Items are read through SupervisionItem.objects.visible_to(user)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from projects.domain import rules
from projects.domain.access import scope_key
from projects.domain.choices import RegionLevel, SupervisionLevel, SupervisionStatus
from projects.models import Project, Region, SupervisionItem
from projects.shared import versions
from projects.shared.filtersets import AGE_CHOICES, SupervisionItemFilterSet
from projects.shared.paginators import PAGE_SIZES, CachedCountPaginator, page_of, page_size
from projects.supervision import services as supervision
from projects.supervision.forms import CloseForm, OpenForm, ResponseForm

ITEMS_PAGE_SIZE = 50


def _link(params, **extra):
    return reverse("supervision") + "?" + urlencode({**params, **extra})


@login_required
def supervision_page(request):
    """Items of the user's scope: a table of regions × levels (open / overdue), ageing, and the list."""
    data = request.GET.copy()
    data.setdefault("status", SupervisionStatus.OPEN)
    visible = SupervisionItem.objects.visible_to(request.user)
    filterset = SupervisionItemFilterSet(data, queryset=visible, request=request)
    if not filterset.is_valid():
        return render(request, "projects/supervision.html", {"filterset": filterset, "invalid": True, "filters_open": True},
                      status=400)
    on = rules.today()
    params = {key: value for key, value in filterset.form.cleaned_data.items() if value not in (None, "")}
    params = {key: getattr(value, "pk", value) for key, value in params.items()}
    params = {key: ("true" if value is True else "false" if value is False else value) for key, value in params.items()}

    # The table and the ageing sum every open item of the scope: cached under the scope's data versions
    # (which every item write in it moves), the scope, the filters and the day, as the dashboard's figures are.
    by_county = request.user.region_id is not None and request.user.region.level != RegionLevel.PROVINCE
    summary = versions.cached_summary(
        ("supervision", scope_key(request.user), sorted(params.items()), on, translation.get_language()),
        lambda: _summary(filterset.qs.filter(status=SupervisionStatus.OPEN), filterset, params, on=on, by_county=by_county),
        user=request.user,
    )
    listed = filterset.qs.select_related("project__city", "project__county").order_by("due_on", "pk")
    per_page, size_note = page_size(request.GET, ITEMS_PAGE_SIZE)  # issue 26: 20 / 50 / 100, a wrong value said
    page, page_note = page_of(CachedCountPaginator(listed, per_page, user=request.user), request.GET)
    return render(request, "projects/supervision.html", {
        "filterset": filterset,
        "levels": list(SupervisionLevel),
        "rows": summary["rows"],
        "ageing": summary["ageing"],
        "page": page,
        "on": on,
        "query": urlencode({key: value for key, value in request.GET.items() if key != "page"}),
        "page_sizes": PAGE_SIZES,
        "per_page": per_page,
        "paging_notes": [note for note in (size_note, page_note) if note],
        "filters_applied": sum(1 for key, value in request.GET.items() if key in filterset.form.fields and value.strip()),
    })


def _summary(open_items, filterset, params, *, on, by_county):
    """Open and overdue items by region (one level below the user's) and level, and their ageing in working
    days; each figure with the link to its items."""
    region_field = "project__county" if by_county else "project__city"
    counts = (
        open_items.order_by().values(region_field, "level")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=on)))
    )
    regions = {region.pk: region for region in Region.objects.filter(pk__in={row[region_field] for row in counts})}
    table = {}
    for row in counts:
        region = row[region_field]
        line = table.setdefault(region, {"label": str(regions[region]) if region in regions else _("本级"),
                                         "code": regions[region].code if region in regions else "",
                                         "cells": {level: None for level in SupervisionLevel}})
        base = {**params, "county" if by_county else "city": region} if region else params
        line["cells"][row["level"]] = {
            "open": row["open"], "overdue": row["overdue"],
            "open_href": _link(base, level=row["level"], status=SupervisionStatus.OPEN),
            "overdue_href": _link(base, level=row["level"], status=SupervisionStatus.OPEN, overdue="true"),
        }
    ageing = [
        {"label": label, "count": filterset.filter_age(open_items, "age", value).count() if "age" not in params else None,
         "href": _link(params, age=value, status=SupervisionStatus.OPEN)}
        for value, label in AGE_CHOICES
    ]
    return {"rows": sorted(table.values(), key=lambda line: line["code"]), "ageing": ageing}


@login_required
def supervision_item(request, pk):
    """An item, its timeline, and — for the level that must act — the forms to answer and to close it."""
    item = get_object_or_404(
        SupervisionItem.objects.visible_to(request.user).select_related("project__city", "project__county", "problem"), pk=pk)
    acting = item.is_open and item.level in supervision.acting_levels(request.user, item.project)
    response_form, close_form = ResponseForm(), CloseForm()
    if request.method == "POST":
        if not acting:
            raise PermissionDenied
        try:
            if "close" in request.POST:
                close_form = CloseForm(request.POST)
                if close_form.is_valid():
                    supervision.item_close(user=request.user, item=item, result=close_form.cleaned_data["result"])
                    messages.success(request, _("督办事项已办结。"))
                    return redirect("supervision_item", pk=item.pk)
            else:
                response_form = ResponseForm(request.POST)
                if response_form.is_valid():
                    supervision.item_respond(user=request.user, item=item, text=response_form.cleaned_data["text"])
                    messages.success(request, _("办理情况已记录。"))
                    return redirect("supervision_item", pk=item.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return render(request, "projects/supervision_item.html", {
        "item": item,
        "steps": item.steps.select_related("user"),
        "acting": acting,
        "overdue": item.is_open and item.due_on < rules.today(),
        "response_form": response_form,
        "close_form": close_form,
    })


@login_required
@require_POST
def supervision_open(request, pk):
    """A city or the province opens an item by hand from the project's page."""
    project = get_object_or_404(Project.objects.visible_to(request.user), pk=pk)
    levels = supervision.openable_levels(request.user, project)
    if not levels:
        raise PermissionDenied
    form = OpenForm(request.POST, levels=levels)
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, _("%(field)s：%(errors)s") % {"field": form.fields[name].label, "errors": " ".join(errors)})
        return redirect(reverse("project_detail", args=[project.pk]) + "#supervision")
    item = supervision.item_open(user=request.user, project=project, description=form.cleaned_data["description"],
                                 level=form.cleaned_data["level"])
    messages.success(request, _("已督办。"))
    return redirect("supervision_item", pk=item.pk)
