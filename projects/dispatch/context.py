"""What a report row and a review row show beside the figure (issue 26): the year's plan, completed this year and
in total, last month's figure and 形象进度, completion against time progress and the light with its reason,
and (for the reviewer) the problems raised with the report.

Read for a whole page at once, in a fixed number of queries however many rows (one for the projects with
their progress, one for last month's reports, one for the problems), through the reads every other page
uses: lights.annotate_progress for the plan, the completed figures, the rate and the light, so a row says
what the list, the project page and the dashboard say."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from projects.domain import rules
from projects.models import MonthlyReport, Problem, Project
from projects.shared import lights


@dataclass
class RowContext:
    """One project's figures for the month's row."""

    plan: Decimal | None
    completed_year: Decimal
    completed_before_year: Decimal | None
    completion_rate: Decimal | None
    time_progress: Decimal
    light: str
    light_text: str
    last_month: datetime.date
    last_report: MonthlyReport | None = None
    problems: list = field(default_factory=list)

    @property
    def cumulative(self):
        """截至上年底 + this year (what the list template's columns add up to)."""
        return (self.completed_before_year or Decimal(0)) + self.completed_year

    @property
    def lag(self):
        """Points behind time progress (negative: ahead); None without a plan."""
        return None if self.completion_rate is None else self.time_progress - self.completion_rate


def rows_context(project_ids, *, month, on=None, problems=False):
    """{project id: RowContext} for the projects of a page and the reported `month`, judged on `on` (today).
    With problems=True, each also carries the problems raised since the month began (the ones an editor
    raises with a report are raised on the day it is submitted): the reviewer's view."""
    on = on or rules.today()
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    year = month.year
    progress = rules.time_progress(year=year, on=on)
    previous = rules.add_months(month, -1)
    last_reports = {report.project_id: report for report in MonthlyReport.objects.filter(project_id__in=ids, month=previous)}
    raised = {}
    if problems:
        for problem in Problem.objects.filter(project_id__in=ids, raised_on__gte=month).order_by("raised_on", "pk"):
            raised.setdefault(problem.project_id, []).append(problem)
    found = {}
    for project in lights.annotate_progress(Project.objects.filter(pk__in=ids), year=year, on=on).order_by():
        found[project.pk] = RowContext(
            plan=project.plan_investment,
            completed_year=project.completed_year,
            completed_before_year=project.completed_before_year,
            completion_rate=None if project.completion_rate is None else Decimal(project.completion_rate),
            time_progress=progress,
            light=rules.light_of(project.light_reason),
            light_text=rules.describe_light(reason=project.light_reason, project=project, year=year, on=on),
            last_month=previous,
            last_report=last_reports.get(project.pk),
            problems=raised.get(project.pk, []),
        )
    return found


def raised_with(report, context):
    """The problems of `context` raised with `report`: from its month's start to the day it was submitted."""
    if context is None:
        return []
    until = timezone.localtime(report.reported_at).date() if report.reported_at else None
    return [problem for problem in context.problems if until is None or problem.raised_on <= until]
