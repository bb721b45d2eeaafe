"""Pages for people who never open the admin: dashboard, project list and page, monthly report form,
eight-actions page, digest subscriptions. Every page reads through `Project.objects.visible_to(user)`
and filters through ProjectFilterSet, so a drill-down link means exactly what the list shows."""

import datetime
import re
from decimal import Decimal

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from actions.models import Action, ActionPlan

from projects import digests, exporting, importing, reporting, rules, selectors, services, supervision, tasks
from projects.access import is_leader, phone_shown, review_scope_q, scope_key
from projects.audit.services import audit_export
from projects.choices import Light, ReviewAction, ReviewStatus, Stage, Status
from projects.filtersets import REPORT_STATUS_CHOICES, ProjectFilterSet, county_choices
from projects.forms import OpenForm, SubscriptionForm
from projects.models import PROJECT_ORDER, DigestDelivery, MilestoneKind, MonthlyReport, Project
from projects.paginators import CachedCountPaginator

LIST_PAGE_SIZE = 50
REPORT_PAGE_SIZE = 50
REPORT_FIELD = re.compile(r"^p(\d+)-(?:completed|progress|problem|note|version)$")


# --- helpers ---------------------------------------------------------------------------------------------


def scope_filterset(request, data=None):
    """The user's visible projects through the FilterSet (year defaulting to the current one)."""
    data = (data if data is not None else request.GET).copy()
    year = ProjectFilterSet.selected_year(data)
    data["year"] = str(year)
    filterset = ProjectFilterSet(data, queryset=Project.objects.visible_to(request.user), request=request)
    return filterset, year


def list_link(base_params, **extra):
    """A link to the project list with the page's filters plus `extra` (None removes a parameter)."""
    params = {key: value for key, value in base_params.items() if value not in ("", None) and key not in ("page", "sort")}
    for key, value in extra.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return reverse("project_list") + "?" + urlencode(params)


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


# --- dashboard -------------------------------------------------------------------------------------------


@login_required
def dashboard(request):
    filterset, year = scope_filterset(request)
    if not filterset.is_valid():
        raise Http404
    projects = filterset.qs
    on = rules.today()
    progress = rules.time_progress(year=year, on=on)
    params = active_params(filterset)

    plans, plan = chosen_plan(request)
    cycle_month = rules.reporting_month(on)

    summary = selectors.dashboard_summary(projects, user=request.user, year=year, on=on, plan=plan, params=params)
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
        for key in selectors.REPORT_CYCLE_KEYS
    ]
    red = [
        {"project": project, "reason": rules.describe_light(reason=project.light_reason, project=project, year=year, on=on)}
        for project in projects.filter(rules.light_q(Light.RED)).select_related("city", "county").order_by(*PROJECT_ORDER)[:20]
    ]
    return render(request, "projects/dashboard.html", {
        "filterset": filterset,
        "year": year,
        "years": range(on.year + 1, on.year - 5, -1),
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
        "cycle_month": cycle_month,
        "cycle_deadline": rules.report_deadline(cycle_month),
    })


# --- project list, export, project page -----------------------------------------------------------------


@login_required
def project_list(request):
    filterset, year = scope_filterset(request)
    if not filterset.is_valid():
        page = CachedCountPaginator(Project.objects.none(), LIST_PAGE_SIZE).get_page(1)
        rows = render_to_string("projects/_project_rows.html", {"page": page, "year": year}, request)
        return render(request, "projects/project_list.html", {"filterset": filterset, "page": page, "year": year, "rows": rows}, status=400)
    projects = filterset.qs.select_related("city", "county")
    if filterset.form.cleaned_data.get("sort"):
        projects = projects.order_by(*projects.query.order_by, "pk")  # ties in any order would move between pages
    else:
        projects = projects.order_by(*PROJECT_ORDER)
    # The second light (项目节点) for the page's rows only: the count leaves the annotation out.
    projects = projects.annotate(nodes_late=rules.nodes_late_exists(rules.today()))
    page = CachedCountPaginator(projects, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    params = active_params(filterset)
    if not is_leader(request.user):
        filterset.form.fields.pop("contracted", None)  # only a 包联 leader has projects of their own to pick
    return render(request, "projects/project_list.html", {
        "filterset": filterset,
        "page": page,
        "year": year,
        "rows": _list_rows(request, page, year),
        "query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
        # Rendering the filters' selects (every county, cluster, industry…) costs more than the page's
        # queries; they change with the catalogue (the data version), the scope, the filters and the language.
        "filters_key": selectors.versioned_key(
            "project-filters", scope_key(request.user), sorted((k, v) for k, v in request.GET.lists() if k not in ("page", "sort")),
            translation.get_language(),
        ),
        "export_links": {fmt: reverse("project_export") + "?" + urlencode({**params, "format": fmt}) for fmt in exporting.FORMATS},
        "sort_links": _sort_links(request, filterset),
    })


def _list_rows(request, page, year):
    """The page's table rows. Rendering them costs more than their query; they change with the data (the
    data version), the scope, the filters, sort and page, the language and the day (time progress moves
    the lights), and are kept until one of those changes."""
    on = rules.today()
    key = "projects:rows:" + selectors.versioned_key(
        "project-rows", scope_key(request.user), sorted(request.GET.lists()), translation.get_language(), on, year,
    )
    rows = cache.get(key)
    if rows is None:
        for project in page.object_list:
            project.light = rules.light_of(project.light_reason)
            project.reason = rules.describe_light(reason=project.light_reason, project=project, year=year, on=on)
        rows = render_to_string("projects/_project_rows.html", {"page": page, "year": year}, request)
        cache.set(key, rows, selectors.SUMMARY_CACHE_SECONDS)
    return mark_safe(rows)  # noqa: S308 — our own template's output, escaped when it was rendered


def _sort_links(request, filterset):
    current = request.GET.get("sort", "")
    links = {}
    for _field, param in filterset.filters["sort"].param_map.items():
        descending = current == param
        query = request.GET.copy()
        query["sort"] = f"-{param}" if descending else param
        query.pop("page", None)
        links[param] = {"href": "?" + query.urlencode(), "active": current.lstrip("-") == param, "desc": current.startswith("-")}
    return links


@login_required
def project_export(request):
    fmt = request.GET.get("format", "xlsx")
    if fmt not in exporting.FORMATS:
        raise Http404
    filterset, year = scope_filterset(request)
    if not filterset.is_valid():
        raise Http404
    handle = exporting.export(filterset.qs.order_by(*PROJECT_ORDER), fmt=fmt, year=year, user=request.user)
    audit_export(request, model=Project, rows=handle.rows, fmt=fmt)  # issue 22: every export is audited
    return FileResponse(handle, as_attachment=True, filename=exporting.filename(fmt, year), content_type=exporting.CONTENT_TYPES[fmt])


@login_required
def project_detail(request, pk, *, node_input=None, node_errors=(), status=200):
    """A project's page. After a refused save of its nodes, the typed dates are shown again with the errors
    (node_input: the posted form)."""
    year = ProjectFilterSet.selected_year(request.GET)
    on = rules.today()
    project = get_object_or_404(
        Project.objects.visible_to(request.user)
        .with_progress(year=year, on=on)
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
    errors += services.milestones_changes(project, dates)[1]  # every wrong node at once, typed or not
    if errors:
        return project_detail(request, pk, node_input=request.POST, node_errors=errors, status=400)
    changed = services.milestones_save(user=request.user, project=project, dates=dates)
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


# --- monthly report form and review (月度调度, 审核) -------------------------------------------------------


def _last_ended_month():
    return rules.add_months(rules.month_start(rules.today()), -1)


def _parse_month(value, default):
    """The month asked for; reports are only for months that have ended."""
    try:
        month = datetime.date.fromisoformat(f"{value}-01") if value else default
    except ValueError:
        return default
    return min(month, _last_ended_month())


def _report_months(today):
    return [rules.add_months(rules.month_start(today), -offset) for offset in range(1, 14)]


@login_required
def monthly_report(request):
    """One page of the user's projects for a month: completed investment, image progress, problems and
    a note, saved together through reporting.reports_submit. Each row is decided on its own: unchanged
    rows are not written, a row changed by someone else since the page was loaded is refused with a
    message, a row whose checks fire waits for a note; the others are saved."""
    user = request.user
    if not user.has_perm("projects.add_monthlyreport"):
        raise PermissionDenied
    today = rules.today()
    month = _parse_month(request.GET.get("month"), rules.reporting_month(today))
    deadline = rules.report_deadline(month)
    # Every project under construction reports, whether or not it has a plan for this year: no year filter.
    filterset = ProjectFilterSet({"q": request.GET.get("q", ""), "county": request.GET.get("county", "")},
                                 queryset=Project.objects.visible_to(user), request=request)
    if not filterset.is_valid():
        raise Http404
    projects = (
        filterset.qs.filter(pk__in=Project.objects.editable_by(user).values("pk"))
        .exclude(status=Status.CANCELLED)
        .exclude(stage=Stage.PREPARATORY)
        .select_related("city", "county")
        .order_by(*PROJECT_ORDER)
    )
    page = CachedCountPaginator(projects, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)

    def stored_reports():
        return {r.project_id: r for r in MonthlyReport.objects.filter(project__in=rows, month=month).select_related("reported_by")}

    values, row_notes = {}, {}
    if request.method == "POST":
        # The rows the page posted, wherever they are now in the list (an import may have shifted pages).
        posted = {int(match[1]) for key in request.POST if (match := REPORT_FIELD.match(key))}
        entries, errors = [], {}
        for project in projects.filter(pk__in=posted):
            prefix = f"p{project.pk}"
            raw = {key: request.POST.get(f"{prefix}-{key}", "").strip() for key in ("completed", "progress", "problem", "note")}
            if not any(raw[key] for key in ("completed", "progress", "problem")):
                continue  # a row left empty (or locked, whose inputs are not sent) is not reported this time
            values[project.pk] = raw
            amount, error = _parse_amount(raw["completed"])
            if error:
                errors[project.pk] = error
                continue
            version = request.POST.get(f"{prefix}-version", "")
            # The warnings this row showed (their keys): resubmitting with a note confirms those, not others.
            confirmed = frozenset(filter(None, request.POST.get(f"{prefix}-confirm", "").split(",")))
            entries.append(reporting.ReportEntry(
                project=project, month=month, completed_investment=amount, image_progress=raw["progress"],
                problem=raw["problem"], note=raw["note"], expected_version=int(version) if version.isdigit() else 0,
                confirmed=confirmed,
            ))
        outcomes = reporting.reports_submit(user=user, entries=entries)
        saved = sum(1 for outcome in outcomes if outcome.saves_anything)
        unchanged = sum(1 for outcome in outcomes if outcome.status == reporting.EntryStatus.UNCHANGED and not outcome.new_problem)
        for outcome in outcomes:
            if outcome.saves_anything:
                values.pop(outcome.entry.project.pk, None)  # show what is stored now
            elif outcome.status in (reporting.EntryStatus.REFUSED, reporting.EntryStatus.NEEDS_NOTE):
                row_notes[outcome.entry.project.pk] = outcome
            else:
                values.pop(outcome.entry.project.pk, None)
        attention = len(errors) + len(row_notes)
        if attention:
            messages.warning(request, _("已保存 %(saved)d 个项目，%(unchanged)d 个未变；%(attention)d 行需要处理，见各行提示。") % {
                "saved": saved, "unchanged": unchanged, "attention": attention})
            for pk, error in errors.items():
                row_notes[pk] = error
        else:
            messages.success(request, _("已保存 %(saved)d 个项目的 %(month)s 月度调度，%(unchanged)d 个未变。") % {
                "saved": saved, "unchanged": unchanged, "month": month.strftime("%Y-%m")})
            return redirect(request.get_full_path())

    existing = stored_reports()
    table = []
    for project in rows:
        report = existing.get(project.pk)
        value = values.get(project.pk) or {
            "completed": "" if report is None else report.completed_investment,
            "progress": "" if report is None else report.image_progress,
            "problem": "",
            "note": "" if report is None else report.note,
        }
        note = row_notes.get(project.pk)
        table.append({
            "project": project,
            "report": report,
            "value": value,
            "version": report.version if report else 0,
            "error": note if isinstance(note, str) else (note.message if note else None),
            "warnings": note.warnings if note and not isinstance(note, str) else [],
            "confirm": ",".join(warning.key for warning in note.warnings) if note and not isinstance(note, str) else "",
            "needs_note": bool(note and not isinstance(note, str) and note.status == reporting.EntryStatus.NEEDS_NOTE),
            "locked": report is not None and report.is_locked,
        })
    return render(request, "projects/monthly_report.html", {
        "month": month,
        "months": _report_months(today),
        "deadline": deadline,
        "overdue": today > deadline,
        "table": table,
        "page": page,
        "filterset": filterset,
        "query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
    }, status=400 if row_notes else 200)


def _parse_amount(text):
    """(amount, error): the same parser as the import of progress workbooks."""
    if not text:
        return None, _("请填写本月完成投资（万元）。")
    try:
        return importing.parse_money(text.replace("，", ","), Decimal(1)), None
    except ValueError as error:
        return None, str(error)


REVIEW_STATUS_FILTERS = [(status.value, status.label) for status in ReviewStatus] + [("all", gettext_lazy("全部"))]


@login_required
def report_review(request):
    """The reviewer's list (待审核 by default) of the reports whose review falls to them, for a month and
    county; approve or return them one by one or together (through reporting.reports_review)."""
    user = request.user
    if not user.has_perm("projects.review_monthlyreport"):
        raise PermissionDenied
    today = rules.today()
    month = _parse_month(request.GET.get("month"), rules.reporting_month(today))
    status = request.GET.get("status") or ReviewStatus.SUBMITTED
    if status not in dict(REVIEW_STATUS_FILTERS):
        raise Http404
    counties = county_choices(request)
    county = None
    if request.GET.get("county"):
        county = counties.filter(pk=request.GET["county"] if request.GET["county"].isdigit() else None).first()
        if county is None:
            raise Http404  # another region's county is as unknown as a missing one
    reports = MonthlyReport.objects.reviewable_by(user).filter(month=month)
    if county is not None:
        reports = reports.filter(project__county=county)

    if request.method == "POST":
        single = request.POST.get("one", "")
        if single:
            action, _sep, pk = single.partition(":")
            ids, reason = [pk], request.POST.get(f"reason-{pk}", "")
        else:
            action, ids, reason = request.POST.get("action", ""), request.POST.getlist("selected"), request.POST.get("reason", "")
        versions = {pk: request.POST.get(f"version-{pk}", "") for pk in ids}
        if action not in reporting.TRANSITIONS or not ids or not all(
                pk.isdigit() and version.isdigit() for pk, version in versions.items()):
            messages.error(request, _("请选择要审核的月报和操作。"))
            return redirect(request.get_full_path())
        try:
            result = reporting.reports_review(user=user, versions=versions, action=action, reason=reason,
                                              enqueue=tasks.enqueue_delivery)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(request.get_full_path())
        if result.done:
            messages.success(request, _("已%(action)s %(count)d 份月报。") % {"action": ReviewAction(action).label, "count": len(result.done)})
        for report, _pk, why in result.skipped[:10]:
            messages.warning(request, f"{report.project.name if report else _('月报')}：{why}")
        return redirect(request.get_full_path())

    by_status = dict(reports.order_by().values_list("review_status").annotate(count=Count("pk")))
    scope = Project.objects.visible_to(user).filter(review_scope_q(user, project_prefix=""))
    if county is not None:
        scope = scope.filter(county=county)
    missing = selectors.report_cycle(scope, month=month)["missing"]
    listed = reports if status == "all" else reports.filter(review_status=status)
    listed = listed.select_related("project", "project__city", "project__county", "reported_by", "reviewed_by").order_by(
        *(f"project__{field}" for field in PROJECT_ORDER), "pk")
    page = CachedCountPaginator(listed, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    params = {"month": month.strftime("%Y-%m"), **({"county": county.pk} if county else {})}
    tabs = [
        {"value": value, "label": label, "count": sum(by_status.values()) if value == "all" else by_status.get(value, 0),
         "href": "?" + urlencode({**params, "status": value}), "active": value == status}
        for value, label in REVIEW_STATUS_FILTERS
    ]
    return render(request, "projects/report_review.html", {
        "month": month,
        "months": _report_months(today),
        "deadline": rules.report_deadline(month),
        "status": status,
        "tabs": tabs,
        "missing": missing,
        "missing_href": list_link({"report_month": month.strftime("%Y-%m"), **({"county": county.pk} if county else {})},
                                  report_status="missing"),
        "counties": counties.filter(pk__in=Project.objects.filter(review_scope_q(user, project_prefix="")).values("county")),
        "county": county,
        "page": page,
        "query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
    })


# --- eight actions ---------------------------------------------------------------------------------------


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
        for row in selectors.breakdown(filterset.qs.filter(actions__plan=plan), by="actions", label_field="actions__name",
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


# --- profile ---------------------------------------------------------------------------------------------


@login_required
def profile(request):
    """The user's own digest subscriptions and what was sent to them."""
    user = request.user
    active = list(user.digest_subscriptions.filter(is_active=True).prefetch_related("programmes", "actions"))
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            digests.subscriptions_set(
                user=user,
                frequencies=form.cleaned_data["frequencies"],
                programmes=form.cleaned_data["programmes"],
                actions=form.cleaned_data["actions"],
            )
            messages.success(request, _("简报订阅已保存。"))
            return redirect("profile")
    else:
        first = active[0] if active else None
        form = SubscriptionForm(
            initial={
                "frequencies": [s.frequency for s in active],
                "programmes": list(first.programmes.all()) if first else [],
                "actions": list(first.actions.all()) if first else [],
            }
        )
    deliveries = DigestDelivery.objects.filter(user=user).order_by("-period_start")[:12]
    return render(request, "projects/profile.html", {"form": form, "deliveries": deliveries, "has_email": bool(user.email)})
