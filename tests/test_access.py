"""The permission matrix: every role × every admin surface × own region / another region, over real
HTTP requests. Another region's object must answer exactly as a missing one does."""

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from projects.domain.choices import Role, Status
from projects.models import MonthlyReport, Problem, Project, Region

from .conftest import NANGONG, XINGTAI, make_user

MISSING_PK = 987654321

# Which of the fixture projects each role sees, and what it may do with them.
VISIBLE = {
    "province_admin": {"zhengding", "qiaoxi", "nangong"},
    "leader": {"zhengding", "qiaoxi", "nangong"},
    "city_coordinator": {"zhengding", "qiaoxi"},
    "county_editor": {"zhengding"},
    "city_leader": {"nangong"},
}
CAN_CHANGE = {"province_admin", "city_coordinator", "county_editor"}
CAN_DELETE = {"province_admin", "city_coordinator"}
ROLES = list(VISIBLE)


@pytest.fixture
def matrix_users(users):
    return {**users, "city_leader": make_user("xt-leader", Role.LEADER, XINGTAI)}


@pytest.fixture
def setup(matrix_users, projects):
    for project in projects.values():
        Problem.objects.create(project=project, description=f"{project.name}的问题")
    return matrix_users, projects


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def answer(response):
    """What a user can tell from a response: the status and where it sends them."""
    return response.status_code, response.get("Location")


def other_projects(role, projects):
    return [project for key, project in projects.items() if key not in VISIBLE[role]]


def own_projects(role, projects):
    return [project for key, project in projects.items() if key in VISIBLE[role]]


def changelist_names(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_changelists_show_only_the_region(role, setup):
    users, projects = setup
    client = client_for(users[role])
    for url in (
        "admin:projects_project_changelist",
        "admin:projects_monthlyreport_changelist",
        "admin:projects_problem_changelist",
        "admin:projects_annualplan_changelist",
    ):
        page = changelist_names(client, reverse(url))
        for key, project in projects.items():
            assert (project.name in page) == (key in VISIBLE[role]), (url, key)


@pytest.mark.parametrize("role", ROLES)
def test_object_views_answer_another_region_as_missing(role, setup):
    users, projects = setup
    client = client_for(users[role])
    history_id = lambda project: project.history.first().history_id  # noqa: E731
    views = {
        "change": lambda pk: reverse("admin:projects_project_change", args=[pk]),
        "delete": lambda pk: reverse("admin:projects_project_delete", args=[pk]),
        "history": lambda pk: reverse("admin:projects_project_history", args=[pk]),
    }
    for name, url in views.items():
        missing = answer(client.get(url(MISSING_PK)))
        for project in other_projects(role, projects):
            assert answer(client.get(url(project.pk))) == missing, (name, project.name)
        for project in own_projects(role, projects):
            expected = 403 if name == "delete" and role not in CAN_DELETE else 200
            assert client.get(url(project.pk)).status_code == expected, (name, project.name)
    for project in other_projects(role, projects):
        url = reverse("admin:projects_project_simple_history", args=[project.pk, history_id(project)])
        assert client.get(url).status_code == 404
    for model, related in (("monthlyreport", "reports"), ("problem", "problems"), ("annualplan", "plans")):
        for project in other_projects(role, projects):
            child = getattr(project, related).first()
            missing = answer(client.get(reverse(f"admin:projects_{model}_change", args=[MISSING_PK])))
            assert answer(client.get(reverse(f"admin:projects_{model}_change", args=[child.pk]))) == missing
            assert client.get(reverse(f"admin:projects_{model}_history", args=[child.pk])).status_code == 404


def change_form_data(project, **overrides):
    """The change form as the admin renders it for `project`, with no inline rows added."""
    data = {
        "code": project.code or "",
        "name": project.name,
        "programmes": [p.pk for p in project.programmes.all()] if project.pk else [],
        "actions": [],
        "batch": "",
        "industry": "",
        "cluster": "",
        "city": project.city_id,
        "county": project.county_id or "",
        "stage": project.stage,
        "status": project.status,
        "total_investment": str(project.total_investment),
        "version": project.version,
    }
    for prefix in ("plans", "milestones", "reports", "problems"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0, f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ROLES)
def test_saving_a_project(role, setup):
    users, projects = setup
    client = client_for(users[role])
    for project in own_projects(role, projects):
        url = reverse("admin:projects_project_change", args=[project.pk])
        response = client.post(url, change_form_data(project, name=project.name + "（已修改）"))
        project.refresh_from_db()
        if role in CAN_CHANGE:
            assert response.status_code == 302, response.content.decode()[:2000]
            assert project.name.endswith("（已修改）")
        else:
            assert response.status_code == 403
            assert not project.name.endswith("（已修改）")
    missing = answer(client.post(reverse("admin:projects_project_change", args=[MISSING_PK]), {}))
    for project in other_projects(role, projects):
        url = reverse("admin:projects_project_change", args=[project.pk])
        assert answer(client.post(url, change_form_data(project, name="篡改"))) == missing
        project.refresh_from_db()
        assert project.name != "篡改"


def test_county_editor_cannot_move_a_project_out_of_the_county(setup):
    users, projects = setup
    client = client_for(users["county_editor"])
    project = projects["zhengding"]
    nangong = Region.objects.get(code=NANGONG)
    url = reverse("admin:projects_project_change", args=[project.pk])
    response = client.post(url, change_form_data(project, county=nangong.pk, city=nangong.reporting_city_id))
    assert response.status_code == 200  # the form comes back with errors
    errors = response.context["adminform"].form.errors
    assert "county" in errors and "city" in errors
    project.refresh_from_db()
    assert project.county.code == "130123"


def test_county_editor_cannot_create_in_another_county(setup):
    users, _projects = setup
    client = client_for(users["county_editor"])
    nangong = Region.objects.get(code=NANGONG)
    data = change_form_data(Project(name="越权项目", city=nangong.reporting_city, county=nangong, total_investment=Decimal(1)))
    data.pop("version")
    response = client.post(reverse("admin:projects_project_add"), data)
    assert response.status_code == 200
    assert "county" in response.context["adminform"].form.errors
    assert not Project.objects.filter(name="越权项目").exists()


@pytest.mark.parametrize("role", ROLES)
def test_bulk_action_with_another_regions_ids_changes_nothing_there(role, setup):
    users, projects = setup
    client = client_for(users[role])
    response = client.post(
        reverse("admin:projects_project_changelist"),
        {"action": "mark_stalled", "_selected_action": [project.pk for project in projects.values()]},
    )
    assert response.status_code in (200, 302)
    for key, project in projects.items():
        project.refresh_from_db()
        stalled = role in CAN_CHANGE and key in VISIBLE[role]
        assert (project.status == Status.STALLED) == stalled, key


@pytest.mark.parametrize("role", ROLES)
def test_changelist_filters_pointing_at_another_region_show_nothing_of_it(role, setup):
    users, projects = setup
    client = client_for(users[role])
    url = reverse("admin:projects_project_changelist")
    missing = answer(client.get(url, {"county": MISSING_PK}))
    for project in other_projects(role, projects):
        response = client.get(url, {"county": project.county_id})
        assert answer(response) == missing
        for lookup in ({"county__id__exact": project.county_id}, {"q": project.name}):
            response = client.get(url, lookup, follow=True)
            assert project not in response.context["cl"].result_list


def autocomplete(client, model_name, field_name, term=""):
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "projects", "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200, response.status_code
    data = json.loads(response.content)
    results = {int(row["id"]) for row in data["results"]}
    page = 2
    while data["pagination"]["more"]:
        data = json.loads(client.get(
            reverse("admin:autocomplete"),
            {"app_label": "projects", "model_name": model_name, "field_name": field_name, "term": term, "page": page},
        ).content)
        results |= {int(row["id"]) for row in data["results"]}
        page += 1
    return results


@pytest.mark.parametrize("role", ROLES)
def test_autocomplete_json_is_scoped(role, setup):
    users, _projects = setup
    user = users[role]
    client = client_for(user)
    visible_regions = set(Region.objects.visible_to(user).values_list("pk", flat=True))
    counties = autocomplete(client, "project", "county")
    assert counties and counties <= visible_regions
    assert counties == set(Region.objects.visible_to(user).counties().values_list("pk", flat=True))
    assert autocomplete(client, "project", "city") <= visible_regions
    assert autocomplete(client, "project", "county", term="桥西") <= visible_regions
    clusters = autocomplete(client, "project", "cluster")
    assert {Region.objects.get(clusters__pk=pk).pk for pk in clusters} <= visible_regions
    if role in ("province_admin", "leader"):
        assert len(counties) == 190
    if role == "county_editor":
        assert counties == {Region.objects.get(code="130123").pk}
        assert "南宫" not in str(client.get(reverse("admin:autocomplete"), {
            "app_label": "projects", "model_name": "project", "field_name": "county", "term": "南宫"}).content.decode())


@pytest.mark.parametrize("role", ROLES)
def test_region_changelist_is_scoped(role, setup):
    users, _projects = setup
    client = client_for(users[role])
    page = changelist_names(client, reverse("admin:projects_region_changelist"))
    assert ("南宫市" in page) == (role in ("province_admin", "leader", "city_leader"))
    assert ("正定县" in page) == (role != "city_leader")


def test_leader_changes_nothing_and_anonymous_sees_nothing(setup):
    users, projects = setup
    leader = client_for(users["leader"])
    project = projects["zhengding"]
    assert leader.get(reverse("admin:projects_project_add")).status_code == 403
    page = leader.get(reverse("admin:projects_project_change", args=[project.pk])).content.decode()
    assert 'name="_save"' not in page  # read-only view
    anonymous = Client()
    response = anonymous.get(reverse("admin:projects_project_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert anonymous.get(reverse("admin:autocomplete"), {"app_label": "projects", "model_name": "project", "field_name": "county"}).status_code in (302, 403)


def test_visible_to_is_the_rule_every_queryset_uses(setup):
    users, projects = setup
    editor = users["county_editor"]
    assert set(Project.objects.visible_to(editor)) == {projects["zhengding"]}
    assert set(MonthlyReport.objects.visible_to(editor).values_list("project__name", flat=True)) == {projects["zhengding"].name}
    assert not Project.objects.editable_by(users["leader"]).exists()
    assert Project.objects.editable_by(users["city_coordinator"]).count() == 2


def test_county_editor_must_name_their_county(setup):
    users, projects = setup
    client = client_for(users["county_editor"])
    project = projects["zhengding"]
    response = client.post(reverse("admin:projects_project_change", args=[project.pk]), change_form_data(project, county=""))
    assert response.status_code == 200 and "county" in response.context["adminform"].form.errors
    project.refresh_from_db()
    assert project.county is not None


@pytest.mark.parametrize("role", ROLES)
def test_annual_plan_overview_is_scoped(role, setup):
    users, projects = setup
    client = client_for(users[role])
    response = client.get(reverse("admin:projects_annualplan_changelist"))
    shown = {plan.project.name for plan in response.context["cl"].result_list}
    assert shown == {projects[key].name for key in VISIBLE[role]}


# --- Supervision and milestones: the new surfaces, every role on its own region and another's --------------

CAN_OPEN_ITEMS = {"province_admin", "city_coordinator"}


@pytest.mark.parametrize("role", ROLES)
def test_supervision_pages_answer_another_region_as_missing(role, setup):
    from projects.domain.choices import SupervisionLevel
    from projects.models import MilestoneKind, SupervisionItem
    from projects.supervision import services as supervision

    users, projects = setup
    items = {key: supervision.item_open(user=users["province_admin"], project=project, description=f"{project.name}督办",
                                        level=SupervisionLevel.PROVINCE) for key, project in projects.items()}
    client = client_for(users[role])
    missing = answer(client.get(reverse("supervision_item", args=[MISSING_PK])))
    admin_missing = answer(client.get(reverse("admin:projects_supervisionitem_change", args=[MISSING_PK])))
    page = changelist_names(client, reverse("supervision"))
    admin_page = changelist_names(client, reverse("admin:projects_supervisionitem_changelist"))
    for key, item in items.items():
        own = key in VISIBLE[role]
        url = reverse("supervision_item", args=[item.pk])
        assert (answer(client.get(url)) == missing) != own, (role, key)
        assert client.get(url).status_code == (200 if own else 404)
        admin_url = reverse("admin:projects_supervisionitem_change", args=[item.pk])
        assert (answer(client.get(admin_url)) == admin_missing) != own, (role, key)
        assert (item.project.name in page) == own and (item.project.name in admin_page) == own, (role, key)
    kind = MilestoneKind.objects.first()
    for key, project in projects.items():
        own = key in VISIBLE[role]
        opened = client.post(reverse("supervision_open", args=[project.pk]),
                             {"level": SupervisionLevel.CITY, "description": "请说明"}).status_code
        assert opened == (404 if not own else 302 if role in CAN_OPEN_ITEMS else 403), (role, key, opened)
        saved = client.post(reverse("project_milestones", args=[project.pk]),
                            {f"node-{kind.pk}-planned": "2026-05-01", f"node-{kind.pk}-actual": ""}).status_code
        assert saved == (302 if own and role in CAN_CHANGE else 404), (role, key, saved)
        assert project.milestones.exists() == (own and role in CAN_CHANGE)
    opened_here = SupervisionItem.objects.filter(level=SupervisionLevel.CITY, opened_by=users[role]).count()
    assert opened_here == (len(VISIBLE[role]) if role in CAN_OPEN_ITEMS else 0)
