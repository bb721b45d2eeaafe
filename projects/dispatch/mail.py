"""The dispatch cycle's mails: reminders before the deadline, the overdue list for a city, and the notice of
a returned report. Rendered when sent (mail.delivery), so a reminder whose reports came in meanwhile is
cancelled rather than sent."""

from django.conf import settings
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from projects.dispatch.reminders import missing_reports, reporting_duty_q
from projects.domain import rules
from projects.domain.choices import MailKind
from projects.mail import delivery
from projects.models import PROJECT_ORDER, Project, ReportTransition


def report_form_url(month, **params):
    return settings.SITE_URL + reverse("monthly_report") + "?" + urlencode({"month": month.strftime("%Y-%m"), **params})


def _mail(template, subject, context):
    with translation.override(settings.LANGUAGE_CODE):
        context = {**context, "site_url": settings.SITE_URL}
        return (
            delivery.one_line_subject(subject),
            render_to_string(f"projects/mail/{template}.txt", context),
            render_to_string(f"projects/mail/{template}.html", context),
        )


@delivery.renders_mail(MailKind.REPORT_REMINDER, MailKind.REPORT_DUE, MailKind.REPORT_MISSING, MailKind.REPORT_RETURNED)
def delivery_render(record):
    """(subject, text, html) of a reminder or a notice of a returned report, built when it is sent; None
    when there is nothing left to say (the reports came in meanwhile)."""
    user, month = record.user, record.period_start
    if record.kind == MailKind.REPORT_RETURNED:
        transition = ReportTransition.objects.select_related("report__project", "user").filter(
            pk=int(record.key.removeprefix("transition-"))).first()
        if transition is None:
            return None
        report = transition.report
        return _mail("report_returned", f"【月度调度退回】{report.project.name} {month:%Y年%-m月}", {
            "transition": transition, "report": report, "month": month,
            "form_url": report_form_url(month, q=report.project.code or report.project.name),
        })
    deadline = rules.report_deadline(month)
    if record.kind == MailKind.REPORT_MISSING:
        if user.region_id is None:
            return None
        missing = missing_reports(month, Project.objects.filter(city_id=user.region_id))
        counties = list(
            missing.order_by().values("county__code", "county__name").annotate(count=Count("pk")).order_by("county__code")
        )
        if not counties:
            return None
        return _mail("report_missing", f"【月度调度逾期】{user.region.name} {month:%Y年%-m月} 尚有 {sum(c['count'] for c in counties)} 个项目未报", {
            "user": user, "month": month, "deadline": deadline, "counties": counties,
            "review_url": settings.SITE_URL + reverse("report_review") + "?" + urlencode({"month": month.strftime("%Y-%m")}),
        })
    if user.region_id is None:
        return None
    projects = list(
        missing_reports(month, Project.objects.editable_by(user).filter(reporting_duty_q(user.region_id)))
        .select_related("city", "county").order_by(*PROJECT_ORDER)
    )
    if not projects:
        return None
    due_today = record.kind == MailKind.REPORT_DUE
    title = "今日截止" if due_today else f"{deadline:%-m月%-d日}截止"
    return _mail("report_reminder", f"【月度调度催报】{month:%Y年%-m月} {title}，您有 {len(projects)} 个项目未报", {
        "user": user, "month": month, "deadline": deadline, "due_today": due_today, "projects": projects,
        "form_url": report_form_url(month),
    })
