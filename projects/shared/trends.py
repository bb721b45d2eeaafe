"""Month-on-month and year-on-year (环比 / 同比, issue 28): a scope's or each unit's figures for any month, and the
month against the month before and the same month a year before.

A month's figures, each judged as of the month's end (today for the current month):
- completed: investment completed this year through the month, the sum of the counted monthly reports of the
  year's months up to it (what was reported, so a past month reads as it stood);
- plan and rate: the year's planned investment and completed / plan in percent;
- starts: projects whose actual start date falls in the month;
- red / yellow: projects whose light was red / yellow on the month's end: as kept then (MonthLight) for an ended
  month, else evaluated (lights.annotate_progress with `on`);
- projects: the projects counted (not cancelled; plan and completion are every project's, as the dashboard's).

Each read is one query grouped by unit (`by` = "city" or "county"), whatever the number of projects."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from projects.domain import rules
from projects.domain.choices import Light, LightReason
from projects.domain.figures import figure_text
from projects.models import MonthlyReport
from projects.shared import lights
from projects.shared.pieces import part_values
from projects.shared.scopes import list_link

FIGURES = ("completed", "rate", "starts", "red")


def month_end(month):
    return rules.add_months(month, 1) - datetime.timedelta(days=1)


def judged_on(month):
    """The day a month's figures are judged on: its last day, or today while it is not over."""
    return min(month_end(month), rules.today())


def _empty():
    return {"projects": 0, "plan": Decimal(0), "completed": Decimal(0), "starts": 0, "red": 0, "yellow": 0,
            "rate": None}


def month_rows(projects, *, month, series=None, starts=None, by_part=None):
    """`projects`' figures for `month` (first day) as rows grouped by city and county, each with the month: three
    grouped queries (lights, reports, starts) whatever the number of projects. What month_figures folds, and a
    part of the dashboard's per-region pieces (shared.summaries), so both read one rule. `series`: the same
    projects' counted reports summed by month, city and county (shared.forecast.series_rows) covering the month's
    year, read already: the completion is folded from it instead of summing the reports again. `starts`: starts_rows
    of the same projects covering the month, read already. `by_part`: grouped by their project's part too
    (pieces.Parts), as `series` and `starts` then are."""
    on = judged_on(month)
    rows = {}
    part = part_values(by_part)

    def row(source):
        key = (source["city"], source["county"], source.get("part"))
        if key not in rows:
            rows[key] = {"city": key[0], "county": key[1], **({"part": key[2]} if by_part else {}), "month": month,
                         **_empty()}
        return rows[key]

    # Plan and completion of every project, as the dashboard's totals sum them (a terminated project's work
    # was done); the projects counted, and shares, without the terminated ones (their light is none).
    judged = lights.annotate_progress(projects, year=month.year, on=on)
    if on < rules.today():  # an ended month: its lights as they stood at its end, where they were kept
        judged = lights.as_month_ended(judged, month)
    else:
        judged = judged.annotate(month_light_reason=F("light_reason"))
    for source in (judged.order_by().values("city", "county", "month_light_reason", **part)
                   .annotate(count=Count("pk"), plan=Sum("plan_investment"))):
        target = row(source)
        if source["month_light_reason"] != LightReason.CANCELLED:
            target["projects"] += source["count"]
        target["plan"] += source["plan"] or Decimal(0)
        light = rules.light_of(source["month_light_reason"])
        if light in (Light.RED, Light.YELLOW):
            target[light.value] += source["count"]
    if series is not None:
        completed = [source for source in series if source["month"].year == month.year and source["month"] <= month]
    else:
        completed = (MonthlyReport.objects.counted()
                     .filter(project__in=projects.values("pk"), month__year=month.year, month__lte=month)
                     .order_by().values(city=F("project__city_id"), county=F("project__county_id"),
                                        **part_values(by_part, "project__"))
                     .annotate(total=Sum("completed_investment")))
    for source in completed:
        row(source)["completed"] += source["total"] or Decimal(0)
    if starts is None:
        starts = starts_rows(projects, months=[month], by_part=by_part)
    for source in starts:
        if source["started_month"] == month:
            row(source)["starts"] += source["count"]
    return list(rows.values())


def starts_rows(projects, *, months, by_part=None):
    """The projects started in each of `months` (first days), as rows grouped by the month started, city and county
    (and part, `by_part`): one query for the trend's three months."""
    started = Q(pk__in=[])
    for month in months:
        started |= Q(actual_start__gte=month, actual_start__lt=rules.add_months(month, 1))
    return list(projects.filter(started).order_by()
                .values("city", "county", started_month=TruncMonth("actual_start"), **part_values(by_part))
                .annotate(count=Count("pk")))


SUMMED = ("projects", "plan", "completed", "starts", "red", "yellow")


def fold(rows, *, by=None):
    """{unit pk (None for the whole scope when `by` is None): figures} summed from month_rows of one month."""
    figures = {}
    for row in rows:
        target = figures.setdefault(row[by] if by else None, _empty())
        for name in SUMMED:
            target[name] += row[name]
    for target in figures.values():
        rate = rules.completion_rate(completed=target["completed"], planned=target["plan"])
        target["rate"] = None if rate is None else round(float(rate), 1)
    return figures


def month_figures(projects, *, month, by=None):
    """{unit pk (None for the whole scope when `by` is None): figures} of `projects` for `month` (first day)."""
    return fold(month_rows(projects, month=month), by=by)


@dataclass
class Trend:
    """A scope's or unit's figures this month, last month and the same month last year, with the changes."""

    month: datetime.date
    current: dict
    previous: dict
    last_year: dict

    def rows(self):
        """[(figure, this month, last month, Δ MoM, same month last year, Δ YoY)] for FIGURES."""
        return [(name, self.current.get(name), self.previous.get(name), delta(self.current.get(name), self.previous.get(name)),
                 self.last_year.get(name), delta(self.current.get(name), self.last_year.get(name))) for name in FIGURES]


def delta(now, then):
    if now is None or then is None:
        return None
    difference = now - then
    return round(difference, 1) if isinstance(difference, float) else difference


def trend_months(month):
    return month, rules.add_months(month, -1), rules.add_months(month, -12)


def trends_of(projects, *, month, by=None):
    """{unit pk or None: Trend} of `projects` for `month`: three month_figures reads."""
    current, previous, last_year = (month_figures(projects, month=m, by=by) for m in trend_months(month))
    keys = set(current) | set(previous) | set(last_year)
    return {key: Trend(month, current.get(key, _empty()), previous.get(key, _empty()), last_year.get(key, _empty()))
            for key in keys}


def trend_links(month, *, params=None):
    """Links to the project list of exactly the projects behind the figures that the list can express: the
    starts of each month (started_month)."""
    params = params or {}
    return {label: list_link(params, started_month=m.strftime("%Y-%m"))
            for label, m in zip(("current", "previous", "last_year"), trend_months(month))}


def _text(name, value, *, change=False):
    """A figure (or its change, with its sign) as shown: 亿元 for completion, points for the rate, counts."""
    if value is None:
        return "—" if not change else ""
    if name == "completed":
        text = figure_text(abs(value) if change else value, "亿元")
    elif name == "rate":
        text = f"{abs(value) if change else value:.1f}" + ("" if change else "%")
    else:
        text = figure_text(abs(value) if change else value)
    if not change:
        return text
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def card(trend, *, starts_links=None):
    """What _trend_card.html shows of a Trend: {"month", "rows": [{"name", "label", "cells": [(text, link)] of this
    month, last month, MoM change, same month last year, YoY change]}]}; the starts linked to exactly their projects."""
    labels = {"completed": _("本年累计完成投资（亿元）"), "rate": _("投资完成率"), "starts": _("新开工项目"), "red": _("红灯项目")}
    links = starts_links or {}
    rows = []
    for name, now, before, mom, last_year, yoy in trend.rows():
        linked = name == "starts"
        rows.append({"name": name, "label": labels[name], "cells": [
            (_text(name, now), links.get("current") if linked else None),
            (_text(name, before), links.get("previous") if linked else None),
            (_text(name, mom, change=True), None),
            (_text(name, last_year), links.get("last_year") if linked else None),
            (_text(name, yoy, change=True), None),
        ]})
    return {"month": trend.month, "rows": rows}


def trend_rows(projects, *, on, series=None, series_years=(), by_part=None):
    """The dashboard's part (shared.summaries): month_rows of the three months of the trend of the latest month
    whose reports were due on `on`, their starts read at once; the completion of a month in `series_years` folded
    from `series`."""
    months = trend_months(rules.latest_due_month(on=on))
    starts = starts_rows(projects, months=months, by_part=by_part)
    return [row for month in months
            for row in month_rows(projects, month=month, series=series if month.year in series_years else None,
                                  starts=starts, by_part=by_part)]


def trend_of_rows(rows, *, on):
    """The Trend folded from trend_rows (or the dashboard's merged pieces of them)."""
    month = rules.latest_due_month(on=on)
    figures = [fold([row for row in rows if row["month"] == m]).get(None) or _empty() for m in trend_months(month)]
    return Trend(month, *figures)


def dashboard_trend_card(trend, *, params=None):
    """The dashboard's trend card (_trend_card.html) of the dashboard's Trend, the starts linked to exactly
    their projects among the page's filters."""
    return card(trend, starts_links=trend_links(trend.month, params=params))


def trend_data(trend):
    """The trend's figures for the API: {"month", "current", "previous", "last_year"}."""
    return {"month": trend.month, "current": trend.current, "previous": trend.previous, "last_year": trend.last_year}
