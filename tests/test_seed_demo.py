import datetime
import re

from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation

from actions.models import Action
from projects.domain import rules
from projects.domain.choices import Role, Stage
from projects.models import AnnualPlan, DigestSubscription, MonthlyReport, Problem, Programme, Project, Region, User
from projects.reference import boundaries
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
    assert totals["completed"] > 0 and totals["red"] / totals["count"] < 0.15
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
