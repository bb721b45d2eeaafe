"""China's working-day calendar (法定节假日 and 调休): the one place that says whether a day is worked.

Who decides, first answer wins:
1. the province's WorkdayOverride rows, entered in the admin when the State Council announces next
   year's schedule (each November), before a release of the chinese_calendar package knows it;
2. chinese_calendar, for the years its release covers;
3. otherwise weekends are rest days and Monday to Friday working days, with a warning logged once per
   year and process: a deadline may then fall inside a holiday nobody entered.

Overrides are read from the database once (through the reader the app registers at start:
overrides_reader_set; the domain imports no model) and kept in the process. Saving or deleting one clears this
process's copy at once (projects.signals); other processes (web workers, Celery workers) re-read theirs
after OVERRIDES_MAX_AGE_SECONDS.
"""

import datetime
import logging
import time
from dataclasses import dataclass

import chinese_calendar

logger = logging.getLogger(__name__)

ONE_DAY = datetime.timedelta(days=1)
# chinese_calendar answers for a range of years and raises NotImplementedError outside it.
PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
# The package's days, read once: its own is_workday() scans its whole table for the years it knows on every
# call (most of the cost of a deadline, which every light in Python asks for). The same answer as the package.
_PACKAGE_WORKDAYS = frozenset(chinese_calendar.workdays)
_PACKAGE_HOLIDAYS = frozenset(chinese_calendar.holidays)
# How stale another process's copy of the overrides may get; overrides change a few times a year.
OVERRIDES_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class _Overrides:
    days: dict  # date -> is_workday
    years: frozenset
    loaded_at: float


_overrides = None
_warned_years = set()
_read_overrides = dict  # until the app registers its reader (ProjectsConfig.ready): none entered


def overrides_reader_set(reader):
    """Where the province's overrides come from: `reader()` returns {date: is_workday}."""
    global _read_overrides, _overrides
    _read_overrides, _overrides = reader, None


def clear_cache():
    """Forget the overrides read so far; the next question reads them again."""
    global _overrides
    _overrides = None


def _current_overrides():
    global _overrides
    overrides = _overrides
    if overrides is None or time.monotonic() - overrides.loaded_at > OVERRIDES_MAX_AGE_SECONDS:
        days = dict(_read_overrides())
        # Replaced whole, so a thread reading the old snapshot never sees half of the new one.
        years = frozenset(day.year for day in days)
        overrides = _overrides = _Overrides(days=days, years=years, loaded_at=time.monotonic())
    return overrides


def year_is_covered(year):
    """Whether the holidays of `year` are known: the package has them, or the province has entered at
    least one day of that year (it is then taken to have entered the year's whole schedule)."""
    return year in PACKAGE_YEARS or year in _current_overrides().years


def is_workday(day):
    """Whether `day` is a working day; never raises for a year nobody knows (weekends rest then)."""
    if isinstance(day, datetime.datetime):
        day = day.date()
    overrides = _current_overrides()
    override = overrides.days.get(day)
    if override is not None:
        return override
    if day.year in PACKAGE_YEARS:
        return day in _PACKAGE_WORKDAYS or (day.weekday() < 5 and day not in _PACKAGE_HOLIDAYS)
    if day.year not in overrides.years and day.year not in _warned_years:
        _warned_years.add(day.year)
        logger.warning(
            "No holiday calendar for %s (chinese_calendar covers %s-%s, no WorkdayOverride entered): "
            "counting only weekends as rest days",
            day.year,
            PACKAGE_YEARS.start,
            PACKAGE_YEARS.stop - 1,
        )
    return day.weekday() < 5


def next_workday(day):
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_workday(day):
        day += ONE_DAY
    return day


def nth_workday(year, month, n):
    """The Nth (from 1) working day of the month; ValueError when the month has fewer."""
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    day = datetime.date(year, month, 1)
    count = 0
    while day.month == month:
        if is_workday(day):
            count += 1
            if count == n:
                return day
        day += ONE_DAY
    raise ValueError(f"{year}-{month:02d} has only {count} working days, not {n}")


def workdays_before(day, n):
    """The date n working days before `day` (not counting `day`); `day` itself when n is 0."""
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    while n:
        day -= ONE_DAY
        if is_workday(day):
            n -= 1
    return day


def workdays_after(day, n):
    """The date n working days after `day` (not counting `day`): a time limit of n working days."""
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    while n:
        day += ONE_DAY
        if is_workday(day):
            n -= 1
    return day
