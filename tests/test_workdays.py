"""China's working-day calendar (法定节假日 and 调休) and the report deadlines that follow it (SPEC §2)."""

import datetime
import logging

import chinese_calendar
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from projects.domain import rules, workdays
from projects.models import WorkdayOverride

from .test_access import client_for

D = datetime.date
# A year chinese_calendar 1.11.0 does not know (it covers 2004-2026); test_unknown_year checks the premise.
UNKNOWN_YEAR = 2031
UNCOVERED_WARNING = "年的法定节假日和调休安排尚未录入（日历组件未包含该年），截止日期暂按周末休息计算。"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def deadline_by_the_fifth(settings):
    settings.MONTHLY_REPORT_DEADLINE_DAY = 5
    settings.MONTHLY_REPORT_DEADLINE_MODE = "calendar"


# --- The package's years ---------------------------------------------------------------------------


def test_adjusted_sunday_is_worked_and_holiday_saturday_is_not():
    assert workdays.is_workday(D(2025, 9, 28))  # Sunday, worked in exchange for the National Day holiday (调休)
    assert not workdays.is_workday(D(2025, 10, 4))  # Saturday inside the holiday
    assert not workdays.is_workday(D(2025, 10, 1))  # Wednesday, National Day
    assert workdays.is_workday(D(2025, 10, 9))  # Thursday, first day back
    assert not workdays.is_workday(D(2025, 10, 12))  # an ordinary Sunday


def test_deadline_inside_national_day_moves_to_the_first_working_day_after_it():
    # 1-8 October 2025 are holidays (National Day and Mid-Autumn), so September's report is due on the 9th.
    assert rules.report_deadline(D(2025, 9, 1)) == D(2025, 10, 9)
    assert rules.report_deadline(D(2025, 9, 1), deadline_day=5) == D(2025, 10, 9)
    assert rules.report_deadline(D(2025, 8, 1)) == D(2025, 9, 5)  # a Friday: stays


def test_report_is_late_only_after_the_moved_deadline():
    def reported(day):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(16)))

    assert not rules.report_is_late(month=D(2025, 9, 1), reported_at=reported(D(2025, 10, 9)))
    assert rules.report_is_late(month=D(2025, 9, 1), reported_at=reported(D(2025, 10, 10)))


@pytest.mark.parametrize(
    "on, due",
    [
        (D(2025, 10, 8), D(2025, 8, 1)),  # September's report is not due before 9 October
        (D(2025, 10, 9), D(2025, 8, 1)),  # on the deadline itself it is still on time
        (D(2025, 10, 10), D(2025, 9, 1)),
    ],
)
def test_latest_due_month_across_the_october_holiday(on, due):
    assert rules.latest_due_month(on=on) == due


def test_workday_mode_counts_working_days():
    # October 2025's working days: Thu 9, Fri 10, Sat 11 (调休, worked for National Day), then Sunday 12
    # rests, Mon 13 is the 4th and Tue 14 the 5th. (Not the 13th: that would skip the adjusted Saturday.)
    assert chinese_calendar.is_workday(D(2025, 10, 11)) and not chinese_calendar.is_workday(D(2025, 10, 12))
    assert workdays.nth_workday(2025, 10, 1) == D(2025, 10, 9)
    assert workdays.nth_workday(2025, 10, 3) == D(2025, 10, 11)
    assert workdays.nth_workday(2025, 10, 5) == D(2025, 10, 14)


def test_workday_mode_setting(settings):
    settings.MONTHLY_REPORT_DEADLINE_MODE = "workday"
    assert rules.report_deadline(D(2025, 9, 1)) == D(2025, 10, 14)
    assert rules.report_deadline(D(2025, 7, 1)) == D(2025, 8, 7)  # Fri 1, Mon 4 ... Thu 7 is the 5th
    assert rules.latest_due_month(on=D(2025, 10, 14)) == D(2025, 8, 1)
    assert rules.latest_due_month(on=D(2025, 10, 15)) == D(2025, 9, 1)


def test_unknown_deadline_mode_is_refused(settings):
    settings.MONTHLY_REPORT_DEADLINE_MODE = "weekday"
    with pytest.raises(ImproperlyConfigured):
        rules.report_deadline(D(2025, 9, 1))


def test_stepping_over_rest_days():
    assert workdays.next_workday(D(2025, 10, 1)) == D(2025, 10, 9)
    assert workdays.next_workday(D(2025, 10, 9)) == D(2025, 10, 9)
    assert workdays.workdays_before(D(2025, 10, 9), 0) == D(2025, 10, 9)
    assert workdays.workdays_before(D(2025, 10, 9), 1) == D(2025, 9, 30)
    assert workdays.workdays_before(D(2025, 10, 9), 3) == D(2025, 9, 28)  # 30, 29, then the adjusted Sunday
    with pytest.raises(ValueError):
        workdays.nth_workday(2025, 10, 19)  # October 2025 has only 18 working days
    with pytest.raises(ValueError):
        workdays.nth_workday(2025, 10, 0)


# --- Years the package does not know ---------------------------------------------------------------


def test_unknown_year_falls_back_to_weekends_and_warns_once(caplog, monkeypatch):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(UNKNOWN_YEAR, 4, 5))  # the premise: the package does not know the year
    monkeypatch.setattr(workdays, "_warned_years", set())
    assert not workdays.year_is_covered(UNKNOWN_YEAR)
    assert workdays.year_is_covered(2025)
    with caplog.at_level(logging.WARNING, logger="projects.domain.workdays"):
        assert not workdays.is_workday(D(UNKNOWN_YEAR, 4, 5))  # Saturday
        assert workdays.is_workday(D(UNKNOWN_YEAR, 4, 7))  # Monday
        # March's report: due Saturday 5 April, so Monday 7 April.
        assert rules.report_deadline(D(UNKNOWN_YEAR, 3, 1)) == D(UNKNOWN_YEAR, 4, 7)
    warnings = [record for record in caplog.records if record.name == "projects.domain.workdays"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING and str(UNKNOWN_YEAR) in warnings[0].getMessage()


def test_overrides_entered_by_the_province_take_effect_at_once(django_assert_num_queries):
    saturday, monday, tuesday = D(UNKNOWN_YEAR, 4, 5), D(UNKNOWN_YEAR, 4, 7), D(UNKNOWN_YEAR, 4, 8)
    assert rules.report_deadline(D(UNKNOWN_YEAR, 3, 1)) == monday
    with django_assert_num_queries(0):  # read once, then answered from memory
        assert workdays.is_workday(monday)

    WorkdayOverride.objects.create(date=monday, is_workday=False, note="2031年清明节")
    assert not workdays.is_workday(monday)
    assert workdays.year_is_covered(UNKNOWN_YEAR)  # the province has entered the year
    assert rules.report_deadline(D(UNKNOWN_YEAR, 3, 1)) == tuesday

    adjusted = WorkdayOverride.objects.create(date=saturday, is_workday=True, note="2031年清明节调休")
    assert workdays.is_workday(saturday)
    assert rules.report_deadline(D(UNKNOWN_YEAR, 3, 1)) == saturday

    adjusted.delete()
    assert not workdays.is_workday(saturday)
    assert rules.report_deadline(D(UNKNOWN_YEAR, 3, 1)) == tuesday


def test_an_override_wins_over_the_package():
    WorkdayOverride.objects.create(date=D(2025, 10, 9), is_workday=False, note="更正")
    assert not workdays.is_workday(D(2025, 10, 9))
    assert rules.report_deadline(D(2025, 9, 1)) == D(2025, 10, 10)


def test_other_processes_see_overrides_after_the_maximum_age(monkeypatch):
    saturday = D(UNKNOWN_YEAR, 4, 5)
    assert not workdays.is_workday(saturday)
    # A row written where this process's signals do not reach (another worker; bulk_create sends none).
    WorkdayOverride.objects.bulk_create([WorkdayOverride(date=saturday, is_workday=True)])
    assert not workdays.is_workday(saturday)  # this process's copy is still the old one...
    monkeypatch.setattr(workdays, "OVERRIDES_MAX_AGE_SECONDS", -1)
    assert workdays.is_workday(saturday)  # ...until it is old enough to be read again


# --- The admin -------------------------------------------------------------------------------------


def changelist(client):
    response = client.get(reverse("admin:projects_workdayoverride_changelist"))
    assert response.status_code == 200
    return response.content.decode()


def test_changelist_warns_of_years_nobody_has_entered(users, monkeypatch):
    client = client_for(users["province_admin"])
    monkeypatch.setattr(rules, "today", lambda: D(2030, 11, 20))
    page = changelist(client)
    assert f"{UNKNOWN_YEAR - 1} {UNCOVERED_WARNING}" in page
    assert f"{UNKNOWN_YEAR} {UNCOVERED_WARNING}" in page

    WorkdayOverride.objects.create(date=D(UNKNOWN_YEAR, 1, 1), is_workday=False, note="2031年元旦")
    page = changelist(client)
    assert f"{UNKNOWN_YEAR - 1} {UNCOVERED_WARNING}" in page
    assert f"{UNKNOWN_YEAR} {UNCOVERED_WARNING}" not in page
    assert "2031年元旦" in page and "星期三" in page  # 1 January 2031 is a Wednesday

    monkeypatch.setattr(rules, "today", lambda: D(2025, 11, 20))  # 2025 and 2026 are in the package
    assert UNCOVERED_WARNING not in changelist(client)


def test_province_admin_enters_a_day_and_the_deadline_follows(users):
    client = client_for(users["province_admin"])
    response = client.post(
        reverse("admin:projects_workdayoverride_add"),
        {"date": f"{UNKNOWN_YEAR}-04-07", "note": "2031年清明节"},  # is_workday unticked: a rest day
    )
    assert response.status_code == 302
    assert not workdays.is_workday(D(UNKNOWN_YEAR, 4, 7))
    assert rules.report_deadline(D(UNKNOWN_YEAR, 3, 1)) == D(UNKNOWN_YEAR, 4, 8)


@pytest.mark.parametrize("role", ["county_editor", "city_coordinator", "leader"])
def test_other_roles_read_the_calendar_but_do_not_change_it(role, users):
    WorkdayOverride.objects.create(date=D(UNKNOWN_YEAR, 1, 1), is_workday=False, note="2031年元旦")
    client = client_for(users[role])
    assert "2031年元旦" in changelist(client)
    assert client.get(reverse("admin:projects_workdayoverride_add")).status_code == 403
    override = WorkdayOverride.objects.get()
    response = client.post(
        reverse("admin:projects_workdayoverride_change", args=[override.pk]),
        {"date": f"{UNKNOWN_YEAR}-01-01", "is_workday": "on", "note": "改"},
    )
    assert response.status_code == 403
    assert not WorkdayOverride.objects.get().is_workday


def test_every_day_the_package_knows_is_answered_as_the_package_answers():
    """is_workday reads the package's tables once; for every day of every year it covers (and no override)
    the answer is the package's own."""
    day = D(workdays.PACKAGE_YEARS.start, 1, 1)
    while day.year in workdays.PACKAGE_YEARS:
        assert workdays.is_workday(day) == chinese_calendar.is_workday(day), day
        day += datetime.timedelta(days=1)
