"""Numbers people can trust (issue 20): every export the app writes imports back unchanged — dates keep
their day, amounts and thresholds are never written back rounded — and history shows no literal “None”."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from projects.importing import import_progress
from projects.importing.formats import FORMATS
from projects.importing.progress import progress_template_workbook
from projects.importing.widgets import MonthWidget
from projects.models import AnnualPlan, Cluster, MonthlyReport, Project, Region

from .conftest import NANGONG, QIAOXI_SJZ, ZHENGDING, make_project
from .test_access import client_for
from .test_table_transfer import import_file

EXACT_START, EXACT_END = datetime.date(2027, 9, 16), datetime.date(2029, 12, 31)
FIRST_START, FIRST_END = datetime.date(2027, 9, 1), datetime.date(2028, 6, 1)


@pytest.fixture
def dated_projects(db):
    """Planned dates on exact days and on the 1st, and amounts with cents."""
    year = timezone.localdate().year
    made = [
        make_project("正定县精密轴承项目", ZHENGDING, code="2023-130123-26-03-00002B", planned_start=EXACT_START,
                     planned_end=EXACT_END, total_investment=Decimal("12345.67"), start_year=2027, end_year=2029),
        make_project("桥西区智慧物流园项目", QIAOXI_SJZ, planned_start=FIRST_START, planned_end=FIRST_END,
                     total_investment=Decimal("0.01"), start_year=2027, end_year=2028),
        make_project("南宫市羊绒纺纱项目", NANGONG, planned_start=datetime.date(2026, 2, 28), planned_end=None,
                     total_investment=Decimal("4987654.99")),
    ]
    AnnualPlan.objects.create(project=made[0], year=year, planned_investment=Decimal("1234.56"),
                              completed_before_year=Decimal("3210.05"))
    AnnualPlan.objects.create(project=made[1], year=year, planned_investment=Decimal("0.10"))
    return made


def stored():
    return (
        sorted(Project.objects.values_list("pk", "planned_start", "planned_end", "total_investment", "version")),
        sorted(AnnualPlan.objects.values_list("project_id", "year", "planned_investment", "completed_before_year")),
        Project.history.count(),
    )


def import_lines(path, *args):
    out = io.StringIO()
    try:
        call_command("import_projects", str(path), *args, stdout=out, stderr=io.StringIO())
    except SystemExit:
        pass  # the lines say what was wrong
    return out.getvalue().splitlines()


@pytest.mark.parametrize("day", [EXACT_START, EXACT_END, FIRST_START, datetime.date(2028, 2, 29), None])
def test_a_planned_date_reads_back_as_the_day_it_was_written(day):
    widget = MonthWidget()
    assert widget.clean(widget.render(day)) == day


@pytest.mark.parametrize("text, day", [
    ("2023-03", datetime.date(2023, 3, 1)), ("2023.03", datetime.date(2023, 3, 1)), ("2023年3月", datetime.date(2023, 3, 1)),
    ("2023/3/15", datetime.date(2023, 3, 15)), ("2023-03-15", datetime.date(2023, 3, 15)),
    (datetime.datetime(2023, 3, 15), datetime.date(2023, 3, 15)),
])
def test_every_date_form_lists_use_is_still_read(text, day):
    assert MonthWidget().clean(text) == day


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("way", ["page", "command"])
def test_the_provincial_list_export_imports_back_unchanged(users, dated_projects, tmp_path, fmt, way):
    path = tmp_path / f"export.{fmt}"
    if way == "page":
        response = client_for(users["province_admin"]).get(reverse("project_export"), {"format": fmt})
        assert response.status_code == 200
        path.write_bytes(b"".join(response.streaming_content))
    else:
        call_command("export_projects", "--format", fmt, "--output", str(path), stdout=io.StringIO())
    before = stored()
    assert import_lines(path, "--dry-run") == ["created 0, updated 0, unchanged 3, skipped 0, errors 0"]
    assert import_lines(path) == ["created 0, updated 0, unchanged 3, skipped 0, errors 0"]
    assert stored() == before
    exact = Project.objects.get(pk=dated_projects[0].pk)
    assert (exact.planned_start, exact.planned_end) == (EXACT_START, EXACT_END)


def test_the_export_writes_a_day_in_full_and_a_first_of_the_month_as_it_reads_back(users, dated_projects, tmp_path):
    path = tmp_path / "export.csv"
    call_command("export_projects", "--format", "csv", "--output", str(path), stdout=io.StringIO())
    text = path.read_bytes().decode("utf-8-sig")
    assert "2027-09-16" in text and "2029-12-31" in text and "2026-02-28" in text
    assert ",2027-09,2028-06," in text  # a 1st may keep the month's shape: it reads back as the 1st
    assert "12345.67" in text and "4987654.99" in text and "1234.56" in text and "3210.05" in text


def test_the_progress_template_imports_back_as_nothing_reported(users, projects):
    month = datetime.date(timezone.localdate().year, 1, 1)
    user = users["city_coordinator"]
    data = progress_template_workbook(user=user, month=month)
    reports = sorted(MonthlyReport.objects.values_list("pk", "completed_investment", "version"))
    result = import_progress(data, "template.xlsx", user=user, month=month, dry_run=True)
    assert (result.count("created"), result.count("updated"), result.errors) == (0, 0, [])
    result = import_progress(data, "template.xlsx", user=user, month=month)
    assert (result.count("created"), result.count("updated"), result.errors) == (0, 0, [])
    assert sorted(MonthlyReport.objects.values_list("pk", "completed_investment", "version")) == reports


@pytest.mark.parametrize("extension", ["xlsx", "csv"])
def test_the_admin_monthly_report_export_imports_back_as_the_progress_workbook_unchanged(users, projects, extension):
    month = datetime.date(timezone.localdate().year, 1, 1)
    MonthlyReport.objects.filter(project=projects["zhengding"]).update(completed_investment=Decimal("1234567.89"))
    MonthlyReport.objects.filter(project=projects["qiaoxi"]).update(completed_investment=Decimal("0.05"))
    fields = ("project_code", "project_name", "county", "month", "completed_investment", "image_progress", "note",
              "review_status", "reported_at")
    exported = client_for(users["province_admin"]).post(reverse("admin:projects_monthlyreport_export"), {
        "format": export_index(extension), "resource": "0", **{f"monthlyreportresource_{field}": "on" for field in fields}})
    assert exported.status_code == 200
    reports = sorted(MonthlyReport.objects.values_list("pk", "completed_investment", "version"))
    for dry_run in (True, False):
        result = import_progress(exported.content, f"reports.{extension}", user=users["province_admin"], month=month,
                                 dry_run=dry_run)
        assert (result.summary, result.errors) == ("created 0, updated 0, unchanged 3, skipped 0, errors 0", [])
    assert sorted(MonthlyReport.objects.values_list("pk", "completed_investment", "version")) == reports


def export_index(extension):
    """The export form lists only the formats the app writes (not xls)."""
    return str([fmt().get_extension() for fmt in FORMATS if fmt().can_export()].index(extension))


def admin_round_trip(client, app, model, resource, fields, extension):
    """Export the admin table with `fields` and upload the file again: every row is unchanged (skipped)."""
    exported = client.post(reverse(f"admin:{app}_{model}_export"), {
        "format": export_index(extension), "resource": "0", **{f"{resource}_{field}": "on" for field in fields}})
    assert exported.status_code == 200, exported.content[:500]
    preview, result = import_file(client, model, exported.content, f"table.{extension}", extension, model_app=app)
    outcome = preview.context.get("result")
    assert result is not None, (model, outcome and [(number, [str(e.error) for e in errors]) for number, errors in outcome.row_errors()],
                                outcome and [(row.number, row.error_dict) for row in outcome.invalid_rows],
                                preview.context.get("form") and preview.context["form"].errors)
    rows = preview.context["result"].rows
    assert rows and {row.import_type for row in rows} == {"skip"}, [
        (row.import_type, row.diff) for row in rows if row.import_type != "skip"]
    return exported


@pytest.mark.parametrize("extension", ["xlsx", "csv"])
def test_the_admin_tables_export_imports_back_unchanged(users, extension):
    from actions.models import Action, ActionPlan, Target

    client = client_for(users["province_admin"])
    Region.objects.filter(code="130100").update(yellow_lag=Decimal("2.55"), red_lag=Decimal("12.25"))
    Region.objects.filter(code="130500").update(yellow_lag=Decimal("0.05"), red_lag=Decimal("100.00"))
    action = Action.objects.filter(plan__is_primary=True).order_by("number").first()
    Target.objects.create(action=action, indicator="投资增速", value=Decimal("1234567.89"), unit="%", year=2027)
    Target.objects.create(action=action, indicator="技改占比", value=Decimal("6.05"), unit="%", year=2027)
    Cluster.objects.create(name="正定测试集群", county=Region.objects.get(code=ZHENGDING))
    regions = sorted(Region.objects.values_list("code", "yellow_lag", "red_lag"))
    targets = sorted(Target.objects.values_list("pk", "indicator", "value", "year"))
    admin_round_trip(client, "projects", "region", "regionresource",
                     ("code", "name", "level", "yellow_lag", "red_lag"), extension)
    admin_round_trip(client, "actions", "target", "targetresource",
                     ("plan", "action", "indicator", "value", "unit", "year"), extension)
    admin_round_trip(client, "actions", "actionplan", "actionplanresource",
                     ("code", "name", "name_en", "start_year", "end_year", "is_primary", "source"), extension)
    admin_round_trip(client, "actions", "action", "actionresource", ("plan", "number", "name", "name_en", "summary"), extension)
    admin_round_trip(client, "projects", "user", "userresource", ("username", "name", "email", "phone", "region", "role"), extension)
    admin_round_trip(client, "projects", "programme", "programmeresource", ("code", "name", "name_en", "order"), extension)
    admin_round_trip(client, "projects", "industry", "industryresource", ("name", "name_en", "parent", "category", "order"), extension)
    admin_round_trip(client, "projects", "batch", "batchresource", ("code", "name", "name_en", "order"), extension)
    admin_round_trip(client, "projects", "cluster", "clusterresource", ("name", "county", "industry", "description"), extension)
    admin_round_trip(client, "actions", "measure", "measureresource",
                     ("plan", "action", "number", "title", "title_en", "text"), extension)
    assert sorted(Region.objects.values_list("code", "yellow_lag", "red_lag")) == regions
    assert sorted(Target.objects.values_list("pk", "indicator", "value", "year")) == targets
    assert ActionPlan.objects.exists()


def test_the_admin_history_shows_no_literal_none_for_an_absent_change_reason(users, projects):
    project = projects["zhengding"]
    project.remarks = "调整后的备注"
    project.save()  # no change reason given
    assert project.history.filter(history_change_reason__isnull=True).exists()
    page = client_for(users["province_admin"]).get(reverse("admin:projects_project_history", args=[project.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('id="change-history"'):html.index("</table>", html.index('id="change-history"'))]
    cells = [row.split("<td>") for row in table.split("<tr>")[2:]]
    reasons = [row[-2].split("</td>")[0].strip() for row in cells]
    assert reasons and "None" not in reasons, reasons
    assert "None" not in table
