"""The row locks every writer takes, in one order (as Saleor's lock_objects): projects by id first, then
their reports by id. The admin (its project save locks the project row), the report page, the review,
the API and the imports all go through here, so two writers never wait on each other crosswise and
deadlock. On SQLite, whose writers take the whole database, these are no-ops."""

from projects.models import MonthlyReport, Project


def projects_lock(project_ids):
    """Lock the projects' rows, by id; returns their ids."""
    ids = sorted(set(project_ids))
    if not ids:
        return []
    return list(Project.objects.filter(pk__in=ids).order_by("pk").select_for_update(of=("self",)).values_list("pk", flat=True))


def reports_lock(reports):
    """The reports of a queryset, locked by id (after their projects: call projects_lock first)."""
    return reports.order_by("pk").select_for_update(of=("self",))


def reports_with_projects_lock(report_ids):
    """Lock the given reports' projects, then the reports; returns {report id: project id}."""
    owners = dict(MonthlyReport.objects.filter(pk__in=report_ids).values_list("pk", "project_id"))
    projects_lock(owners.values())
    return owners
