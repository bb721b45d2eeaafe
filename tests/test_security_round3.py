"""Issue 22, the holes an attack battery found: the browsable API listing every project, a province
administrator taking over a superuser, parameters answering 500, and API docs that load fonts from
outside and lack the token scheme."""

import base64
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from projects.domain.choices import Role
from projects.models import ApiToken, MonthlyReport, User

from .conftest import make_user
from .test_access import client_for
from .test_api import API, issue_token

pytestmark = pytest.mark.django_db


def browsable(user, path):
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client.get(API + path, {"format": "api"}).content.decode()


# --- 1. Nothing offered outside the caller's region; another region's id answers as a missing one --------


@pytest.mark.parametrize("path", ["plans/", "reports/", "problems/"])
def test_the_browsable_api_offers_no_other_regions_project(path, users, projects):
    page = browsable(users["county_editor"], path)
    for other in ("nangong", "qiaoxi"):
        assert projects[other].name not in page, (path, other)
        assert not re.search(rf'<option value="{projects[other].pk}"', page), (path, other)


def test_the_report_forms_offer_only_the_callers_own_projects(users, projects):
    page = browsable(users["county_editor"], "reports/")
    assert projects["zhengding"].name in page  # the POST form's project choice: their own
    assert projects["nangong"].name not in page
    report = MonthlyReport.objects.get(project=projects["zhengding"])
    detail = browsable(users["county_editor"], f"reports/{report.pk}/")
    assert projects["nangong"].name not in detail and projects["qiaoxi"].name not in detail


@pytest.mark.parametrize("path", ["plans/", "reports/", "problems/", "supervision-items/"])
def test_another_regions_project_id_answers_as_a_missing_one(path, users, projects):
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['county_editor'])}")
    other = client.get(API + path, {"project": projects["nangong"].pk})
    missing = client.get(API + path, {"project": 987654321})
    assert (other.status_code, other.json()["results"]) == (missing.status_code, missing.json()["results"]) == (200, [])
    bad = client.get(API + path, {"project": "abc"})
    assert bad.status_code == 400 and "project" in bad.json()


# --- 2. Only a superuser acts on a superuser ----------------------------------------------------------------


def test_a_province_administrator_cannot_take_over_a_superuser(users):
    root = User.objects.create_superuser("root", "root@example.org", "root-password-123456")
    province = client_for(users["province_admin"])
    answer = province.post(f"/admin/projects/user/{root.pk}/password/",
                           {"password1": "taken-over-123456", "password2": "taken-over-123456"})
    assert answer.status_code in (302, 404)
    root.refresh_from_db()
    assert root.check_password("root-password-123456")
    assert province.get(f"/admin/projects/user/{root.pk}/change/").status_code in (302, 404)
    changelist = province.get("/admin/projects/user/").content.decode()
    assert "root@example.org" not in changelist
    # No token to act as the superuser.
    issued = province.post("/admin/projects/apitoken/add/", {"user": root.pk, "name": "x", "valid_days": 30})
    assert issued.status_code == 200 and not ApiToken.objects.filter(user=root).exists()
    # Bulk actions cannot reach them either.
    province.post("/admin/projects/user/", {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"})
    assert User.objects.filter(pk=root.pk, is_active=True).exists()
    # A superuser still can.
    superuser = Client()
    superuser.force_login(root)
    assert superuser.get(f"/admin/projects/user/{root.pk}/change/").status_code == 200
    other_root = User.objects.create_superuser("root2", "root2@example.org", "root-password-123456")
    superuser.post("/admin/projects/apitoken/add/", {"user": other_root.pk, "name": "ops", "valid_days": 30})
    assert ApiToken.objects.filter(user=other_root).exists()
    # And a province administrator still manages ordinary accounts.
    editor = make_user("somebody", Role.COUNTY_EDITOR, "130123")
    assert province.get(f"/admin/projects/user/{editor.pk}/change/").status_code == 200


# --- 3. Every parameter a user can type: 400 naming it, never 500 ------------------------------------------


def cursor(**parts):
    return base64.b64encode(urlencode(parts).encode()).decode()


@pytest.mark.parametrize("position", ["abc", "1e9", "-5", "99999999999999999999999"])
def test_a_tampered_cursor_answers_400_naming_it(position, users, projects):
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['province_admin'])}")
    for path in ("projects/", "reports/", "plans/"):
        answer = client.get(API + path, {"cursor": cursor(o=0, r=0, p=position)})
        assert answer.status_code in (400, 404), (path, position, answer.status_code)
        if answer.status_code == 400:
            assert "cursor" in answer.json()


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "not-a-date"])
def test_a_digest_preview_for_any_date_answers_400_naming_it(value, users):
    from projects.models import DigestSubscription

    subscription = DigestSubscription.objects.create(user=users["county_editor"], frequency="weekly")
    province = client_for(users["province_admin"])
    answer = province.get(reverse("admin:projects_digestsubscription_preview", args=[subscription.pk]), {"date": value})
    assert answer.status_code == 400 and "date" in answer.content.decode()


def test_a_year_beyond_the_column_answers_400(users, projects):
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(users['province_admin'])}")
    answer = client.get(API + "plans/", {"year": 99999999})
    assert answer.status_code == 400 and "year" in answer.json()


# --- 4. API docs offline, with the token scheme ---------------------------------------------------------------


def test_the_api_docs_load_nothing_from_outside_and_the_schema_has_the_token(users):
    client = client_for(users["county_editor"])
    for path in ("/api/redoc/", "/api/docs/"):
        page = client.get(path).content.decode()
        assert not re.search(r'(src|href)="https?://', page), path
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["info"]["version"] == "v1"
    assert "apiToken" in schema["components"]["securitySchemes"]
    assert {"apiToken": []} in schema["paths"]["/api/v1/projects/"]["get"]["security"]
