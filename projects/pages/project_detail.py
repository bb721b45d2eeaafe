"""The project page: its figures, plans, reports, problems, nodes and history, the node form, and the
督办 items open on it."""

import datetime

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from actions.models import Action
from projects.domain import rules
from projects.domain.access import phone_shown
from projects.evidence.reads import documents_context
from projects.models import MilestoneKind, Project
from projects.shared import lights
from projects.shared.filtersets import ProjectFilterSet
from projects.supervision import milestones
from projects.supervision import services as supervision
from projects.supervision.forms import OpenForm


@login_required
def project_detail(request, pk, *, node_input=None, node_errors=(), status=200):
    """A project's page. After a refused save of its nodes, the typed dates are shown again with the errors
    (node_input: the posted form)."""
    year = ProjectFilterSet.selected_year(request.GET)
    on = rules.today()
    project = get_object_or_404(
        lights.annotate_progress(Project.objects.visible_to(request.user), year=year, on=on)
        .select_related("city", "county", "batch", "industry", "cluster", "contracting_leader")
        .prefetch_related("programmes", Prefetch("actions", queryset=Action.objects.select_related("plan"))),
        pk=pk,
    )
    light = rules.light_of(project.light_reason)
    can_edit = Project.objects.editable_by(request.user).filter(pk=project.pk).exists()
    history = project_history(project, phone_visible=can_edit)
    dated = {milestone.kind_id: milestone for milestone in project.milestones.all()}
    nodes = []
    for kind in MilestoneKind.objects.filter(Q(is_active=True) | Q(pk__in=dated)):
        milestone = dated.get(kind.pk)
        planned, actual = (milestone.planned_on, milestone.actual_on) if milestone else (None, None)
        typed = {field: (node_input or {}).get(f"node-{kind.pk}-{field}") for field in ("planned", "actual")}
        nodes.append({
            "kind": kind, "milestone": milestone,
            "planned": typed["planned"] if node_input is not None else (planned.isoformat() if planned else ""),
            "actual": typed["actual"] if node_input is not None else (actual.isoformat() if actual else ""),
            "late": rules.milestone_is_late(planned_on=planned, actual_on=actual, on=on),
        })
    open_levels = supervision.openable_levels(request.user, project)
    return render(request, "projects/project_detail.html", {
        "project": project,
        "year": year,
        "light": light,
        "reason": rules.describe_light(reason=project.light_reason, project=project, year=year, on=on),
        "time_progress": rules.time_progress(year=year, on=on),
        "plans": project.plans.order_by("-year"),
        "reports": project.reports.select_related("reported_by").order_by("-month"),
        "problems": project.problems.order_by("-raised_on"),
        "history": history[:20],
        "can_edit": can_edit,
        "nodes": nodes,
        "nodes_late": any(node["late"] for node in nodes),
        "node_errors": node_errors,
        "items": project.supervision_items.order_by("-opened_on", "-pk")[:20],
        "open_form": OpenForm(levels=open_levels) if open_levels else None,
        **documents_context(project, can_edit=can_edit),  # issue 26
    }, status=status)


@login_required
@require_POST
def project_milestones(request, pk):
    """Save the node dates typed on the project's page (those who may edit the project): all of them, or
    none when any is wrong — then the page comes back with what was typed and what is wrong."""
    project = get_object_or_404(Project.objects.editable_by(request.user), pk=pk)
    dates, errors = {}, []
    for kind in MilestoneKind.objects.all():
        if f"node-{kind.pk}-planned" not in request.POST:
            continue
        values = {}
        for field, label in (("planned", _("计划日期")), ("actual", _("实际日期"))):
            text = (request.POST.get(f"node-{kind.pk}-{field}") or "").strip()
            try:
                values[field] = datetime.date.fromisoformat(text) if text else None
            except ValueError:
                errors.append(_("%(node)s %(field)s：“%(value)s”不是有效日期（YYYY-MM-DD）") % {
                    "node": kind, "field": label, "value": text})
        dates[kind] = (values.get("planned"), values.get("actual"))
    errors += milestones.milestones_changes(project, dates)[1]  # every wrong node at once, typed or not
    if errors:
        return project_detail(request, pk, node_input=request.POST, node_errors=errors, status=400)
    changed = milestones.milestones_save(user=request.user, project=project, dates=dates)
    messages.success(request, _("已保存 %(count)d 个项目节点。") % {"count": changed})
    return redirect(reverse("project_detail", args=[project.pk]) + "#nodes")


HISTORY_LIMIT = 20


def project_history(project, *, phone_visible=True):
    """The project's last changes, newest first: who, when, and each field's old → new value, read in a
    fixed number of queries however long the history (related names are looked up together). The contact
    number's values are masked unless `phone_visible` (the reader may edit the project: issue 22)."""
    records = list(project.history.select_related("history_user").order_by("-history_date")[: HISTORY_LIMIT + 1])
    m2m_fields = [field.name for field in Project._meta.many_to_many]
    # simple-history diffs many-to-many fields with two queries per pair of records: read them all at once.
    m2m_values = {}
    for name in m2m_fields:
        field = Project._meta.get_field(name)
        through = apps.get_model("projects", f"HistoricalProject_{name}")
        key = field.m2m_reverse_field_name()
        sets = {record.history_id: set() for record in records}
        for history_id, value in through.objects.filter(history__in=records).values_list("history_id", key):
            sets[history_id].add(value)
        m2m_values[name] = sets
    raw = []
    for newer, older in zip(records, records[1:] + [None]):
        changes = []
        if older is not None:
            changes = [
                (change.field, change.old, change.new)
                for change in newer.diff_against(older, excluded_fields=m2m_fields, foreign_keys_are_objs=False).changes
            ]
            for name in m2m_fields:
                old, new = m2m_values[name][older.history_id], m2m_values[name][newer.history_id]
                if old != new:
                    changes.append((name, old, new))
        raw.append((newer, changes))
    # Foreign keys and many-to-many values arrive as ids: name them with one query per related model.
    wanted = {}
    for _record, changes in raw:
        for name, old, new in changes:
            field = Project._meta.get_field(name)
            if field.is_relation:
                wanted.setdefault(field.related_model, set()).update(_ids(field, old) | _ids(field, new))
    names = {model: {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)} for model, ids in wanted.items()}
    history = []
    for record, changes in raw[:HISTORY_LIMIT]:
        rows = []
        for name, old, new in changes:
            field = Project._meta.get_field(name)
            if name == "phone":
                old, new = phone_shown(old, may_edit=phone_visible), phone_shown(new, may_edit=phone_visible)
            rows.append((field.verbose_name, _display(field, old, names), _display(field, new, names)))
        history.append({"record": record, "changes": rows})
    return history


def _ids(field, value):
    if field.many_to_many:
        return set(value or ())
    return {value} if value is not None else set()


def _display(field, value, names):
    if field.is_relation:
        labels = [names.get(field.related_model, {}).get(pk, str(pk)) for pk in sorted(_ids(field, value))]
        return "、".join(labels) or "—"
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    return "—" if value in (None, "") else value
