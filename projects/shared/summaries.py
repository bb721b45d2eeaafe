"""Reads over a scope of projects annotated by lights.annotate_progress: totals and breakdowns, each one query.

The dashboard, the eight-actions page and the digests all summarise through these, so a figure means the
same thing wherever it is shown."""

from decimal import Decimal

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import translation
from django.utils.translation import gettext as _

from projects.domain import rules
from projects.domain.access import scope_key
from projects.domain.choices import COUNTED_REVIEW_STATUSES, Light, RegionLevel, ReviewStatus, Stage
from projects.models import MonthlyReport, SupervisionItem
from projects.shared import lights
from projects.shared.versions import cached_summary

LIGHTS = (Light.RED, Light.YELLOW, Light.GREEN, Light.NONE)


MONEY_KEYS = ("total_investment", "plan", "completed")


def _grouped(projects, keys, **expressions):
    """Sums per `keys` (and `expressions`) and per light reason: the light's SQL is evaluated once a row
    (grouping by it), not once per counted light."""
    return (
        projects.order_by()
        .values(*keys, "light_reason", **expressions)
        .annotate(
            count=Count("pk"),
            total_investment=Sum("total_investment"),
            plan=Sum("plan_investment"),
            completed=Sum("completed_year"),
        )
    )


def _empty_row():
    return {"count": 0, **{key: None for key in MONEY_KEYS}, **{light.value: 0 for light in LIGHTS}}


def _add(total, row):
    total["count"] += row["count"]
    for key in MONEY_KEYS:
        if row[key] is not None:
            total[key] = (total[key] or Decimal(0)) + row[key]
    total[rules.light_of(row["light_reason"]).value] += row["count"]


def with_rate(row, progress):
    """Add the completion rate and its lag behind time progress to an aggregate row."""
    row["rate"] = rules.completion_rate(completed=row.get("completed") or Decimal(0), planned=row.get("plan") or Decimal(0))
    row["lag"] = None if row["rate"] is None else progress - row["rate"]
    # Behind by more than the province's yellow threshold: shown in red in tables.
    row["behind"] = row["lag"] is not None and row["lag"] > rules.Thresholds.default().yellow_lag
    return row


def scope_totals(projects, *, progress):
    """Totals of a scope: counts, money, lights and stages, in one query."""
    total = _empty_row()
    stages = dict.fromkeys(Stage.values, 0)
    for row in _grouped(projects, ["stage"]):
        _add(total, row)
        stages[row["stage"]] += row["count"]
    total["stages"] = [(value, label, stages[value]) for value, label in Stage.choices]
    return with_rate(total, progress)


def _label(label_field):
    """The label of a breakdown row in the reader's language: the English name in English mode (regions,
    actions and programmes have one), falling back to the Chinese."""
    if (translation.get_language() or "").startswith("en") and label_field.endswith("__name"):
        return Coalesce(NullIf(F(label_field + "_en"), Value("")), F(label_field))
    return F(label_field)


def breakdown(projects, *, by, progress, label_field, order_field=None):
    """One row per value of `by` (e.g. "city", "county", "actions", "programmes") with the scope measures,
    in one query. For a many-to-many `by`, a project counts once under each of its values."""
    order_field = order_field or label_field
    rows = {}
    for row in _grouped(projects, [by, order_field], row_label=_label(label_field)):
        key = row[by]
        if key not in rows:
            rows[key] = {**_empty_row(), "key": key, "label": row["row_label"], "order": row[order_field]}
        _add(rows[key], row)
    ordered = sorted(rows.values(), key=lambda row: (row["order"] is None, row["order"] if row["order"] is not None else 0))
    return [with_rate(row, progress) for row in ordered]


def area_breakdown(projects, *, user, progress):
    """The breakdown a user's scope is read by: by city for the province, by county for a city-level
    unit, none for a county. Returns (title, rows); the unit's own projects (no county) show as
    "<unit>本级" (石家庄市本级, 雄安新区本级)."""
    region = user.region
    if user.is_superuser or region is None or region.level == RegionLevel.PROVINCE:
        field, title = "city", _("分市情况")
    elif region.is_city_level and region.level != RegionLevel.COUNTY:
        field, title = "county", _("分县情况")
    else:
        return None, []
    rows = breakdown(projects, by=field, label_field=f"{field}__name", order_field=f"{field}__code", progress=progress)
    for row in rows:
        row["field"] = field
        row["label"] = row["label"] or _("%(unit)s本级") % {"unit": region}
    return str(title), rows


def monthly_trend(projects, *, year):
    """Completed investment reported per month of `year` by the scope's projects, with a running total."""
    by_month = dict(
        MonthlyReport.objects.filter(project__in=projects.values("pk"), month__year=year)
        .order_by()
        .values_list("month")
        .annotate(total=Sum("completed_investment"))
    )
    running = Decimal(0)
    trend = []
    for month in sorted(by_month):
        running += by_month[month]
        trend.append({"month": month, "completed": by_month[month], "cumulative": running})
    return trend


def report_cycle(projects, *, month):
    """How the scope's reports for `month` stand (月度调度): submitted, approved and returned reports, and
    projects missing one (they owe it and have none that counts), in one query. Each count is what the
    project list shows for ?report_status=<key>&report_month=<month>."""
    owes = rules.owes_report_q(month)
    rows = (
        projects.order_by()
        .annotate(report_status=lights.report_status_of(month))
        .values("report_status")
        .annotate(count=Count("pk"), owing=Count("pk", filter=owes))
    )
    cycle = dict.fromkeys(REPORT_CYCLE_KEYS, 0)
    for row in rows:
        if row["report_status"] in (ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.RETURNED):
            cycle[row["report_status"]] += row["count"]
        if row["report_status"] not in COUNTED_REVIEW_STATUSES:
            cycle["missing"] += row["owing"]
    return cycle


# The keys of report_cycle, in the order they are shown.
REPORT_CYCLE_KEYS = (ReviewStatus.SUBMITTED.value, ReviewStatus.APPROVED.value, ReviewStatus.RETURNED.value, "missing")


def dashboard_summary(projects, *, user, year, on, plan, params):
    """Everything the dashboard (page and API) sums for a scope: totals, the area breakdown, actions of
    `plan`, programmes, the monthly trend and the month's report cycle. Cached under the data version;
    `params` (the filters applied to `projects`) and the user's scope name the cache entry."""
    from django.utils import translation


    progress = rules.time_progress(year=year, on=on)

    def summarise():
        area_title, areas = area_breakdown(projects, user=user, progress=progress)
        return {
            "totals": scope_totals(projects, progress=progress),
            "area_title": area_title,
            "areas": areas,
            "actions": breakdown(projects.filter(actions__plan=plan), by="actions", label_field="actions__name",
                                 order_field="actions__number", progress=progress) if plan else [],
            "programmes": breakdown(projects, by="programmes", label_field="programmes__name",
                                    order_field="programmes__order", progress=progress),
            "trend": monthly_trend(projects, year=year),
            "cycle": report_cycle(projects, month=rules.reporting_month(on)),
            "nodes_late": projects.filter(lights.nodes_late_exists(on)).count(),
            "supervision": supervision_counts(projects, on=on),
        }

    return cached_summary(
        ("dashboard", scope_key(user), sorted(params.items()), on, plan.pk if plan else None, translation.get_language()),
        summarise,
    )


def supervision_counts(projects, *, on):
    """Open and overdue supervision items of `projects` (a project queryset, scoped and filtered)."""
    return SupervisionItem.objects.open().filter(project__in=projects.values("pk")).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=on)))
