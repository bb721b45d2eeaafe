"""Reads over a scope of projects annotated by `with_progress`: totals and breakdowns, each one query.

The dashboard, the eight-actions page and the digests all summarise through these, so a figure means
the same thing wherever it is shown.
"""

from decimal import Decimal

from django.db.models import Count, Q, Sum

from . import rules
from .choices import Light, Stage
from .models import MonthlyReport

LIGHTS = (Light.RED, Light.YELLOW, Light.GREEN, Light.NONE)


def _measures():
    return {
        "count": Count("pk", distinct=False),
        "total_investment": Sum("total_investment"),
        "plan": Sum("plan_investment"),
        "completed": Sum("completed_year"),
        **{light.value: Count("pk", filter=rules.light_q(light)) for light in LIGHTS},
    }


def with_rate(row, progress):
    """Add the completion rate and its lag behind time progress to an aggregate row."""
    row["rate"] = rules.completion_rate(completed=row.get("completed") or Decimal(0), planned=row.get("plan") or Decimal(0))
    row["lag"] = None if row["rate"] is None else progress - row["rate"]
    # Behind by more than the province's yellow threshold: shown in red in tables.
    row["behind"] = row["lag"] is not None and row["lag"] > rules.Thresholds.default().yellow_lag
    return row


def scope_totals(projects, *, progress):
    """Totals of a scope: counts, money, lights and stages, in one query."""
    stage_counts = {f"stage_{value}": Count("pk", filter=Q(stage=value)) for value in Stage.values}
    row = projects.order_by().aggregate(**_measures(), **stage_counts)
    row["stages"] = [(value, label, row.pop(f"stage_{value}")) for value, label in Stage.choices]
    return with_rate(row, progress)


def breakdown(projects, *, by, progress, label_field, order_field=None):
    """One row per value of `by` (e.g. "city", "county", "actions", "programmes") with the scope measures.

    For a many-to-many `by`, a project counts once under each of its values.
    """
    order_field = order_field or label_field
    rows = (
        projects.order_by()
        .values(by, label_field)
        .annotate(**_measures())
        .order_by(order_field)
    )
    result = []
    for row in rows:
        row["key"] = row.pop(by)
        row["label"] = row.pop(label_field)
        result.append(with_rate(row, progress))
    return result


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
