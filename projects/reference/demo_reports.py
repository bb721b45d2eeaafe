"""The demo's monthly reports (月度调度), this year's and last year's (issue 28).

This year's keep the pace their project was drawn with, evenly over the months reported so far. Last year's
follow the shape a year of construction has in Hebei — slow around the Spring Festival, rising through the
year, a push in December — so that the last year's view is mostly green and yellow with a believable few
red, and the year-end forecast has last year's monthly shape to go by. Last year is drawn from a random
stream of its own (seeded from the demo's seed), so the rest of the demo draws what it always drew.
Every report's 形象进度 follows its project's construction period (demo_words.image_progress): it advances
from one month to the next and never goes backwards.

Units differ the way leaders see them differ (issue 28): each city-level unit and each county has a tempo
(UnitTempos, drawn from a random stream of its own, so a --seed gives the same spread on every run):
- pace, multiplying its projects' own pace this year (and half as much last year's): a fifth of the cities
  ahead (x1.24-1.30: completion at or above time progress), a fifth clearly behind (x0.81-0.86: completion
  some 30 points short, more red and yellow), the rest near (x0.93-1.05, 12-25 points short, as the whole
  province is); the cities' paces average 1, so the province's totals stay where they were.
  Counties vary within their city (x0.86-1.14, averaging 1 within it), its own projects at its pace.
- discipline: the share of reports submitted after the deadline (a fifth of the cities 4-10%, a fifth
  40-52%, the rest 15-32%; a county at 0.6-1.4 times its city's), how often a project stops reporting
  (x0.4, x1, x2 of 1.5%: missing reports) and how often the latest month is returned (2, 4, 7 in 100).
  A report that would come in after today is not in yet: missing. Discipline is drawn apart from pace, so a
  unit may be ahead and late with its reports.
On the 3,000-project demo (seed 1, early December) the cities' completion minus time progress spans +4 to -32
points (three colours on the map's breaks; the province -16 as before), their punctuality 45% to 93% and their
red share 8% to 26% (province 14%), where alike units spanned -13 to -19, 46% to 65% and 8% to 18% (12%).
"""

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from projects.domain import rules
from projects.domain.choices import ReviewStatus
from projects.reference.demo_words import COMPLETION_PROGRESS, RETURN_REASONS, image_progress

CENT = Decimal("0.01")
REPORT_HOUR = datetime.time(10)
ONE_DAY = datetime.timedelta(days=1)
# The share of a year's completed investment in each month, January to December (sums to 1).
SEASON = (0.04, 0.03, 0.07, 0.08, 0.085, 0.09, 0.085, 0.085, 0.09, 0.095, 0.105, 0.145)
# How last year's projects ended against their plan: most about on it, some short, a few far short (red).
LAST_YEAR_PACE = ((1.06, 1.0, 0.94, 0.86, 0.62), (30, 38, 17, 10, 5))


class Reports:
    """Draws the report rows (REPORT_COLUMNS, the project first) of the demo projects, in their order."""

    def __init__(self, seed, on):
        self.on = on
        # The month being collected (月度调度 of the previous month): until its deadline its reports come in, so on a
        # reporting day the demo has some in, as a live system has (the benches' reporting days read them).
        self.reporting_month = rules.reporting_month(on)
        self.past = random.Random(f"last-year-{seed}")
        self._deadlines = {}

    def report_deadline(self, month):
        """rules.report_deadline, once per month instead of once per report."""
        deadline = self._deadlines.get(month)
        if deadline is None:
            deadline = self._deadlines[month] = rules.report_deadline(month)
        return deadline

    def _progress(self, project, month, completion_month):
        if month == completion_month:  # the last report of a completed project
            return COMPLETION_PROGRESS
        return image_progress(month, project.actual_start, project.actual_end or project.planned_end)

    def _reported_at(self, rng, month, late):
        """When the report came in: with chance `late` one to six days after the deadline, else up to four
        days before it (one draw)."""
        draw = rng.random()
        if draw < late:
            days = 1 + int(6 * draw / late)
        else:
            days = -int(5 * (draw - late) / (1 - late))
        reported_on = self.report_deadline(month) + datetime.timedelta(days=days)
        return datetime.datetime.combine(reported_on, REPORT_HOUR, tzinfo=datetime.timezone.utc)

    def this_year(self, rng, project, plan):
        """This year's reports, at the project's pace, up to the month being collected (or its completion): those
        in by today."""
        on = self.on
        if project.actual_start is None:
            return []
        start = max(rules.month_start(project.actual_start), datetime.date(on.year, 1, 1))
        last_month = self.reporting_month
        completion_month = rules.month_start(project.actual_end) if project.actual_end else None
        if completion_month:  # a completed project reports up to its completion, not after
            last_month = min(last_month, completion_month)
        if project.stops_reporting:
            last_month = rules.add_months(last_month, -rng.randint(1, 2))
        if last_month < start:
            return []
        # On pace = the year's plan in step with time progress, whenever the project started this year.
        reported = (last_month.year - start.year) * 12 + last_month.month - start.month + 1
        paced = plan * Decimal(last_month.month) / 12 / reported * Decimal(project.pace)
        tempo = project.tempo
        reports = []
        month = start
        while month <= last_month:
            amount = paced * Decimal(rng.uniform(0.9, 1.1))
            reported_at = self._reported_at(rng, month, tempo.late)
            if reported_at.date() > on:
                break  # to come in late, after today: not in yet (missing)
            # Earlier months were reviewed long ago; the month being collected is partly still under review.
            review = ReviewStatus.APPROVED
            if month == last_month:
                review = rng.choices([ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.RETURNED],
                                     weights=[55, 40, tempo.returned])[0]
            reports.append((
                project, month, amount.quantize(CENT), self._progress(project, month, completion_month), reported_at,
                review.value, None if review == ReviewStatus.SUBMITTED else reported_at + ONE_DAY,
                rng.choice(RETURN_REASONS) if review == ReviewStatus.RETURNED else "",
            ))
            month = rules.add_months(month, 1)
        return reports

    def last_year(self, project, plans):
        """Last year's reports of a project that was under construction then, all approved, adding up to
        about its plan for last year (`plans`: its (year, planned, before) rows) in the year's shape."""
        year = self.on.year - 1
        planned = next((amount for plan_year, amount, _before in plans if plan_year == year), None)
        started = project.actual_start
        if not planned or started is None or started.year > year:
            return []
        rng = self.past
        first = started.month if started.year == year else 1
        season = SEASON[first - 1:]
        tempo = project.tempo
        # The unit's pace counts half as much last year: units move, but not from nowhere.
        pace = Decimal(rng.choices(*LAST_YEAR_PACE)[0] * (1 + (tempo.pace - 1) / 2))
        reports = []
        for index, weight in enumerate(season):
            month = datetime.date(year, first + index, 1)
            amount = planned * pace * Decimal(weight / sum(season) * rng.uniform(0.85, 1.15))
            reported_at = self._reported_at(rng, month, tempo.late)
            reports.append((
                project, month, amount.quantize(CENT), self._progress(project, month, None), reported_at,
                ReviewStatus.APPROVED.value, reported_at + ONE_DAY, "",
            ))
        return reports


@dataclass(frozen=True)
class Tempo:
    """A unit's pace (multiplying its projects' own) and discipline: the chance a report is late, how much
    likelier than usual a project stops reporting, the weight of a returned latest report (of 100)."""

    pace: float
    late: float
    missing: float
    returned: int


# Per tier (ahead or prompt, near, behind or slack): pace range, late range, missing factor, returned weight.
PACES = ((1.24, 1.30), (0.93, 1.05), (0.81, 0.86))
DISCIPLINES = (((0.04, 0.10), 0.4, 2), ((0.15, 0.32), 1.0, 4), ((0.40, 0.52), 2.0, 7))
PACE_CAP = 1.35  # a project's pace at most: ahead, not implausibly so


def _tiers(count, rng):
    """A shuffled tier (0 first, 1 middle, 2 last) for each of `count` units: a fifth first, a fifth last."""
    edge = max(1, round(count / 5)) if count >= 3 else 0
    tiers = [0] * edge + [2] * edge + [1] * (count - 2 * edge)
    rng.shuffle(tiers)
    return tiers


class UnitTempos:
    """The Tempo of each city-level unit and county (see the module docstring), from a stream of its own."""

    def __init__(self, seed, cities, counties_by_city):
        rng = random.Random(f"units-{seed}")
        cities = sorted(cities, key=lambda city: city.code)
        paces = [rng.uniform(*PACES[tier]) for tier in _tiers(len(cities), rng)]
        mean = sum(paces) / len(paces) if paces else 1
        self.tempos = {}
        for city, pace, tier in zip(cities, paces, _tiers(len(cities), rng)):
            late, missing, returned = DISCIPLINES[tier]
            city_tempo = Tempo(pace / mean, rng.uniform(*late), missing, returned)
            self.tempos[city.pk] = city_tempo
            counties = sorted(counties_by_city.get(city.pk, ()), key=lambda county: county.code)
            factors = [min(1.14, max(0.86, rng.gauss(1, 0.07))) for _county in counties]
            county_mean = sum(factors) / len(factors) if factors else 1
            for county, factor in zip(counties, factors):
                self.tempos[county.pk] = Tempo(city_tempo.pace * factor / county_mean,
                                               min(0.6, city_tempo.late * rng.uniform(0.6, 1.4)), missing, returned)

    def of(self, place):
        return self.tempos.get(place.pk) or Tempo(1.0, 0.25, 1.0, 5)
