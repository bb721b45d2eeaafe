"""The year-end forecast of a scope (预计全年完成, issue 28): its series read in two queries, the forecast by
domain.forecast, and its words.

- this year's and last year's completion by month: the sum of the counted monthly reports (submitted or
  approved, the reports whose figure is in the totals) of the scope's projects, one grouped query;
- the plan: the sum of the scope's annual plans for the year, the dashboard's plan total.
The months reported, m, are the months of the year whose report deadline has passed (rules.latest_due_month):
twelve for a past year, none for a year not begun or before January's deadline."""

import datetime
from decimal import Decimal

from django.db.models import F, Sum
from django.utils.translation import gettext as _

from projects.domain import forecast as rules_of_forecast
from projects.domain import rules
from projects.domain.figures import figure_text
from projects.models import AnnualPlan, MonthlyReport
from projects.shared.pieces import part_values

ZERO = Decimal(0)


def months_reported(*, year, on):
    """m: how many months of `year` are due on day `on`."""
    if year < on.year:
        return 12
    due = rules.latest_due_month(on=on)
    return due.month if due.year == year else 0


def series_rows(projects, *, year, by_part=None):
    """The counted reports' completion of `year` and the year before, grouped by month, city and county (and the
    projects' part, `by_part`: pieces.Parts): one query, and a part of the dashboard's per-region pieces
    (shared.summaries), whose monthly trend reads it too."""
    part = part_values(by_part, "project__")
    # A range on the month, not month__year__in: that is EXTRACT(YEAR …), which PostgreSQL cannot estimate; it
    # expected 5,000 of the province's 1.2 million reports and looked up each one's project (1.9 s; 0.6 s by range).
    return list(
        MonthlyReport.objects.counted().filter(project__in=projects.order_by().values("pk"), month__gte=datetime.date(year - 1, 1, 1),
                                               month__lt=datetime.date(year + 1, 1, 1))
        .order_by().values("month", city=F("project__city_id"), county=F("project__county_id"), **part)
        .annotate(total=Sum("completed_investment"))
    )


def series(rows, *, year, on):
    """(cumulative completion through each month 1..m of `year`, last year's 12 monthly sums) from series_rows."""
    monthly = {}
    for row in rows:
        key = (row["month"].year, row["month"].month)
        monthly[key] = monthly.get(key, ZERO) + (row["total"] or ZERO)
    cumulative, running = [], ZERO
    for month in range(1, months_reported(year=year, on=on) + 1):
        running += monthly.get((year, month), ZERO)
        cumulative.append(running)
    return cumulative, [monthly.get((year - 1, month), ZERO) for month in range(1, 13)]


def forecast_of_rows(rows, *, plan, year, on):
    """The year-end forecast (domain.forecast.Forecast) from series_rows and the year's plan total."""
    cumulative, last_year = series(rows, year=year, on=on)
    return rules_of_forecast.year_end_forecast(cumulative=cumulative, plan=plan, last_year=last_year)


def forecast_of(projects, *, year, on):
    """The year-end forecast of `projects` (scoped and filtered) for `year` (the monthly digest's; the dashboard
    folds it from its pieces)."""
    plan = AnnualPlan.objects.filter(project__in=projects.order_by().values("pk"), year=year).aggregate(
        total=Sum("planned_investment"))["total"]
    return forecast_of_rows(series_rows(projects, year=year), plan=plan, year=year, on=on)


def _yi(value):
    return figure_text(value, "亿元")


def method_label(forecast):
    if forecast.final:
        return _("全年月报已齐")
    if forecast.method == rules_of_forecast.SHAPE:
        return _("按上年各月走势")
    return _("按当前进度")


def forecast_caveat(forecast):
    """The uncertainty in one sentence, in the reader's language."""
    if not forecast.available:
        return _("本年还没有到填报期限的月报，暂不预测全年。")
    if forecast.final:
        return _("全年各月月报已齐，预计数即实际完成数。")
    months = {"months": forecast.months}
    if forecast.method == rules_of_forecast.PACE:
        if forecast.rough:
            return _("上年没有逐月完整的数据，且年初只有%(months)s个月的月报，仅按当前进度粗略推算。") % months
        return _("上年没有逐月完整的数据，仅按当前进度推算，未计入年底冲刺，全年结果可能更高。")
    spread = {"spread": _yi(forecast.spread), "share": forecast.spread_share, **months}
    if forecast.rough:
        return _("两种算法相差%(spread)s亿元（预计数的%(share)s%%），年初只有%(months)s个月的月报，预测较粗。") % spread
    return _("两种算法相差%(spread)s亿元（预计数的%(share)s%%），全年结果大致落在这一区间；上年走势计入了年底冲刺，故作为主要预测。") % spread


def forecast_view(forecast):
    """What the dashboard card and the monthly digest show of a forecast: figures and words."""
    return {
        "forecast": forecast,
        "method": method_label(forecast) if forecast.available else "",
        "other_method": _("按当前进度推算") if forecast.other is not None else "",
        "caveat": forecast_caveat(forecast),
    }
