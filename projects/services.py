"""What changes the data: reference data, roles, and writes that carry the project's version."""

import csv
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear
from django.utils.translation import gettext as _

from actions.models import Action, ActionPlan, Measure, Target

from projects import rules, selectors
from projects.access import ROLE_GROUP_NAMES, ROLE_PERMISSIONS
from projects.choices import MailKind, RegionLevel, Role
from projects.models import AnnualPlan, Batch, Cluster, Industry, MilestoneKind, MonthlyReport, Programme, Project, Region
from projects.names import english_name

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"


class StaleVersionError(Exception):
    """The project was saved by someone else since this user loaded it."""

    message = _("该项目已被他人修改，您的修改未保存。请刷新页面，在最新内容上重新修改。")


@transaction.atomic
def reference_data_load(*, fixtures_dir=FIXTURES_DIR):
    """Load regions, reporting units, catalogues, action plans and role groups; safe to run again.

    Returns {model verbose name: rows now present} for the command to print.
    """
    from django_celery_beat.models import PeriodicTask

    reference = json.loads((fixtures_dir / "reference.json").read_text(encoding="utf-8"))
    _load_regions(fixtures_dir / "hebei_divisions.csv", reference)
    for order, row in enumerate(reference["programmes"]):
        Programme.objects.update_or_create(code=row["code"], defaults={**row, "order": order})
    for order, row in enumerate(reference["batches"]):
        Batch.objects.update_or_create(code=row["code"], defaults={**row, "order": order})
    _load_industries(reference["industries"])
    _load_clusters(reference["clusters"])
    _load_action_plans(reference["action_plans"])
    if not MilestoneKind.objects.exists():  # the standard nodes, once: afterwards the province's to change
        MilestoneKind.objects.bulk_create(
            [MilestoneKind(order=order, **row) for order, row in enumerate(reference["milestone_kinds"], start=1)])
    roles_sync()
    beat_schedules_ensure()
    return {
        model._meta.verbose_name: model.objects.count()
        for model in (Region, Programme, Batch, Industry, Cluster, ActionPlan, Action, Measure, Target, MilestoneKind, Group,
                      PeriodicTask)
    }


def _load_regions(csv_path, reference):
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_code = {}
    for row in rows:  # the file lists parents before children
        region, _created = Region.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "level": row["level"],
                "parent": by_code.get(row["parent_code"]),
                "is_statistical": True,
            },
        )
        by_code[region.code] = region
    province = next(region for region in by_code.values() if region.level == RegionLevel.PROVINCE)

    reporting_city = {code: region.parent for code, region in by_code.items() if region.level == RegionLevel.COUNTY}
    for unit in reference["reporting_units"]:
        if unit["code"] in by_code:  # 定州市, 辛集市: a county that reports as a city
            region = by_code[unit["code"]]
            region.is_reporting_unit = True
            region.save(update_fields=["is_reporting_unit"])
        else:  # 雄安新区: not a statistical division, a reporting unit over three counties of 保定市
            region, _created = Region.objects.update_or_create(
                code=unit["code"],
                defaults={
                    "name": unit["name"],
                    "level": RegionLevel.CITY,
                    "parent": province,
                    "is_reporting_unit": True,
                    "is_statistical": False,
                },
            )
            by_code[region.code] = region
        for county_code in unit["counties"]:
            reporting_city[county_code] = region
    for code, city in reporting_city.items():
        Region.objects.filter(code=code).update(reporting_city=city)
    for code, layout in reference["layout"].items():
        Region.objects.filter(code=code).update(layout=layout)
    _name_regions_in_english()


def _name_regions_in_english():
    """English names from the Chinese ones (pinyin and the kind of division), for English mode."""
    regions = list(Region.objects.select_related("parent"))
    for region in regions:
        city = region.parent.name if region.parent_id and region.parent.level == RegionLevel.CITY else ""
        region.name_en = english_name(region.name, city)
    Region.objects.bulk_update(regions, ["name_en"])


def _load_industries(groups):
    order = 0
    for group in groups:
        parent, _created = Industry.objects.update_or_create(
            name=group["name"],
            defaults={"name_en": group["name_en"], "category": group["category"], "parent": None, "order": order},
        )
        for child in group["children"]:
            order += 1
            Industry.objects.update_or_create(
                name=child["name"],
                defaults={"name_en": child["name_en"], "category": group["category"], "parent": parent, "order": order},
            )
        order += 1


def _load_clusters(clusters):
    for row in clusters:
        Cluster.objects.update_or_create(
            name=row["name"],
            defaults={
                "county": Region.objects.get(code=row["county"]),
                "industry": Industry.objects.get(name=row["industry"]) if row["industry"] else None,
                "description": row["description"],
            },
        )


def _load_action_plans(plans):
    for plan_row in plans:
        plan, _created = ActionPlan.objects.update_or_create(
            code=plan_row["code"],
            defaults={key: plan_row[key] for key in ("name", "name_en", "start_year", "end_year", "is_primary", "source")},
        )
        for action_row in plan_row["actions"]:
            action, _created = Action.objects.update_or_create(
                plan=plan,
                number=action_row["number"],
                defaults={"name": action_row["name"], "name_en": action_row["name_en"]},
            )
            for number, measure in enumerate(action_row.get("measures", []), start=1):
                Measure.objects.update_or_create(action=action, number=number, defaults=measure)
            for target in action_row.get("targets", []):
                Target.objects.update_or_create(
                    action=action,
                    indicator=target["indicator"],
                    year=target["year"],
                    defaults={"value": target["value"], "unit": target["unit"]},
                )


BEAT_SCHEDULES = {
    # name: (task, kwargs, crontab fields); times are Asia/Shanghai. The digests and reminders run every
    # day and send only on their days of China's working-day calendar, which a crontab cannot express.
    "重点项目周报（每周第一个工作日 08:30）": ("projects.tasks.dispatch_digests", {"frequency": "weekly"}, {"minute": "30", "hour": "8"}),
    "重点项目月报（月度调度截止后第一个工作日 08:30）": ("projects.tasks.dispatch_digests", {"frequency": "monthly"}, {"minute": "30", "hour": "8"}),
    "月度调度催报（截止前两个工作日、截止当日、截止次一工作日 09:00）": ("projects.tasks.send_report_reminders", {}, {"minute": "0", "hour": "9"}),
    "简报补发检查（每15分钟）": ("projects.tasks.catch_up_digests", {}, {"minute": "*/15"}),
    # Time progress moves at midnight; the lights are evaluated until this has judged them for the day.
    "红黄绿灯每日评定（00:10）": ("projects.tasks.refresh_lights", {}, {"minute": "10", "hour": "0"}),
    # After the lights: open, close and escalate supervision items (escalating only on working days).
    "督办每日处理（00:40）": ("projects.tasks.run_supervision", {}, {"minute": "40", "hour": "0"}),
    # The security audit trail keeps AUDIT_RETENTION_DAYS (issue 22): older events go each night.
    "安全审计日志清理（03:20）": ("projects.audit.tasks.prune_audit", {}, {"minute": "20", "hour": "3"}),
}
# Schedules replaced since: an installation that still has the old one gets the new one instead.
RENAMED_SCHEDULES = {
    "简报补发检查（每小时）": "简报补发检查（每15分钟）",
    "重点项目周报（每周一 08:30）": "重点项目周报（每周第一个工作日 08:30）",
    "重点项目月报（月度调度截止次日 08:30）": "重点项目月报（月度调度截止后第一个工作日 08:30）",
}


def beat_schedules_ensure():
    """Create the schedules for django-celery-beat; once created, edits made in the admin stay."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for old_name, name in RENAMED_SCHEDULES.items():
        if not PeriodicTask.objects.filter(name=name).exists():
            PeriodicTask.objects.filter(name=old_name).delete()
    for name, (task, kwargs, cron) in BEAT_SCHEDULES.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*", **cron}
        crontab, _created = CrontabSchedule.objects.get_or_create(timezone=settings.TIME_ZONE, **fields)
        PeriodicTask.objects.create(name=name, task=task, kwargs=json.dumps(kwargs), crontab=crontab)


def roles_sync():
    """Create one group per role holding exactly the role's permissions."""
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise RuntimeError(f"Permissions missing (run migrate first): {', '.join(missing)}")
    for role in Role:
        group, _created = Group.objects.get_or_create(name=ROLE_GROUP_NAMES[role])
        group.permissions.set([by_name[perm] for perm in ROLE_PERMISSIONS[role]])


def user_set_role(*, user, role):
    """Put the user in exactly one role group."""
    role_groups = Group.objects.filter(name__in=ROLE_GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    if role:
        user.groups.add(Group.objects.get(name=ROLE_GROUP_NAMES[Role(role)]))
    user.__dict__.pop("_role", None)  # access.user_role reads the groups again


def accounts_opened(users, *, enqueue):
    """Tell each new user (with an email address) their account is open, with a link to set their
    password: recorded once per user, sent by the worker like every mail (delivery.py)."""
    from projects import delivery

    today = rules.today()
    rows = [
        {"user": user, "kind": MailKind.ACCOUNT_OPENED, "period_start": today, "period_end": today, "key": "account"}
        for user in users if user.email and not user.has_usable_password()
    ]
    return delivery.deliveries_record(rows, enqueue=enqueue)


def account_opened_render(record):
    """(subject, text, html) of the account mail, with a set-password link made when it is sent (Django's
    password-reset token: valid for PASSWORD_RESET_TIMEOUT, void once a password is set)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = record.user
    if user.has_usable_password() or not user.is_active:
        return None  # a password was set meanwhile, or the account closed: nothing to say
    link = settings.SITE_URL + reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
    })
    context = {"user": user, "link": link, "site_url": settings.SITE_URL,
               "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)}
    with translation.override(settings.LANGUAGE_CODE):
        return (
            "【河北省重点项目调度平台】您的账号已开通，请设置密码",
            render_to_string("projects/mail/account_opened.txt", context),
            render_to_string("projects/mail/account_opened.html", context),
        )


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
    approved, not returned).
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
    scoped(AnnualPlan.objects.all(), "project").update(
        completed_investment=Coalesce(Subquery(year_total), Value(0), output_field=AnnualPlan._meta.get_field("completed_investment"))
    )
    last_month = MonthlyReport.objects.counted().filter(project=OuterRef("pk")).order_by().values("project").annotate(last=Max("month")).values("last")
    scoped(Project.objects.all(), "pk").update(last_report_month=Subquery(last_month))
    rules.lights_refresh(projects=projects)  # reports move lights
    selectors.data_changed()  # the updates above bypass the save signals


def milestones_changes(project, dates):
    """The node rows `dates` ({kind: (planned_on, actual_on)}) change, set but unsaved, and what is wrong
    with them (Milestone.clean, each message naming its node)."""
    from django.core.exceptions import ValidationError

    from projects.models import Milestone

    current = {milestone.kind_id: milestone for milestone in Milestone.objects.filter(project=project)}
    changed, errors = [], []
    for kind, (planned_on, actual_on) in dates.items():
        milestone = current.get(kind.pk)
        if milestone is None and planned_on is None and actual_on is None:
            continue
        if milestone is not None and (milestone.planned_on, milestone.actual_on) == (planned_on, actual_on):
            continue
        milestone = milestone or Milestone(project=project, kind=kind)
        milestone.planned_on, milestone.actual_on = planned_on, actual_on
        try:
            milestone.clean()
        except ValidationError as error:
            errors.extend(f"{kind}{_('：')}{message}" for message in error.messages)
        changed.append(milestone)
    return changed, errors


def milestones_save(*, user, project, dates):
    """Set a project's node dates as `user`: only the nodes whose dates changed are written (with a
    history row); a node with neither date is not kept. Any wrong node raises ValidationError naming it,
    and nothing is written."""
    from django.core.exceptions import ValidationError

    if not Project.objects.editable_by(user).filter(pk=project.pk).exists():
        raise PermissionDenied
    changed, errors = milestones_changes(project, dates)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for milestone in changed:
            milestone._history_user = user
            if milestone.planned_on is None and milestone.actual_on is None:
                milestone.delete()
            else:
                milestone.save()
    return len(changed)
