from django.core.management import call_command

from actions.models import Action
from projects.domain import rules
from projects.domain.choices import Role, Stage
from projects.models import DigestSubscription, MonthlyReport, Problem, Programme, Project, Region, User
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
