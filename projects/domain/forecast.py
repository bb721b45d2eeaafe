"""The year-end forecast (预计全年完成): where a scope's completed investment will end the year, from the months
reported so far. Pure: numbers in, numbers out (the words are shared.forecast's).

Two ways, both reported:
- at the current pace (PACE): the completion through the last month reported, m, over the share of the
  year those months are (m / 12);
- at last year's monthly shape (SHAPE): that completion over the share of last year's completion made by
  the end of month m — it carries the slow start around the Spring Festival and the year-end push. Used
  only when last year is there to go by: reported in every month (each month's sum above zero) and its
  first m months at least MIN_SHAPE_SHARE of its total.
The headline is the shape's when it can be used, else the pace's. The uncertainty is said plainly: the range
between the two (never below what is already completed); with only the pace, no range; with m ≤ ROUGH_MONTHS
the forecast is rough. With every month reported (m = 12) the forecast is the completion itself; in
December (m = 11) it is the completion so far plus what December is expected to add.
"""

from dataclasses import dataclass
from decimal import Decimal

PACE, SHAPE = "pace", "shape"
# Why there is no forecast.
NO_MONTHS = "no_months"
MIN_SHAPE_SHARE = Decimal("0.05")
ROUGH_MONTHS = 3
MONTHS = 12
ZERO, HUNDRED = Decimal(0), Decimal(100)
RATE_QUANTUM = Decimal("0.1")


@dataclass(frozen=True)
class Forecast:
    """The forecast of a scope for one year, in the unit of the inputs (万元)."""

    months: int  # months reported, m
    completed: Decimal  # completed through month m
    plan: Decimal | None  # the year's plan (None or 0: no plan)
    pace: Decimal | None = None  # year-end at the current pace
    shape: Decimal | None = None  # year-end at last year's shape (None: last year not usable)
    shape_share: Decimal | None = None  # last year's share done by the end of month m, 0..1
    missing: str = ""  # why there is no forecast (NO_MONTHS), "" when there is one

    @property
    def available(self):
        return not self.missing

    @property
    def method(self):
        """The headline's method: last year's shape when it can be used, else the current pace."""
        if not self.available:
            return None
        return SHAPE if self.shape is not None else PACE

    @property
    def headline(self):
        return self.shape if self.method == SHAPE else self.pace

    @property
    def other(self):
        """The other method's figure (None when only the pace could be used)."""
        return self.pace if self.method == SHAPE else None

    @property
    def low(self):
        figures = [figure for figure in (self.pace, self.shape) if figure is not None]
        return min(figures) if figures else None

    @property
    def high(self):
        figures = [figure for figure in (self.pace, self.shape) if figure is not None]
        return max(figures) if figures else None

    @property
    def spread(self):
        """How far apart the two methods are (None with one method)."""
        return None if self.shape is None or self.pace is None else self.high - self.low

    @property
    def spread_share(self):
        """The spread as a percentage of the headline (None with one method or a zero headline)."""
        if self.spread is None or not self.headline:
            return None
        return (self.spread * HUNDRED / self.headline).quantize(RATE_QUANTUM)

    @property
    def rate(self):
        """The headline against the plan, in percent (None without a plan)."""
        return _rate(self.headline, self.plan)

    @property
    def completed_rate(self):
        return _rate(self.completed, self.plan)

    @property
    def above_plan(self):
        """Completion so far already at or above the year's plan."""
        return bool(self.plan) and self.completed >= self.plan

    @property
    def rough(self):
        """Early in the year: few months to go by."""
        return self.available and self.months <= ROUGH_MONTHS

    @property
    def final(self):
        """Every month reported: the forecast is the completion itself."""
        return self.available and self.months >= MONTHS


def _rate(value, plan):
    if value is None or not plan:
        return None
    return (value * HUNDRED / plan).quantize(RATE_QUANTUM)


def shape_share(last_year, months):
    """The share of last year's completion made in its first `months` months (0..1), or None when last year
    is not there to go by: fewer than 12 months, a month without completion, or less than MIN_SHAPE_SHARE
    by month `months`."""
    if last_year is None or len(last_year) < MONTHS or months < 1:
        return None
    values = [Decimal(value) if value is not None else None for value in last_year[:MONTHS]]
    if any(value is None or value <= 0 for value in values):
        return None
    share = sum(values[:months]) / sum(values)
    return share if share >= MIN_SHAPE_SHARE else None


def year_end_forecast(*, cumulative, plan, last_year=None):
    """The forecast from `cumulative`: the completion through each month reported so far this year (months
    1..m, m = its length; the last is what counts), the year's `plan` (None or 0 for none), and `last_year`:
    last year's completion in each of its 12 months (None, shorter, or holding None where missing)."""
    months = min(len(cumulative), MONTHS)
    plan = Decimal(plan) if plan else None
    if months == 0:
        return Forecast(months=0, completed=ZERO, plan=plan, missing=NO_MONTHS)
    completed = Decimal(cumulative[months - 1] or 0)
    pace = completed * MONTHS / months
    share = shape_share(last_year, months)
    shape = completed / share if share is not None else None
    if months == MONTHS:  # the year is reported: no projection left
        pace, shape = completed, (completed if shape is not None else None)
    return Forecast(months=months, completed=completed, plan=plan, pace=pace, shape=shape, shape_share=share)
