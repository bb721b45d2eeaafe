"""The dispatch cycle's pages: the monthly report form (月度填报: one row per project owed, checked and
confirmed as in every other path) and the review page (审核) of the city-level unit and the province."""

import datetime
import re
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from projects.dispatch.context import raised_with, rows_context
from projects.dispatch.reports import (
    KEEP,
    TRANSITIONS,
    EntryStatus,
    ReportEntry,
    reports_review,
    reports_submit,
)
from projects.domain import rules
from projects.domain.access import review_scope_q
from projects.domain.choices import ReviewAction, ReviewStatus, Stage, Status
from projects.domain.figures import parse_money
from projects.evidence.reads import photo_counts, photos_by_report
from projects.mail import delivery
from projects.models import PROJECT_ORDER, MonthlyReport, Project
from projects.shared import lights, summaries
from projects.shared.filtersets import ProjectFilterSet, county_choices
from projects.shared.paginators import CachedCountPaginator
from projects.shared.scopes import list_link

REPORT_PAGE_SIZE = 50


# ?report= on the report page: the projects still to report for the month (owed, and no report at all) and
# those whose report was returned; a returned report is also "missing" (lights.report_status_q).
REPORT_FILTERS = {
    "": None,
    "unreported": lambda month: lights.report_status_q("unreported", month),
    "returned": lambda month: lights.report_status_q("returned", month),
}

REPORT_FIELD = re.compile(r"^p(\d+)-(?:completed|funds|progress|problem|note|version)$")


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
    a note, saved together through reports_submit. Each row is decided on its own: unchanged
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
    report_filter = request.GET.get("report", "")
    if report_filter not in REPORT_FILTERS:
        raise Http404
    if report_filter:
        # The inbox's links (issue 26): exactly the rows it counts, by the list's rule for a month's reports.
        projects = projects.filter(REPORT_FILTERS[report_filter](month))
    page = CachedCountPaginator(projects, REPORT_PAGE_SIZE, user=request.user).get_page(request.GET.get("page"))
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
            raw = {key: request.POST.get(f"{prefix}-{key}", "").strip() for key in ("completed", "funds", "progress", "problem", "note")}
            if not any(raw[key] for key in ("completed", "funds", "progress", "problem")):
                continue  # a row left empty (or locked, whose inputs are not sent) is not reported this time
            values[project.pk] = raw
            amount, error = _parse_amount(raw["completed"])
            # Funds in place (招商引资 rows only, issue 25): a row without the input keeps what is stored.
            funds = KEEP
            if f"{prefix}-funds" in request.POST and not error:
                funds, error = _parse_amount(raw["funds"], required=False)
            if error:
                errors[project.pk] = error
                continue
            version = request.POST.get(f"{prefix}-version", "")
            # The warnings this row showed (their keys): resubmitting with a note confirms those, not others.
            confirmed = frozenset(filter(None, request.POST.get(f"{prefix}-confirm", "").split(",")))
            entries.append(ReportEntry(
                project=project, month=month, completed_investment=amount, image_progress=raw["progress"],
                problem=raw["problem"], note=raw["note"], expected_version=int(version) if version.isdigit() else 0,
                confirmed=confirmed, funds_in_place=funds,
            ))
        outcomes = reports_submit(user=user, entries=entries)
        saved = sum(1 for outcome in outcomes if outcome.saves_anything)
        unchanged = sum(1 for outcome in outcomes if outcome.status == EntryStatus.UNCHANGED and not outcome.new_problem)
        for outcome in outcomes:
            if outcome.saves_anything:
                values.pop(outcome.entry.project.pk, None)  # show what is stored now
            elif outcome.status in (EntryStatus.REFUSED, EntryStatus.NEEDS_NOTE):
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
    context = rows_context([project.pk for project in rows], month=month, on=today)
    photos = photo_counts([project.pk for project in rows], month)  # site photos as evidence (issue 26)
    table = []
    for project in rows:
        report = existing.get(project.pk)
        value = values.get(project.pk) or {
            "completed": "" if report is None else report.completed_investment,
            "funds": "" if report is None or report.funds_in_place is None else report.funds_in_place,
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
            "needs_note": bool(note and not isinstance(note, str) and note.status == EntryStatus.NEEDS_NOTE),
            "locked": report is not None and report.is_locked,
            "context": context.get(project.pk),
            "photos": photos.get(project.pk, 0),
        })
    return render(request, "projects/monthly_report.html", {
        "month": month,
        "months": _report_months(today),
        "deadline": deadline,
        "overdue": today > deadline,
        "table": table,
        "page": page,
        "filterset": filterset,
        "report_filter": report_filter,
        "query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
    }, status=400 if row_notes else 200)


def _parse_amount(text, required=True):
    """(amount, error): the same parser as the import of progress workbooks (funds in place are optional)."""
    if not text:
        return None, _("请填写本月完成投资（万元）。") if required else None
    try:
        return parse_money(text.replace("，", ","), Decimal(1)), None
    except ValueError as error:
        return None, str(error)


REVIEW_STATUS_FILTERS = [(status.value, status.label) for status in ReviewStatus] + [("all", gettext_lazy("全部"))]


@login_required
def report_review(request):
    """The reviewer's list (待审核 by default) of the reports whose review falls to them, for a month and
    county; approve or return them one by one or together (through reports_review)."""
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
        if action not in TRANSITIONS or not ids or not all(
                pk.isdigit() and version.isdigit() for pk, version in versions.items()):
            messages.error(request, _("请选择要审核的月报和操作。"))
            return redirect(request.get_full_path())
        try:
            result = reports_review(user=user, versions=versions, action=action, reason=reason,
                                              enqueue=delivery.enqueue)
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
    missing = summaries.report_cycle(scope, month=month)["missing"]
    listed = reports if status == "all" else reports.filter(review_status=status)
    listed = listed.select_related("project", "project__city", "project__county", "reported_by", "reviewed_by").order_by(
        *(f"project__{field}" for field in PROJECT_ORDER), "pk")
    page = CachedCountPaginator(listed, REPORT_PAGE_SIZE, user=request.user).get_page(request.GET.get("page"))
    reviewed = list(page.object_list)
    context = rows_context([report.project_id for report in reviewed], month=month, on=today, problems=True)
    photos = photos_by_report([report.pk for report in reviewed])
    for report in reviewed:
        report.context = context.get(report.project_id)
        report.photos = photos.get(report.pk, [])
        report.problems_raised = raised_with(report, report.context)
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
        "reports": reviewed,
        "query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
    })
