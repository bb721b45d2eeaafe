"""Reminders (催报): which projects still owe a month's report, which reminders fall due on a day (on the
working-day calendar), and recording them once each for mail.delivery."""

import datetime

from django.db.models import Q

from projects.domain import rules, workdays
from projects.domain.choices import MailKind
from projects.mail import delivery
from projects.models import MonthlyReport, Project, User


def reporting_duty_q(region_id, prefix=""):
    """Projects a region's editors report: its county's, or its city-wide ones (no county)."""
    return Q(**{f"{prefix}county_id": region_id}) | Q(**{f"{prefix}county__isnull": True, f"{prefix}city_id": region_id})


def missing_reports(month, projects=None):
    """Projects that owe a report for `month` and have none that counts (none, or returned)."""
    projects = Project.objects.all() if projects is None else projects
    return projects.filter(rules.owes_report_q(month)).exclude(
        pk__in=MonthlyReport.objects.counted().filter(month=month).values("project_id")
    )


def reminders_due(on):
    """[(kind, month)] of the reminders due on day `on`: two working days before the deadline and on it,
    editors with missing reports; on the first working day after it, city coordinators."""
    month = rules.add_months(rules.month_start(on), -1)
    deadline = rules.report_deadline(month)
    due = []
    if on == workdays.workdays_before(deadline, 2):
        due.append((MailKind.REPORT_REMINDER, month))
    if on == deadline:
        due.append((MailKind.REPORT_DUE, month))
    if on == workdays.next_workday(deadline + datetime.timedelta(days=1)):
        due.append((MailKind.REPORT_MISSING, month))
    return due


def reminders_dispatch(*, on, enqueue, **fields):
    """Record and queue the reminders due on `on`, once each (the delivery records are unique per
    recipient, kind and month), due on that day. Returns {kind: queued}. `fields` go on the records
    (the catch-up records a missed reminder that is out of date as not sent)."""
    queued = {}
    for kind, month in reminders_due(on):
        missing = missing_reports(month)
        if kind == MailKind.REPORT_MISSING:
            regions = set(missing.values_list("city_id", flat=True).distinct())
            users = User.objects.filter(region__in=regions, groups__permissions__codename="review_monthlyreport")
        else:
            regions = set(missing.filter(county__isnull=False).values_list("county_id", flat=True).distinct())
            regions |= set(missing.filter(county__isnull=True).values_list("city_id", flat=True).distinct())
            users = User.objects.filter(region__in=regions, groups__permissions__codename="add_monthlyreport")
        users = users.filter(is_active=True).exclude(email="").distinct()
        deadline = rules.report_deadline(month)
        rows = [{"user": user, "kind": kind, "period_start": month, "period_end": deadline, "due_on": on, **fields}
                for user in users]
        queued[kind] = delivery.deliveries_record(rows, enqueue=enqueue)
    return queued
