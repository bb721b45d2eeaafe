"""The demo's monthly reports (月度调度), this year's and last year's (issue 28).

This year's keep the pace their project was drawn with, evenly over the months reported so far. Last year's
follow the shape a year of construction has in Hebei — slow around the Spring Festival, rising through the
year, a push in December — so that the last year's view is mostly green and yellow with a believable few
red, and the year-end forecast has last year's monthly shape to go by. Last year is drawn from a random
stream of its own (seeded from the demo's seed), so the rest of the demo draws what it always drew.
Every report's 形象进度 follows its project's construction period (demo_words.image_progress): it advances
from one month to the next and never goes backwards.
"""

import datetime
import random
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
        self.latest_due_month = rules.latest_due_month(on=on)
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

    def _reported_at(self, rng, month):
        reported_on = self.report_deadline(month) - datetime.timedelta(days=rng.randint(-3, 4))
        return datetime.datetime.combine(reported_on, REPORT_HOUR, tzinfo=datetime.timezone.utc)

    def this_year(self, rng, project, plan):
        """This year's reports, at the project's pace, up to the latest month due (or its completion)."""
        on = self.on
        if project.actual_start is None:
            return []
        start = max(rules.month_start(project.actual_start), datetime.date(on.year, 1, 1))
        last_month = self.latest_due_month
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
        reports = []
        month = start
        while month <= last_month:
            amount = paced * Decimal(rng.uniform(0.9, 1.1))
            reported_at = self._reported_at(rng, month)
            # Earlier months were reviewed long ago; the month being collected is partly still under review.
            review = ReviewStatus.APPROVED
            if month == last_month:
                review = rng.choices([ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.RETURNED],
                                     weights=[55, 40, 5])[0]
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
        pace = Decimal(rng.choices(*LAST_YEAR_PACE)[0])
        reports = []
        for index, weight in enumerate(season):
            month = datetime.date(year, first + index, 1)
            amount = planned * pace * Decimal(weight / sum(season) * rng.uniform(0.85, 1.15))
            reported_at = self._reported_at(rng, month)
            reports.append((
                project, month, amount.quantize(CENT), self._progress(project, month, None), reported_at,
                ReviewStatus.APPROVED.value, reported_at + ONE_DAY, "",
            ))
        return reports
