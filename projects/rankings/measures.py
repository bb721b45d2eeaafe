"""The ranking's indicators of each unit for a month, read in SQL grouped by unit (a fixed number of queries), and
the rows assembled from them by the rules of domain.ranking.

Each indicator of a month (RankingIndicator), judged on the month's end (today while the month runs):
- progress: completion rate this year through the month (shared.trends) minus time progress, in points;
- punctuality: of the projects owing the month's report (rules.owes_report_q), the share reported on time:
  a counted report submitted by rules.report_deadline (on the working-day calendar); after it, late
  (rules.report_is_late, here in SQL); owed and none that counts, missing;
- red / yellow: share of the unit's projects whose light was red / yellow (lights.annotate_progress, `on`);
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
from projects.models import Project, SupervisionItem
from projects.models.supervision import overdue_q
from projects.shared import lights, trends


def _share(part, whole):
    return None if not whole else round(100.0 * part / whole, 1)


def deadline_cutoff(month):
    """The first moment a report for `month` is late: the start of the day after rules.report_deadline."""
    day = rules.report_deadline(month) + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def punctuality(projects, *, month, by):
    """{unit pk: {"owing", "on_time", "late", "missing"}} of the projects owing the month's report."""
    cutoff = deadline_cutoff(month)
    counted = Q(month_report__review_status__in=COUNTED_REVIEW_STATUSES)
    rows = (projects.filter(rules.owes_report_q(month)).order_by()
            .annotate(month_report=FilteredRelation("reports", condition=Q(reports__month=month)))
            .values(by)
            .annotate(owing=Count("pk"),
                      on_time=Count("pk", filter=counted & Q(month_report__reported_at__lt=cutoff)),
                      late=Count("pk", filter=counted & Q(month_report__reported_at__gte=cutoff))))
    return {row[by]: {"owing": row["owing"], "on_time": row["on_time"], "late": row["late"],
                      "missing": row["owing"] - row["on_time"] - row["late"]} for row in rows}


def unit_values(units, *, month, by):
    """{unit pk: {"projects", indicator: value or None, ..., "detail": {...}}} for `month`."""
    pks = [unit.pk for unit in units]
    projects = Project.objects.filter(**{f"{by}__in": pks})
    counted = projects.exclude(status=Status.CANCELLED)
    on = trends.judged_on(month)
    figures = trends.month_figures(projects, month=month, by=by)
    reports = punctuality(counted, month=month, by=by)
    nodes = dict(counted.filter(lights.nodes_late_exists(on)).order_by().values(by).annotate(count=Count("pk"))
                 .values_list(by, "count"))
    supervision = {row["unit"]: row for row in (
        SupervisionItem.objects.open().filter(project__in=counted.values("pk")).order_by()
        .values(unit=F(f"project__{by}_id")).annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(on))))}
    signed = {row["unit"]: row for row in (
        projects.filter(signed_on__year=month.year).order_by().values(unit=F(by))
        .annotate(signed=Count("pk"), registered=Count("pk", filter=Q(investment_stage__in=REGISTERED_OR_LATER))))}
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
