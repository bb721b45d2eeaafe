"""The year-end forecast (预计全年完成, issue 28): the rule on constructed series (pace, last year's shape, no
months, a reported year, no plan, above plan, a short or thin last year), and the dashboard card and the
monthly digest showing shared.forecast's figures for the reader's scope — a county's only its own."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from projects.domain import rules
from projects.domain.choices import DigestFrequency, ReviewStatus
from projects.domain.figures import figure_text
from projects.domain.forecast import NO_MONTHS, PACE, SHAPE, year_end_forecast
from projects.mail import digests
from projects.models import AnnualPlan, DigestSubscription, MonthlyReport, Project
from projects.shared import editing
from projects.shared.forecast import forecast_caveat, forecast_of, months_reported, series_rows

from .conftest import NANGONG, ZHENGDING, make_project
from .test_access import client_for

D = Decimal
# Last year's completion by month: a slow start, a rise, a December push (sums to 1000).
LAST_YEAR = [D(v) for v in (30, 20, 60, 80, 85, 90, 85, 85, 90, 95, 110, 170)]


def cumulative(*monthly):
    running, out = D(0), []
    for value in monthly:
        running += D(value)
        out.append(running)
    return out


# --- The rule -------------------------------------------------------------------------------------------


def test_pace_only_without_last_year():
    forecast = year_end_forecast(cumulative=cumulative(100, 100, 100, 100, 100, 100), plan=D(1500), last_year=None)
    assert forecast.method == PACE and forecast.shape is None and forecast.other is None
    assert forecast.headline == D(1200)  # 600 in 6 of 12 months
    assert forecast.rate == D("80.0") and forecast.spread is None and not forecast.rough


def test_last_years_shape_is_the_headline_and_the_pace_the_other():
    forecast = year_end_forecast(cumulative=cumulative(*[50] * 6), plan=D(600), last_year=LAST_YEAR)
    share = D(30 + 20 + 60 + 80 + 85 + 90) / D(1000)
    assert forecast.method == SHAPE and forecast.shape_share == share
    assert forecast.headline == D(300) / share and forecast.other == D(600)
    assert (forecast.low, forecast.high) == (D(600), D(300) / share)
    assert forecast.rate == (D(300) / share * 100 / 600).quantize(D("0.1"))
    assert forecast.spread == D(300) / share - D(600)
    assert "两种算法相差" in forecast_caveat(forecast)


def test_no_month_reported_gives_no_forecast_and_says_why():
    forecast = year_end_forecast(cumulative=[], plan=D(1000), last_year=LAST_YEAR)
    assert not forecast.available and forecast.missing == NO_MONTHS
    assert forecast.headline is None and forecast.rate is None and forecast.method is None
    assert "暂不预测" in forecast_caveat(forecast)


def test_a_reported_year_is_its_completion():
    forecast = year_end_forecast(cumulative=cumulative(*LAST_YEAR), plan=D(900), last_year=LAST_YEAR)
    assert forecast.final and forecast.headline == forecast.pace == forecast.shape == D(1000)
    assert forecast.spread == 0 and forecast.rate == D("111.1") and forecast.above_plan


def test_december_adds_what_december_is_expected_to_add():
    forecast = year_end_forecast(cumulative=cumulative(*LAST_YEAR[:11]), plan=D(1000), last_year=LAST_YEAR)
    assert forecast.months == 11 and forecast.headline == D(1000)  # the same shape as last year: its total
    assert forecast.pace == D(830) * 12 / 11 and forecast.pace < forecast.headline  # the pace misses the push


def test_no_plan_gives_no_rate():
    for plan in (None, D(0)):
        forecast = year_end_forecast(cumulative=cumulative(100, 100), plan=plan)
        assert forecast.available and forecast.rate is None and not forecast.above_plan


def test_completion_above_the_plan_is_said():
    forecast = year_end_forecast(cumulative=cumulative(400, 400), plan=D(700), last_year=None)
    assert forecast.above_plan and forecast.rate == D("685.7")
    assert not year_end_forecast(cumulative=cumulative(100), plan=D(700)).above_plan


def test_a_short_or_thin_last_year_is_not_gone_by():
    six = cumulative(*[100] * 6)
    assert year_end_forecast(cumulative=six, plan=D(1), last_year=LAST_YEAR[:6]).method == PACE  # months missing
    gap = [*LAST_YEAR[:5], D(0), *LAST_YEAR[6:]]
    assert year_end_forecast(cumulative=six, plan=D(1), last_year=gap).method == PACE  # a month without reports
    missing = [*LAST_YEAR[:5], None, *LAST_YEAR[6:]]
    assert year_end_forecast(cumulative=six, plan=D(1), last_year=missing).method == PACE
    # January: last year's January was 3% of its year, under the 5% it takes to go by.
    january = year_end_forecast(cumulative=cumulative(100), plan=D(1), last_year=LAST_YEAR)
    assert january.method == PACE and january.rough
    assert "粗略" in forecast_caveat(january)
    assert year_end_forecast(cumulative=cumulative(100, 100, 100), plan=D(1), last_year=LAST_YEAR).method == SHAPE


# --- Where it is shown ----------------------------------------------------------------------------------


def reported(project, year, amounts, *, status=ReviewStatus.APPROVED):
    for month, amount in enumerate(amounts, start=1):
        MonthlyReport.objects.create(project=project, month=datetime.date(year, month, 1), completed_investment=D(amount),
                                     image_progress="主体施工", review_status=status)


@pytest.fixture
def series(db):
    """A project in 正定县 and one in 南宫市, each with last year's twelve reports and this year's due ones."""
    on = rules.today()
    year, months = on.year, months_reported(year=on.year, on=on)
    made = {}
    for name, county, scale in (("正定县预测项目", ZHENGDING, 1), ("南宫市预测项目", NANGONG, 3)):
        project = made[county] = make_project(name, county)
        AnnualPlan.objects.create(project=project, year=year, planned_investment=D(1200 * scale))
        AnnualPlan.objects.create(project=project, year=year - 1, planned_investment=D(1000 * scale))
        reported(project, year - 1, [value * scale for value in LAST_YEAR])
        reported(project, year, [100 * scale] * months)
    # A returned report does not count, here as in the totals.
    MonthlyReport.objects.create(project=made[ZHENGDING], month=datetime.date(year, 12, 1), completed_investment=D(999),
                                 review_status=ReviewStatus.RETURNED)
    editing.progress_refresh()
    return made


def card_text(page, name):
    found = re.search(rf'data-forecast="{name}">([^<]*)<', page.content.decode())
    return found and found.group(1)


@pytest.mark.parametrize("who, counties", [("province_admin", (ZHENGDING, NANGONG)), ("county_editor", (ZHENGDING,))])
def test_the_dashboard_card_shows_the_scopes_forecast(users, series, who, counties):
    on = rules.today()
    expected = forecast_of(Project.objects.filter(county__code__in=counties), year=on.year, on=on)
    months = months_reported(year=on.year, on=on)
    scale = sum({ZHENGDING: 1, NANGONG: 3}[county] for county in counties)
    assert expected.completed == D(100 * scale * months) and expected.plan == D(1200 * scale)
    with translation.override("zh-hans"):
        page = client_for(users[who]).get(reverse("dashboard"))
    assert page.context["forecast_card"]["forecast"] == expected
    if expected.available:
        assert card_text(page, "headline") == figure_text(expected.headline, "亿元")
        assert card_text(page, "rate") == f"{expected.rate:,.1f}%"
    assert forecast_caveat(expected) in page.content.decode()


def test_the_card_of_last_year_is_its_completion(users, series):
    year = rules.today().year - 1
    page = client_for(users["county_editor"]).get(reverse("dashboard"), {"year": year})
    forecast = page.context["forecast_card"]["forecast"]
    assert forecast.final and forecast.completed == D(1000) and forecast.rate == D("100.0")
    assert card_text(page, "headline") == figure_text(D(1000), "亿元")


def test_the_card_reads_in_english(users, series):
    client = client_for(users["province_admin"])
    client.cookies["django_language"] = "en"
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200 and 'class="card forecast-card"' in page.content.decode()


def test_the_monthly_digest_has_the_forecast_and_the_weekly_not(users, series):
    today = rules.today()
    user = users["county_editor"]
    monthly = DigestSubscription.objects.create(user=user, frequency=DigestFrequency.MONTHLY)
    period = digests.Period(DigestFrequency.MONTHLY, today.replace(day=1), today)
    context = digests.digest_context(monthly, period)
    expected = forecast_of(Project.objects.filter(county__code=ZHENGDING), year=today.year, on=today)
    assert context["forecast"]["forecast"] == expected
    _subject, text, html = digests.digest_render(monthly, period)
    assert forecast_caveat(expected) in text and forecast_caveat(expected) in html
    if expected.available:
        assert f"预计全年完成 {figure_text(expected.headline, '亿元')} 亿元" in text

    weekly = DigestSubscription.objects.create(user=user, frequency=DigestFrequency.WEEKLY)
    week = digests.Period(DigestFrequency.WEEKLY, today - datetime.timedelta(days=6), today)
    assert digests.digest_context(weekly, week)["forecast"] is None
    _subject, text, html = digests.digest_render(weekly, week)
    assert "预计全年完成" not in text and "预计全年完成" not in html


def test_the_series_reads_this_year_and_last_by_a_range_on_the_month(db):
    """Reports of the two years count, those of the year before and after do not; read by a range PostgreSQL can
    estimate, not EXTRACT(YEAR …) (which made it look up the province's 1.2 million reports' projects one by one)."""
    project = make_project("序列项目", ZHENGDING)
    for month, amount in ((datetime.date(2024, 12, 1), 1), (datetime.date(2025, 1, 1), 10), (datetime.date(2026, 12, 1), 100),
                          (datetime.date(2027, 1, 1), 1000)):
        MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal(amount))
    with CaptureQueriesContext(connection) as queries:
        rows = series_rows(Project.objects.all(), year=2026)
    assert sorted((row["month"], row["total"]) for row in rows) == [(datetime.date(2025, 1, 1), 10), (datetime.date(2026, 12, 1), 100)]
    [sql] = [query["sql"] for query in queries.captured_queries]
    assert "EXTRACT" not in sql.upper() and "django_date_extract" not in sql, sql
