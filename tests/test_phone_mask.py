"""Contact phone numbers of project staff (issue 22): shown in full only to people who may edit the project
(Project.objects.editable_by), masked (138****5678) for everyone else who sees the project — on the project
page and its change history, in the API's project detail, in the list's export and in the admin's form and
history. An editor's export imports back unchanged."""

import csv
import io

import pytest
from django.urls import reverse

from projects.domain.access import phone_masked
from projects.models import Project

from .test_access import client_for

PHONE = "13812345678"
MASKED = "138****5678"
OLD_PHONE = "13987654321"

# Who may edit 正定's project: its county editor and the city coordinator of 石家庄 (a city-level unit edits
# its counties' projects, access.py); the leader sees every project and edits none.
EDITORS = ["county_editor", "city_coordinator", "province_admin"]
READERS = ["leader"]


@pytest.fixture
def project(projects, users):
    project = projects["zhengding"]
    project.phone = OLD_PHONE
    project.save()
    project.phone = PHONE
    project.contact = "张工"
    project.save()  # a change in the history: old → new number
    return project


def test_the_mask_keeps_the_first_three_and_last_four_digits():
    assert phone_masked(PHONE) == MASKED
    assert phone_masked("0311-87654321") == "031****4321"
    assert PHONE not in phone_masked(PHONE) and phone_masked("") == ""
    assert "1234" not in phone_masked("1234567")  # a short number is hidden whole


def test_who_may_edit_the_project(users, project):
    for role in EDITORS:
        assert Project.objects.editable_by(users[role]).filter(pk=project.pk).exists(), role
    for role in READERS:
        assert Project.objects.visible_to(users[role]).filter(pk=project.pk).exists()
        assert not Project.objects.editable_by(users[role]).filter(pk=project.pk).exists()


def shows(text, role):
    if role in EDITORS:
        return PHONE in text and MASKED not in text
    return MASKED in text and PHONE not in text and OLD_PHONE not in text


@pytest.mark.parametrize("role", EDITORS + READERS)
def test_the_project_page_and_its_history(users, project, role):
    page = client_for(users[role]).get(reverse("project_detail", args=[project.pk])).content.decode()
    assert shows(page, role)
    assert (OLD_PHONE in page) is (role in EDITORS)  # the history's old number too


@pytest.mark.parametrize("role", EDITORS + READERS)
def test_the_api_project_detail(users, project, role):
    data = client_for(users[role]).get(f"/api/v1/projects/{project.pk}/").json()
    assert data["phone"] == (PHONE if role in EDITORS else MASKED)


@pytest.mark.parametrize("role", EDITORS + READERS)
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_the_list_export(users, project, role, fmt):
    response = client_for(users[role]).get(reverse("project_export"), {"format": fmt, "county": project.county_id})
    content = b"".join(response.streaming_content)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content)).active
        text = "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    else:
        text = content.decode("utf-8-sig")
    assert shows(text, role)


def test_an_editors_export_imports_back_unchanged(users, project):
    from projects.importing import import_projects

    response = client_for(users["county_editor"]).get(reverse("project_export"), {"format": "csv"})
    content = b"".join(response.streaming_content)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    phone_column = rows[0].index("联系电话")
    assert [row[phone_column] for row in rows[1:]] == [PHONE]
    result = import_projects(content, "projects.csv", user=users["county_editor"])
    assert not result.errors and result.count("updated") == 0 and result.count("created") == 0
    project.refresh_from_db()
    assert project.phone == PHONE


@pytest.mark.parametrize("role", EDITORS + READERS)
def test_the_admin_form_and_history(users, project, role):
    client = client_for(users[role])
    form = client.get(reverse("admin:projects_project_change", args=[project.pk]))
    assert form.status_code == 200
    assert shows(form.content.decode(), role)
    history = client.get(reverse("admin:projects_project_history", args=[project.pk]))
    assert history.status_code == 200
    text = history.content.decode()
    if role in READERS:
        assert PHONE not in text and OLD_PHONE not in text
    record = project.history.filter(phone=OLD_PHONE).get()
    old = client.get(reverse("admin:projects_project_simple_history", args=[project.pk, record.history_id]))
    if old.status_code == 200:
        assert (OLD_PHONE in old.content.decode()) is (role in EDITORS)


def test_a_masked_number_in_an_imported_list_keeps_the_stored_one(db):
    from decimal import Decimal

    from projects.importing import import_projects
    from projects.models import Project

    from .conftest import make_project
    from .test_trusted_figures import list_file

    project = make_project("正定县号码项目", "130123", total_investment=Decimal("100"), phone="13812345678")
    data = list_file([["正定县号码项目", "省重点", "续建", "石家庄市", "正定县", "100", "10"]])
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    sheet.cell(row=1, column=8, value="联系电话")
    sheet.cell(row=2, column=8, value="138****5678")
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_projects(buffer.getvalue(), "list.xlsx", user=None)
    assert not result.errors
    assert Project.objects.get(pk=project.pk).phone == "13812345678"
