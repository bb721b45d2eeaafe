import datetime
import re
from types import SimpleNamespace
from unittest import mock

from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation

from actions.models import Action
from projects.domain import rules
from projects.domain.choices import LightReason, Role, Stage
from projects.atlas import reads as atlas
from projects.models import AnnualPlan, DigestSubscription, MonthlyReport, Problem, Programme, Project, Region, User
from projects.rankings.reads import default_month, unit_ranking
from projects.reference import boundaries
from projects.reference.demo_reports import UnitTempos
from projects.reference.demo_words import progress_step
from projects.shared.lights import annotate_progress


def test_seed_demo_covers_the_province_and_can_be_run_again(db, capsys):
    call_command("seed_demo", "--projects", "300", "--seed", "7", "--password", "pw-for-the-demo-users")
    out = capsys.readouterr().out
    assert "created 300 projects" in out and "zhengding" in out
    assert Project.objects.count() == 300
    assert set(Project.objects.values_list("city", flat=True)) == set(Region.objects.city_level().values_list("pk", flat=True))
    assert set(Project.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert Programme.objects.filter(projects__isnull=True).count() == 0
    assert set(Action.objects.filter(plan__is_primary=True, projects__isnull=False).values_list("number", flat=True)) == set(range(1, 9))
    assert MonthlyReport.objects.exists() and Problem.objects.exists()
    for project in Project.objects.exclude(county=None).select_related("county")[:50]:
        assert project.city_id == project.county.reporting_city_id
    today = rules.today()
    lights = {rules.light_of(row.light_reason) for row in annotate_progress(Project.objects.all(), year=today.year, on=today)}
    assert {"green", "yellow", "red"} <= lights  # some late, some behind pace

    editor = User.objects.get(username="zhengding")
    assert editor.role == Role.COUNTY_EDITOR and editor.region.name == "正定县"
    assert editor.check_password("pw-for-the-demo-users") and editor.email.endswith("@example.org")
    assert {s.frequency for s in DigestSubscription.objects.filter(user=editor)} == {"weekly", "monthly"}
    assert {user.role for user in User.objects.all()} == set(Role)

    call_command("seed_demo", "--projects", "50", "--seed", "8")
    assert Project.objects.count() == 50  # demo projects are replaced, not piled up
    assert User.objects.filter(username="zhengding").count() == 1


def test_if_empty_leaves_existing_data_alone(db, capsys):
    call_command("seed_demo", "--projects", "20", "--if-empty")
    assert Project.objects.count() == 20
    call_command("seed_demo", "--projects", "50", "--if-empty")
    assert Project.objects.count() == 20
    assert "no demo data added" in capsys.readouterr().out


def test_the_demo_has_last_year_history_progress_and_places(db, client):
    """Issue 28: last year's completions (its dashboard mostly green and yellow, December's push), a first
    history record per project and plan that a second run does not pile up, 形象进度 that only advances, and
    coordinates inside the project's county for most projects."""
    call_command("seed_demo", "--projects", "400", "--seed", "5")
    call_command("seed_demo", "--projects", "400", "--seed", "5")  # replaced, history included
    today = rules.today()
    last_year = today.year - 1

    client.force_login(User.objects.get(username="province"))
    page = client.get("/", {"year": last_year})
    totals = page.context["totals"]
    # In the days after a report deadline the reports still coming in are overdue today, red whatever the year shown
    # (a fifth of the demo on 2026-12-08): last year's progress is the rest of the red.
    overdue = (annotate_progress(Project.objects.all(), year=last_year, on=today)
               .filter(light_reason=LightReason.REPORT_OVERDUE).count())
    assert totals["completed"] > 0 and (totals["red"] - overdue) / totals["count"] < 0.15
    assert totals["green"] > totals["yellow"] > 0
    monthly = dict(MonthlyReport.objects.counted().filter(month__year=last_year).values_list("month")
                   .annotate(total=Sum("completed_investment")))
    assert len(monthly) == 12
    january, june, december = (monthly[datetime.date(last_year, month, 1)] for month in (1, 6, 12))
    assert january < june < december  # slow around the Spring Festival, a push at the year's end

    projects = Project.objects.all()
    firsts = Project.history.values_list("id", "history_type", "history_date", "history_change_reason")
    created = dict(projects.values_list("pk", "created_at"))
    assert sorted((pk, kind, at) for pk, kind, at, _reason in firsts) == sorted((pk, "+", at) for pk, at in created.items())
    assert all(reason for *_rest, reason in firsts)
    assert AnnualPlan.history.count() == AnnualPlan.objects.count()
    first = projects.first()
    with translation.override("zh-hans"):
        page = client.get(reverse("project_detail", args=[first.pk]))
    history = page.content.decode().split("变更记录")[-1]
    created_at = timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M")
    assert page.status_code == 200 and "创建" in history and created_at in history

    steps = {}
    for project, month, text in MonthlyReport.objects.order_by("project", "month").values_list("project", "month", "image_progress"):
        step = (progress_step(text), int(re.sub(r"\D", "", text) or 0))
        assert step[0] is not None, text
        assert step >= steps.get(project, (0, 0)), (project, month, text)  # never backwards
        steps[project] = step
    assert len({step for step, _done in steps.values()}) > 3

    placed = projects.exclude(latitude=None)
    assert placed.count() >= 0.85 * projects.count()
    for project in placed.select_related("city", "county")[:120]:
        place = project.county or project.city
        assert boundaries.contains(place.code, float(project.longitude), float(project.latitude)), project


def test_the_demo_units_differ_as_leaders_would_see_them(db, client):
    """Issue 28: the cities are not all alike. Some are ahead of time progress, some clearly behind (the map
    shows several colours, the rankings differ by more than noise), and some report on time far more often
    than others; the province's completion stays where a demo of alike units had it. Read on a fixed early
    December day: in January no month of the year has been reported yet, and every unit shows nothing."""
    local_date = timezone.localdate
    with mock.patch("django.utils.timezone.localdate",
                    side_effect=lambda *args, **kwargs: local_date(*args, **kwargs) if args or kwargs else DECEMBER):
        _check_the_units_differ(client)


DECEMBER = datetime.date(2026, 12, 7)


def _check_the_units_differ(client):
    assert rules.today() == DECEMBER
    call_command("seed_demo", "--projects", "1400", "--seed", "1")
    province = User.objects.get(username="province")
    client.force_login(province)
    page = client.get(reverse("atlas"))
    lags = [row["number"] for row in page.context["rows"] if row["code"]]
    assert len(lags) == 14 and None not in lags
    assert len({atlas.value_class(lag, atlas.LAG_BREAKS) for lag in lags}) >= 3
    assert max(lags) - min(lags) >= 15
    assert max(lags) >= 0 and min(lags) < -25  # someone ahead of time progress, someone far behind
    assert len({row["fill"] for row in page.context["rows"] if row["code"]}) >= 3  # as drawn

    ranking = unit_ranking(province, month=default_month())
    punctuality = [row.cells["punctuality"].value for row in ranking.rows]
    assert None not in punctuality and max(punctuality) - min(punctuality) >= 10
    red = [row.cells["red"].value for row in ranking.rows]
    assert max(red) >= 2 * min(red)

    today = rules.today()
    totals = client.get("/").context["totals"]
    rate = totals["completed"] * 100 / totals["plan"]
    progress = rules.time_progress(year=today.year, on=today)
    assert -25 < rate - progress < -8  # the province as a whole: a little behind, as before
    assert totals["red"] / totals["count"] < 0.2


def test_unit_tempos_spread_the_cities_and_their_counties_around_the_province():
    """The rule behind the spread: a fifth of the cities ahead, a fifth behind, the paces averaging 1 (the
    province's totals kept), counties differing within their city around its pace; the same for a seed."""
    cities = [SimpleNamespace(pk=index, code=f"13{index:02d}00") for index in range(1, 15)]
    counties = {city.pk: [SimpleNamespace(pk=city.pk * 100 + n, code=f"{city.code[:4]}{n:02d}") for n in range(1, 9)]
                for city in cities}
    tempos = UnitTempos(1, cities, counties)
    paces = sorted(tempos.of(city).pace for city in cities)
    assert abs(sum(paces) / 14 - 1) < 1e-9
    assert paces[-3] > 1.18 and paces[2] < 0.9 and paces[3] > 0.88  # three ahead, three behind
    lates = sorted(tempos.of(city).late for city in cities)
    assert lates[2] <= 0.1 and lates[-3] >= 0.4
    for city in cities:
        own = [tempos.of(county).pace for county in counties[city.pk]]
        assert abs(sum(own) / len(own) - tempos.of(city).pace) < 1e-9 and max(own) - min(own) > 0.05
    again = UnitTempos(1, cities, counties)
    assert [again.of(city) for city in cities] == [tempos.of(city) for city in cities]
    assert [UnitTempos(2, cities, counties).of(city) for city in cities] != [tempos.of(city) for city in cities]
