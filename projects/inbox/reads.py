"""What a user owes this month (待办, issue 26), read in a fixed number of queries: projects to report, reports
returned to them with the reason, reports to review, 督办 items at their level to answer or overdue, and their
uploaded lists waiting for confirmation. Deadlines come from the working-day calendar (rules.report_deadline,
the items' own due dates).

Every item says which rows it counts and links to a page filtered to exactly those rows, read by the same rule:
the report page's ?report=unreported|returned (lights.report_status_q, as the list's report_status), the review
page's ?status=submitted, the supervision page's ?level=&status=open[&overdue=true]. Each read starts from the
user's own scope (visible_to, editable_by, reviewable_by), so nothing of another region is ever counted."""

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Min, Window
from django.db.models.functions import RowNumber
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from projects.domain import rules
from projects.domain.access import (
    is_province_wide,
    province_reviews_q,
    review_level,
    review_scope_q,
    scope_key,
    user_role,
)
from projects.domain.choices import ReviewStatus, Role, SupervisionLevel, SupervisionStatus
from projects.models import PROJECT_ORDER, ImportBatch, MonthlyReport, Project, SupervisionItem
from projects.models.supervision import awaiting_signoff_q, extension_asked_q, overdue_q, signed_off_q
from projects.shared import lights, versions
from projects.shared.pieces import (
    cached_per_group,
    cached_per_region,
    fold_pieces,
    part_values,
    read_pieces,
    region_slots,
    slots_of_places,
)

# Months back the report and review pages offer (their month choice): older returned or unreviewed
# reports are not reachable from them, so not owed here either.
MONTHS_BACK = 13
# A preview older than this is taken as abandoned (the uploader re-uploads a list that changed since).
IMPORT_PREVIEW_DAYS = 30
# The menu's count is cached under the scope's data versions (which reports, reviews and 督办 writes move);
# uploads move none of them, so a new preview reaches the count within this time (the inbox page at once).
COUNT_CACHE_SECONDS = 120
# Returned reports listed one by one with their reasons (the rest through the link).
RETURNED_LISTED = 20

# The 督办 level a role answers at (supervision.services.acting_keys: a county's editors, a city's
# coordinators, the province's administrators, a leader for the projects they contract).
ROLE_LEVELS = {
    Role.COUNTY_EDITOR: SupervisionLevel.COUNTY,
    Role.CITY_COORDINATOR: SupervisionLevel.CITY,
    Role.PROVINCE_ADMIN: SupervisionLevel.PROVINCE,
    Role.LEADER: SupervisionLevel.LEADER,
}

IMPORT_CONFIRM_URLS = {"projects": "admin:projects_project_import_confirm", "progress": "admin:projects_monthlyreport_import_confirm"}


@dataclass
class InboxItem:
    """One line of the inbox: what is owed, how many, by when, and the link to exactly those rows."""

    kind: str  # report, returned, review, supervision, import
    title: str
    count: int
    href: str
    deadline: datetime.date | None = None
    overdue: bool = False
    note: str = ""
    rows: list = field(default_factory=list)  # what is listed under the line (returned reports, batches)
    counted: bool = True  # in the menu's number (a line that is a part of another line's rows is not)


def _report_link(month, **params):
    return reverse("monthly_report") + "?" + urlencode({"month": month.strftime("%Y-%m"), **params})


def _months(on):
    """The months the report and review pages offer, oldest first: (first, last)."""
    last = rules.add_months(rules.month_start(on), -1)
    return rules.add_months(last, -(MONTHS_BACK - 1)), last


def _returned_reports(projects, *, on):
    """The reports of `projects` returned to their reporters, of the months the report page offers."""
    first, last = _months(on)
    return MonthlyReport.objects.filter(project__in=projects.values("pk"), review_status=ReviewStatus.RETURNED,
                                        month__gte=first, month__lte=last)


# What a slot owes is one piece for every scope (its projects' rows are the same whoever reads them): kept under this
# name and the day, read by the province's, its city's and its county's users alike.
OWED_PIECES = "inbox-owed"


def _owed_rows(projects, by_part=None, *, on, reviewed=None):
    """What `projects` owe, whoever reads it: {"report": their unreported projects by area, "returned": their returned
    reports by month and area, "review": the submitted reports of `reviewed` (by default `projects`) by month, area and
    whether the province reviews them (access.province_reviews_q; else their city)}, of the months the report and review
    pages offer; by part too when `by_part` (pieces.Parts) is given. _owed_counts keeps of it what falls to a user."""
    month = rules.reporting_month(on)
    first, last = _months(on)
    part = part_values(by_part)
    by_region = {"city": F("project__city_id"), "county": F("project__county_id"), **part_values(by_part, "project__")}
    reviewer = {"province": ExpressionWrapper(province_reviews_q(), output_field=BooleanField())}
    reviewed = projects if reviewed is None else reviewed
    return {
        "report": list(projects.filter(lights.report_status_q("unreported", month))
                       .order_by().values("city", "county", **part).annotate(count=Count("pk"))),
        # Counted by project, not pk: read from the returned reports' own index alone (projects_report_returned).
        "returned": list(_returned_reports(projects, on=on).order_by()
                         .values("month", **by_region).annotate(count=Count("project"))),
        "review": list(MonthlyReport.objects.filter(project__in=reviewed.values("pk"), month__range=(first, last),
                                                    review_status=ReviewStatus.SUBMITTED)
                       .order_by().values("month", **by_region, **reviewer).annotate(count=Count("pk"))),
    }


def _owed_pieces(slots, *, on, missing=None):
    """The pieces (pieces.cached_per_group's, folded) of what the `slots` (region_slots, split) owe, shared by every
    scope; `missing`: those slots alone, kept whole (a write's, owed_kept_on_write)."""
    def read(missing):
        def rows(where, by_part):
            return _owed_rows(Project.objects.filter(where), by_part, on=on)

        return read_pieces(rows, missing, slots)

    parts = (OWED_PIECES, on)
    if missing is not None:
        return cached_per_region(parts, missing, read)
    return cached_per_group(parts, slots, read, lambda pieces: fold_pieces(pieces, summed={"count"}, area=None),
                            folded_as="count")


def owed_kept_on_write(places, *, on=None):
    """Count what the slots of `places` (a write's, versions.places_written) owe and keep it, so that the readers after
    a report find their menu's count warm: after a county's report every reader counted the written part again (20 ms
    of a cold province list at 100,000 projects)."""
    _owed_pieces(None, on=on or rules.today(), missing=slots_of_places(places))


def _owed_counts(user, *, on):
    """What the report, returned and review lines count: {"report": n, "returned": {month: n}, "review": {month: n}}.
    Counted by region and cached per region under its version (_owed_pieces: pieces.cached_per_group, the dashboard's
    slots), one piece for every scope: a county's report recounts its part of that county (when it commits:
    owed_kept_on_write), not the province's 100,000 (issue 24). The user's permissions are read as every view reads
    them, kept under the access version (access.held_access): no query."""
    may_report = user.has_perm("projects.add_monthlyreport")
    may_edit = user.has_perm("projects.change_project")
    owes = may_report and may_edit  # editable_by: the reports of the projects they may edit
    reviews = review_level(user)
    counts = {"report": 0, "returned": {}, "review": {}}
    if not (owes or reviews):
        return counts
    slots = region_slots(user, split=True)
    if slots is None:  # a 包联 leader's projects lie anywhere: counted at once
        reviewed = Project.objects.filter(review_scope_q(user, project_prefix="", may_review=bool(reviews)))
        pieces = [_owed_rows(Project.objects.editable_by(user, may_edit=may_edit), on=on, reviewed=reviewed)]
    else:
        pieces = _owed_pieces(slots, on=on)
    for piece in pieces:
        if owes:
            counts["report"] += sum(row["count"] for row in piece["report"])
            for row in piece["returned"]:
                counts["returned"][row["month"]] = counts["returned"].get(row["month"], 0) + row["count"]
        # The pieces of a scope hold its projects alone: a city's are its city's, each report reviewed by it or by the
        # province (review_scope_q's rule).
        for row in piece["review"] if reviews else ():
            if row["province"] == (reviews == "province"):
                counts["review"][row["month"]] = counts["review"].get(row["month"], 0) + row["count"]
    return counts


def _to_report(user, *, on, owed):
    month = rules.reporting_month(on)
    deadline = rules.report_deadline(month)
    if not owed["report"]:
        return []
    return [InboxItem("report", _("%(month)s 应报未报的项目") % {"month": month.strftime("%Y-%m")}, owed["report"],
                      _report_link(month, report="unreported"), deadline, on > deadline)]


def _returned(user, *, on, owed, listed=True):
    """A line per month with returned reports, newest first; `listed`: with the reports and their reasons (the
    inbox page), else counted only (the menu's number)."""
    by_month = {}
    if listed and owed["returned"]:
        reports = _returned_reports(Project.objects.editable_by(user), on=on)
        order = [F(f"project__{name}").asc() for name in PROJECT_ORDER]
        # The first RETURNED_LISTED of each month, not every returned report of the scope (thousands, province-wide).
        listed_first = reports.annotate(place=Window(RowNumber(), partition_by=F("month"), order_by=order))
        for report in (listed_first.filter(place__lte=RETURNED_LISTED).select_related("project", "reviewed_by")
                       .order_by("-month", *(f"project__{name}" for name in PROJECT_ORDER))):
            by_month.setdefault(report.month, []).append(report)
    return [
        InboxItem("returned", _("%(month)s 被退回的月报") % {"month": month.strftime("%Y-%m")}, count,
                  _report_link(month, report="returned"), rules.report_deadline(month), on > rules.report_deadline(month),
                  rows=by_month.get(month, []))
        for month, count in sorted(owed["returned"].items(), reverse=True)
    ]


def _to_review(user, *, on, owed):
    return [
        InboxItem("review", _("%(month)s 待审核的月报") % {"month": month.strftime("%Y-%m")}, count,
                  reverse("report_review") + "?" + urlencode({"month": month.strftime("%Y-%m"), "status": ReviewStatus.SUBMITTED}))
        for month, count in sorted(owed["review"].items(), reverse=True)
    ]


def _supervision(user, *, on):
    """The 督办 lines, read in two queries (when not kept, _supervision_counts): items open at the user's level (and how
    many are overdue), along their level's index; and (issue 27) items awaiting their sign-off (销号) and extension
    requests awaiting their decision (signed_off_q, the rule of projects.supervision.signoff.signer_level)."""
    level = ROLE_LEVELS.get(user_role(user))
    if level is None or (level == SupervisionLevel.PROVINCE and not is_province_wide(user)):
        return []
    signs = signed_off_q(level)
    awaiting = ((awaiting_signoff_q(), _("待销号的督办事项"), SupervisionStatus.SIGNOFF),
                (extension_asked_q(), _("待审批的延期申请"), SupervisionStatus.OPEN))
    found, decided = _supervision_counts(user, level=level, on=on, signs=signs, awaiting=[where for where, *_rest in awaiting])
    lines = []
    if found["open"]:
        link = reverse("supervision") + "?" + urlencode({"level": level, "status": SupervisionStatus.OPEN})
        lines.append(InboxItem("supervision", _("待办理的督办事项（%(level)s）") % {"level": SupervisionLevel(level).label},
                               found["open"], link, found["next_due"], bool(found["overdue"])))
        if found["overdue"]:
            lines.append(InboxItem("supervision", _("其中已逾期"), found["overdue"], link + "&overdue=true", overdue=True,
                                   counted=False))
    if signs is None:
        return lines
    for index, (_where, label, status) in enumerate(awaiting):
        count = decided[f"count_{index}"]
        if count:
            href = (reverse("supervision_item", args=[decided[f"item_{index}"]]) if count == 1
                    else reverse("supervision") + "?" + urlencode({"status": status}) + "#awaiting")
            lines.append(InboxItem("supervision", label, count, href))
    return lines


def _supervision_counts(user, *, level, on, signs, awaiting):
    """The 督办 lines' figures: (open at `level`, overdue and the next due date; the items awaiting the user's decision,
    per kind of `awaiting`, with the smallest id). Read from the items and the projects' places alone, they are kept
    under the items' version (versions.supervision_key): a report in the scope leaves them warm."""
    key = "projects:inbox-supervision:" + versions.supervision_key(
        "inbox-supervision", user.pk, scope_key(user), level, on)

    def read():
        items = SupervisionItem.objects.visible_to(user)
        acting = items.filter(status=SupervisionStatus.OPEN, level=level)
        if level == SupervisionLevel.LEADER:
            acting = acting.filter(project__contracting_leader=user)
        found = acting.aggregate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(on)), next_due=Min("due_on"))
        if signs is None:
            return found, {}
        measures = {}
        for index, where in enumerate(awaiting):
            measures[f"count_{index}"] = Count("pk", filter=where)
            measures[f"item_{index}"] = Min("pk", filter=where)  # the item itself, when it is the only one
        return found, items.filter(signs & (awaiting[0] | awaiting[1])).aggregate(**measures)

    return versions.computed_once(key, read)


def _imports(user, *, on):
    since = timezone.now() - datetime.timedelta(days=IMPORT_PREVIEW_DAYS)
    batches = list(ImportBatch.objects.filter(user=user, status=ImportBatch.Status.PREVIEWED, result__errors=[], created_at__gte=since)
                   .defer("data", "result").order_by("-created_at"))
    lines = []
    for batch in batches:
        try:
            href = reverse(IMPORT_CONFIRM_URLS[batch.kind], args=[batch.pk])
        except (KeyError, NoReverseMatch):
            continue
        lines.append(InboxItem("import", _("待确认导入：%(file)s") % {"file": batch.filename}, 1, href,
                               note=batch.preview_summary, rows=[batch]))
    return lines


def inbox_items(user, *, on=None, listed=True):
    """The user's inbox, in the order it is worked through: to report, returned, to review, 督办, imports.
    Without `listed`, the lines' counts only (no returned reports under their line): the menu's number."""
    on = on or rules.today()
    if not (user.is_authenticated and user.is_active):
        return []
    owed = _owed_counts(user, on=on)
    items = _to_report(user, on=on, owed=owed) + _returned(user, on=on, owed=owed, listed=listed)
    items += _to_review(user, on=on, owed=owed) + _supervision(user, on=on) + _imports(user, on=on)
    count_store(user, items, on=on)
    return items


def total(items):
    """The menu's number: everything owed once (overdue 督办 items are already among the open ones)."""
    return sum(item.count for item in items if item.counted)


def _count_key(user, on):
    return "projects:inbox:" + versions.versioned_key("inbox", user.pk, on, user=user)


def count_store(user, items, *, on):
    cache.set(_count_key(user, on), total(items), timeout=COUNT_CACHE_SECONDS)


def inbox_count(user, *, on=None):
    """The number in the menu's 待办 (n): cached under the versions of the user's scope (no query while warm), counted
    once however many of the user's pages ask at once while cold (computed_once)."""
    on = on or rules.today()
    if not (user.is_authenticated and user.is_active):
        return 0
    # inbox_items keeps the count (count_store, as the inbox page does): computed_once keeps nothing of its own.
    return versions.computed_once(_count_key(user, on), lambda: total(inbox_items(user, on=on, listed=False)),
                                  keep=lambda _count: False)

