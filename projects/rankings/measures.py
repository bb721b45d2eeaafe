"""The ranking's indicators of each unit for a month, read in SQL grouped by unit (a fixed number of queries), and
the rows assembled from them by the rules of domain.ranking.

Each indicator of a month (RankingIndicator), judged on the month's end (today while the month runs):
- progress: completion rate this year through the month (shared.trends) minus time progress, in points;
- punctuality: of the projects owing the month's report (rules.owes_report_q), the share reported on time:
  a counted report submitted by rules.report_deadline (on the working-day calendar); after it, late
  (rules.report_is_late, here in SQL); owed and none that counts, missing;
- red / yellow: share of the unit's projects whose light was red / yellow at the month's end (shared.trends: as kept
  then, MonthLight, for an ended month);
- nodes_late: share of the unit's projects with a node late (lights.nodes_late_exists);
- supervision_overdue: open 督办 items past their limit (models.supervision.overdue_q);
- new_starts: projects whose actual start falls in the month;
- investment: 履约率 of the 招商 items signed this year (shared.investment), none where the unit has none."""

import datetime

from django.db.models import Count, F, FilteredRelation, Q
from django.utils import timezone

from projects.domain import rules
from projects.domain.choices import COUNTED_REVIEW_STATUSES, Status
from projects.domain.investment import REGISTERED_OR_LATER
from projects.models import Project, Region, SupervisionItem
from projects.models.supervision import overdue_q
from projects.shared import lights, trends
from projects.shared.pieces import cached_per_region, slots_q, split_by_slot


def _share(part, whole):
    return None if not whole else round(100.0 * part / whole, 1)


def deadline_cutoff(month):
    """The first moment a report for `month` is late: the start of the day after rules.report_deadline."""
    day = rules.report_deadline(month) + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


PARTS = ("trend", "punctuality", "nodes", "supervision", "signed")


def month_rows(projects, *, month, parts=PARTS):
    """{part: rows grouped by city and county} of what unit_values reads of `projects` for `month`: the trend's
    figures (shared.trends.month_rows), punctuality, late nodes, 督办 items and 招商 signings; a fixed number of
    queries. Rows by region, so that they are cached per region (shared.pieces.cached_per_region) and a write
    in one county recomputes that county's alone (issue 24)."""
    counted = projects.exclude(status=Status.CANCELLED)
    on = trends.judged_on(month)
    read = {
        "trend": lambda: trends.month_rows(projects, month=month),
        "punctuality": lambda: punctuality_rows(counted, month=month),
        "nodes": lambda: list(counted.filter(lights.nodes_late_exists(on)).order_by().values("city", "county")
                              .annotate(count=Count("pk"))),
        "supervision": lambda: list(
            SupervisionItem.objects.open().filter(project__in=counted.values("pk")).order_by()
            .values(city=F("project__city_id"), county=F("project__county_id"))
            .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(on)))),
        "signed": lambda: list(
            projects.filter(signed_on__year=month.year).order_by().values("city", "county")
            .annotate(signed=Count("pk"), registered=Count("pk", filter=Q(investment_stage__in=REGISTERED_OR_LATER)))),
    }
    return {part: read[part]() for part in parts}


def punctuality(projects, *, month, by):
    """{unit pk: {"owing", "on_time", "late", "missing"}} of the projects owing the month's report."""
    return {pk: {**row, "missing": row["owing"] - row["on_time"] - row["late"]}
            for pk, row in _by(punctuality_rows(projects, month=month), by, "owing", "on_time", "late").items()}


def punctuality_rows(projects, *, month):
    """Of the projects owing the month's report, by city and county: owing, on time, late."""
    cutoff = deadline_cutoff(month)
    counted = Q(month_report__review_status__in=COUNTED_REVIEW_STATUSES)
    return list(projects.filter(rules.owes_report_q(month)).order_by()
                .annotate(month_report=FilteredRelation("reports", condition=Q(reports__month=month)))
                .values("city", "county")
                .annotate(owing=Count("pk"),
                          on_time=Count("pk", filter=counted & Q(month_report__reported_at__lt=cutoff)),
                          late=Count("pk", filter=counted & Q(month_report__reported_at__gte=cutoff))))


def slots_of(units, *, by, scope=None):
    """The region slots (shared.pieces.region_slots) whose projects make up `units`' figures: every county's
    and each unit's own for cities (and those of no region: the province's whole), the counties' (and the city's
    own, for its trend) for counties."""
    if by == "county":
        own = [("own", scope.pk)] if scope is not None else []
        return [("county", unit.pk) for unit in units] + own
    return ([("county", pk) for pk in Region.objects.counties().values_list("pk", flat=True)]
            + [("own", unit.pk) for unit in units] + [("none", None)])


def scoped_rows(units, *, month, by, scope=None, parts=PARTS):
    """{part: rows} of month_rows over the slots of `units`, each slot cached under its region's version."""
    slots = slots_of(units, by=by, scope=scope)
    if by == "city":
        base = Project.objects.all()
    else:
        base = Project.objects.filter(county__in=[unit.pk for unit in units])
        if scope is not None:
            base = Project.objects.filter(Q(county__in=[unit.pk for unit in units]) | Q(county__isnull=True, city=scope))

    def compute(missing):
        return split_by_slot(month_rows(base.filter(slots_q(missing, slots)), month=month, parts=parts), missing)

    pieces = cached_per_region(("ranking", month, trends.judged_on(month), parts), slots, compute)
    return {part: [row for piece in pieces.values() for row in piece[part]] for part in parts}


def _by(rows, by, *names):
    """{unit pk: {name: sum}} of rows folded by `by`."""
    folded = {}
    for row in rows:
        target = folded.setdefault(row[by], dict.fromkeys(names, 0))
        for name in names:
            target[name] += row[name]
    return folded


def unit_values(units, *, month, by, rows):
    """{unit pk: {"projects", indicator: value or None, ..., "detail": {...}}} for `month` from scoped_rows."""
    pks = [unit.pk for unit in units]
    on = trends.judged_on(month)
    figures = trends.fold(rows["trend"], by=by)
    reports = {pk: {**row, "missing": row["owing"] - row["on_time"] - row["late"]}
               for pk, row in _by(rows["punctuality"], by, "owing", "on_time", "late").items()}  # as punctuality()
    nodes = {pk: row["count"] for pk, row in _by(rows["nodes"], by, "count").items()}
    supervision = _by(rows["supervision"], by, "open", "overdue")
    signed = _by(rows["signed"], by, "signed", "registered")
    progress = rules.time_progress(year=month.year, on=on)
    values = {}
    for pk in pks:
        figure = figures.get(pk) or trends._empty()
        count = figure["projects"]
        report = reports.get(pk, {"owing": 0, "on_time": 0, "late": 0, "missing": 0})
        items = supervision.get(pk, {"open": 0, "overdue": 0})
        deal = signed.get(pk, {"signed": 0, "registered": 0})
        has = count > 0
        values[pk] = {
            "projects": count,
            "progress": None if figure["rate"] is None else round(figure["rate"] - float(progress), 1),
            "punctuality": _share(report["on_time"], report["owing"]),
            "red": _share(figure["red"], count),
            "yellow": _share(figure["yellow"], count),
            "nodes_late": _share(nodes.get(pk, 0), count),
            "supervision_overdue": items["overdue"] if has else None,
            "new_starts": figure["starts"] if has else None,
            "investment": _share(deal["registered"], deal["signed"]),
            "detail": {"rate": figure["rate"], "red": figure["red"], "yellow": figure["yellow"],
                       "nodes_late": nodes.get(pk, 0), "open": items["open"], **report,
                       "signed": deal["signed"], "registered": deal["registered"]},
        }
    return values
