"""Writes on a project that several capabilities share: claiming its version (a stale form is refused, not
lost) and refreshing the stored completion figures after its reports or plans changed."""

from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear
from django.utils.translation import gettext as _

from projects.models import AnnualPlan, MonthlyReport, Project
from projects.shared import lights, versions


class StaleVersionError(Exception):
    """The project was saved by someone else since this user loaded it."""

    message = _("该项目已被他人修改，您的修改未保存。请刷新页面，在最新内容上重新修改。")


def project_claim_version(*, project, expected_version):
    """Move the stored project from `expected_version` to the next, or raise StaleVersionError.

    The compare-and-increment runs as one UPDATE, so two concurrent saves cannot both pass it; the
    caller's transaction then writes the rest. Returns the new version.
    """
    updated = Project.objects.filter(pk=project.pk, version=expected_version).update(version=F("version") + 1)
    if not updated:
        raise StaleVersionError(StaleVersionError.message)
    project.version = expected_version + 1
    return project.version


@transaction.atomic
def progress_refresh(*, projects=None):
    """Recompute what the monthly reports add up to: each year's completed investment (on the year's
    plan row, created with a zero plan when a year has reports but no plan) and each project's last
    reported month. `projects` is a queryset or list of projects or ids; None means all.

    Every writer of monthly reports calls this after writing; it is the one definition of
    "completed this year" (年度完成投资 = the sum of that year's monthly reports that count: submitted or
    approved, not returned), and of the funds in place this year (本年实际到位资金) likewise.
    """
    def scoped(queryset, field):
        return queryset if projects is None else queryset.filter(**{f"{field}__in": projects})

    reports = scoped(MonthlyReport.objects.all(), "project")
    years_without_plan = (
        reports.annotate(year=ExtractYear("month"))
        .exclude(project__plans__year=F("year"))
        .values_list("project_id", "year")
        .distinct()
        .order_by()
    )
    AnnualPlan.objects.bulk_create(
        [AnnualPlan(project_id=project_id, year=year, planned_investment=0) for project_id, year in years_without_plan],
        ignore_conflicts=True,
    )
    # A returned report counts as not reported: its figure is not in the totals, its month not reported.
    year_total = (
        MonthlyReport.objects.counted().filter(project=OuterRef("project"), month__year=OuterRef("year"))
        .order_by()
        .values("project")
        .annotate(total=Sum("completed_investment"))
        .values("total")
    )
    # Funds in place (实际到位资金, issue 25) add up the same way, from the same counted reports.
    year_funds = (
        MonthlyReport.objects.counted().filter(project=OuterRef("project"), month__year=OuterRef("year"))
        .order_by()
        .values("project")
        .annotate(total=Sum("funds_in_place"))
        .values("total")
    )
    money = AnnualPlan._meta.get_field("completed_investment")
    scoped(AnnualPlan.objects.all(), "project").update(
        completed_investment=Coalesce(Subquery(year_total), Value(0), output_field=money),
        funds_in_place=Coalesce(Subquery(year_funds), Value(0), output_field=money),
    )
    last_month = MonthlyReport.objects.counted().filter(project=OuterRef("pk")).order_by().values("project").annotate(last=Max("month")).values("last")
    scoped(Project.objects.all(), "pk").update(last_report_month=Subquery(last_month))
    lights.lights_refresh(projects=projects)  # reports move lights
    versions.projects_changed(projects, places_moved=False)  # the updates above bypass the save signals
