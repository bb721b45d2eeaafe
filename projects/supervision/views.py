"""Supervision pages (督办): open and overdue items by level and region with their ageing, each figure a
link to its items; an item's page with its timeline, where the acting level answers and closes; opening
an item by hand from a project's page. Items are read through SupervisionItem.objects.visible_to(user)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
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
from projects.models.supervision import overdue_q
from projects.shared import versions
from projects.shared.paginators import PAGE_SIZES, CachedCountPaginator, page_of, page_size
from projects.supervision import services as supervision
from projects.supervision import signoff
from projects.supervision.filtersets import AGE_CHOICES, SupervisionItemFilterSet
from projects.supervision.forms import (
    CloseForm,
    ClosureRequestForm,
    ExtensionForm,
    NoteForm,
    OpenForm,
    ReasonForm,
    ResponseForm,
)

ITEMS_PAGE_SIZE = 50
DECISIONS_LISTED = 20


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
    # Issue 27: what awaits sign-off and extension decisions in the scope, and what awaits the user's own.
    awaiting = signoff.awaiting_counts(visible)
    signoffs, extensions = signoff.awaiting_decision(request.user, visible.select_related("project"))
    decisions = ([{"item": item, "label": _("待销号")} for item in signoffs.order_by("due_on", "pk")[:DECISIONS_LISTED]]
                 + [{"item": item, "label": _("延期申请")} for item in extensions.order_by("due_on", "pk")[:DECISIONS_LISTED]])
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
        "awaiting": awaiting,
        "decisions": decisions,
        "filters_applied": sum(1 for key, value in request.GET.items() if key in filterset.form.fields and value.strip()),
    })


def _summary(open_items, filterset, params, *, on, by_county):
    """Open and overdue items by region (one level below the user's) and level, and their ageing in working
    days; each figure with the link to its items."""
    region_field = "project__county" if by_county else "project__city"
    counts = (
        open_items.order_by().values(region_field, "level")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(on)))
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


# Issue 27: each transition's form (a prefix each, so that a refused form comes back with its input).
TRANSITION_FORMS = {
    "request": ClosureRequestForm, "extend": ExtensionForm, "signoff": NoteForm, "return": ReasonForm,
    "grant": NoteForm, "refuse": NoteForm, "urge": NoteForm, "escalate": NoteForm, "reopen": ReasonForm,
}


def _prefix(action):
    """Grant and refuse are one form with two buttons (the page shows forms["grant"])."""
    return "decide" if action in ("grant", "refuse") else action


def _done(action):
    return {
        "request": _("已申请办结，待销号。"), "extend": _("已申请延期，待审批。"), "signoff": _("已销号。"),
        "return": _("已退回。"), "grant": _("已同意延期。"), "refuse": _("已不同意延期。"), "urge": _("已催办。"),
        "escalate": _("已升级督办。"), "reopen": _("已重新督办。"),
    }[action]


def _transition(request, item, action, data):
    """Run the transition `action` with the form's cleaned data (projects.supervision.signoff)."""
    common = {"user": request.user, "item": item, "version": data.get("version")}
    if action == "request":
        signoff.item_request_closure(**common, text=data["text"], uploads=data["files"])
    elif action == "extend":
        signoff.item_request_extension(**common, due_on=data["due_on"], reason=data["reason"])
    elif action in ("grant", "refuse"):
        signoff.item_decide_extension(**common, grant=action == "grant", text=data["text"])
    elif action in ("return", "reopen"):
        signoff.TRANSITIONS[action](**common, reason=data["reason"])
    else:
        signoff.TRANSITIONS[action](**common, text=data["text"])


@login_required
def supervision_item(request, pk):
    """An item, its timeline, and the forms of what the user may do to it now: answer (办理情况), request
    closure, ask for an extension (the acting level); sign off, return, decide an extension (the signing
    level); urge, escalate, reopen (a level above). Another region's item answers 404 like a missing one."""
    item = get_object_or_404(
        SupervisionItem.objects.visible_to(request.user).select_related("project__city", "project__county", "problem"), pk=pk)
    acting = item.is_open and item.level in supervision.acting_levels(request.user, item.project)
    allowed = signoff.allowed(request.user, item)
    response_form = ResponseForm()
    forms = {action: TRANSITION_FORMS[action](prefix=_prefix(action), initial={"version": item.version}) for action in allowed}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action in TRANSITION_FORMS:
            form = TRANSITION_FORMS[action](request.POST, request.FILES, prefix=_prefix(action))
            forms["grant" if action == "refuse" else action] = form
            if form.is_valid():
                try:
                    _transition(request, item, action, form.cleaned_data)
                    messages.success(request, _done(action))
                    return redirect("supervision_item", pk=item.pk)
                except signoff.StaleState as error:
                    status = 409  # the loser of two at once: told, with their input kept
                    messages.error(request, " ".join(error.messages))
                except ValidationError as error:
                    status = 400
                    if hasattr(error, "error_dict"):
                        for field, errors in error.message_dict.items():
                            form.add_error(field if field in form.fields else None, errors)
                    else:
                        form.add_error(None, error.messages)
            else:
                status = 400
        elif not acting:
            raise PermissionDenied
        else:
            try:
                if "close" in request.POST:  # the former 办结 button: now a request for sign-off (issue 27)
                    close_form = CloseForm(request.POST)
                    if close_form.is_valid():
                        signoff.item_request_closure(user=request.user, item=item, text=close_form.cleaned_data["result"])
                        messages.success(request, _done("request"))
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
        "steps": item.steps.select_related("user").prefetch_related("attachments__document"),
        "acting": acting,
        "overdue": item.is_open and item.due_on < rules.today(),
        "response_form": response_form,
        "forms": forms,
        "signer_level": SupervisionLevel(signoff.signer_level(item)).label,
        "urged_today": "urge" in allowed and signoff.urged_today(item),
    }, status=status)


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
