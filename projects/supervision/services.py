"""Supervision (督办): what changes supervision items. When a project falls behind the daily run opens an
item at the level that must act; an item not handled within its time limit (working days, China's
calendar) escalates one level — county → city → province → the project's 包联 leader — and the new level's
people get one mail; a project back on pace closes its automatic item with a note. Cities and the
province also open items by hand; the acting level answers (办理情况) and closes with a result.

A run reads in a fixed number of queries and updates with one statement per level or cause, however many
items; only its INSERTs of history rows and timeline steps come in batches (WRITE_BATCH rows each).

Runs at once (two beats, beat and an operator's `supervise`, today's run and a catch-up of yesterday's) do
what one run does: a run holds the supervision lock for its whole transaction (run_lock: a PostgreSQL
advisory lock; SQLite's writers are serialised by BEGIN IMMEDIATE), so the second reads what the first
committed and has nothing left to open, escalate or mail. The database holds the rest: an open automatic
item is unique per project and cause (per problem for an old problem), and the run inserts its items with
ON CONFLICT DO NOTHING, so no writer can ever leave two.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.constants import OnConflict
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from projects.domain import rules, workdays
from projects.domain.access import ROLE_GROUP_NAMES, is_province_wide, user_role
from projects.domain.choices import (
    Light,
    MailKind,
    ProblemStatus,
    RegionLevel,
    Role,
    SupervisionCause,
    SupervisionLevel,
    SupervisionStatus,
    SupervisionStepKind,
)
from projects.mail import delivery
from projects.models import Problem, Project, SupervisionItem, SupervisionStep, User
from projects.shared import lights, versions

ESCALATION = [SupervisionLevel.COUNTY, SupervisionLevel.CITY, SupervisionLevel.PROVINCE, SupervisionLevel.LEADER]
# Rows per INSERT of history rows and steps: below PostgreSQL's 65,535 parameters a statement.
WRITE_BATCH = 2000
# The advisory lock a supervision run holds for its transaction (any 64-bit number no other lock uses:
# "督办" in UTF-8, as an integer).
RUN_LOCK_KEY = int.from_bytes("督办".encode(), "big")


# --- Levels: who must act -----------------------------------------------------------------------------


def first_level(project):
    """A county's project starts with the county; a city's own (or 定州's, 辛集's: their county is their
    city) with the city."""
    if project.county_id and project.county_id != project.city_id:
        return SupervisionLevel.COUNTY
    return SupervisionLevel.CITY


def acting_keys(user):
    """Where `user` acts, as (level, what a project must have there): a county's editors act at the county
    level for that county's projects, a city's coordinators at the city level for the city's, the
    province's administrators at the province level for all, a leader for the projects they contract."""
    if not (user.is_authenticated and user.is_active):
        return set()
    role, keys = user_role(user), {(SupervisionLevel.LEADER, user.pk)}
    if role == Role.PROVINCE_ADMIN and is_province_wide(user):
        keys.add((SupervisionLevel.PROVINCE, None))
    if role == Role.CITY_COORDINATOR and user.region_id:
        keys.add((SupervisionLevel.CITY, user.region_id))
    if role == Role.COUNTY_EDITOR and user.region_id:
        keys.add((SupervisionLevel.COUNTY, user.region_id))
    return keys


def project_key(level, project):
    """What a project has at `level`, matched against acting_keys: its county, its city, its leader."""
    return {SupervisionLevel.COUNTY: project.county_id, SupervisionLevel.CITY: project.city_id,
            SupervisionLevel.PROVINCE: None, SupervisionLevel.LEADER: project.contracting_leader_id}[level]


def acting_levels(user, project):
    """The levels at which `user` acts for `project`."""
    return {level for level, key in acting_keys(user) if project_key(level, project) == key}


def openable_levels(user, project):
    """The levels `user` may open an item at by hand: the province any (the leader when the project has
    one), a city-level coordinator its own level or below, for a project in their scope."""
    role = user_role(user)
    if not Project.objects.visible_to(user).filter(pk=project.pk).exists():
        return []
    if role == Role.PROVINCE_ADMIN and is_province_wide(user):
        return [level for level in ESCALATION[ESCALATION.index(first_level(project)):]
                if level != SupervisionLevel.LEADER or project.contracting_leader_id]
    if role == Role.CITY_COORDINATOR and user.region_id == project.city_id:
        return [level for level in (SupervisionLevel.COUNTY, SupervisionLevel.CITY)
                if ESCALATION.index(level) >= ESCALATION.index(first_level(project))]
    return []


def time_limit(on):
    return workdays.workdays_after(on, settings.SUPERVISION_TIME_LIMIT_WORKDAYS)


# --- The daily run --------------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    opened: int = 0
    closed: int = 0
    escalated: int = 0
    mails: int = 0

    def __str__(self):
        return f"opened {self.opened}, closed {self.closed}, escalated {self.escalated}, mails {self.mails}"


def _open_item_q(cause):
    return Exists(SupervisionItem.objects.open().filter(project=OuterRef("pk"), cause=cause))


def red_projects(on):
    """Projects whose stored light (judged for `on`) is red."""
    return Project.objects.filter(current_light_reason__in=rules.reasons_for(Light.RED))


def overdue_report_month(on):
    """The month a report counts as overdue for on day `on`: due more than the setting's working days ago."""
    return rules.latest_due_month(on=workdays.workdays_before(on, settings.SUPERVISION_REPORT_OVERDUE_WORKDAYS))


def report_overdue_projects(on):
    month = overdue_report_month(on)
    unreported = Q(last_report_month__isnull=True) | Q(last_report_month__lt=month)
    return Project.objects.filter(rules.owes_report_q(month) & unreported), month


def old_problems(on):
    oldest = on - datetime.timedelta(days=settings.SUPERVISION_PROBLEM_DAYS)
    return Problem.objects.exclude(status=ProblemStatus.RESOLVED).filter(raised_on__lte=oldest)


def supervision_run(*, on=None, enqueue):
    """The daily run (beat 督办每日处理): open what fell behind, close what recovered, escalate what was not
    handled in time and mail the new level once. Running it again the same day changes nothing."""
    on = on or rules.today()
    if not lights.stored_lights_fresh(on):
        lights.lights_refresh(on=on)
    outcome = RunOutcome()
    with transaction.atomic():
        run_lock()  # a second run waits here, then reads what the first committed
        outcome.closed = _close_recovered(on)
        opened = _open_fallen_behind(on)
        outcome.opened = len(opened)
        escalated = _escalate(on)
        outcome.escalated = len(escalated)
        outcome.mails = _mail_escalations(escalated, on=on, enqueue=enqueue)
        outcome.mails += _mail_opened(opened, on=on, enqueue=enqueue)
        if outcome.opened or outcome.closed or outcome.escalated:
            versions.data_changed()  # bulk writes send no signals; the dashboard's counts move
    return outcome


def run_lock():
    """Hold the supervision lock until the current transaction ends: runs at once take turns. On SQLite a
    transaction that writes holds the whole database already (settings: transaction_mode IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK_KEY])


def _open_fallen_behind(on):
    columns = ("pk", "county_id", "city_id", "contracting_leader_id")
    wanted = []  # (project values, cause, extra fields, description)
    for values in red_projects(on).exclude(_open_item_q(SupervisionCause.RED_LIGHT)).values_list(*columns):
        wanted.append((values, SupervisionCause.RED_LIGHT, {}, _("项目亮红灯：投资进度严重滞后或未按期开工、报送")))
    projects, month = report_overdue_projects(on)
    for values in projects.exclude(_open_item_q(SupervisionCause.OVERDUE_REPORT)).values_list(*columns):
        wanted.append((values, SupervisionCause.OVERDUE_REPORT, {"report_month": month},
                       _("%(month)s 月度调度逾期未报") % {"month": f"{month:%Y-%m}"}))
    open_problem_items = SupervisionItem.objects.open().filter(problem=OuterRef("pk"))
    for problem_id, description, *values in (
        old_problems(on).exclude(Exists(open_problem_items))
        .values_list("pk", "description", *(f"project__{column}" for column in columns))
    ):
        wanted.append((values, SupervisionCause.OLD_PROBLEM, {"problem_id": problem_id},
                       _("问题超过 %(days)d 天未解决：%(problem)s") % {"days": settings.SUPERVISION_PROBLEM_DAYS, "problem": description}))
    due = time_limit(on)
    items = []
    for (pk, county_id, city_id, leader_id), cause, extra, description in wanted:
        project = Project(pk=pk, county_id=county_id, city_id=city_id, contracting_leader_id=leader_id)
        items.append(SupervisionItem(project_id=pk, cause=cause, description=description, level=first_level(project),
                                     opened_on=on, due_on=due, **extra))
    return _create_items(items, automatic=True)


def _insert_new(items):
    """INSERT the automatic items with ON CONFLICT DO NOTHING (PostgreSQL, SQLite): an item whose project and
    cause (or problem) already has one open — opened meanwhile by another writer — is passed over by the
    database itself. Returns the items inserted, with their pk (RETURNING names the key of each row)."""
    meta = SupervisionItem._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    returning = [meta.pk, meta.get_field("project"), meta.get_field("cause"), meta.get_field("problem")]
    by_key = {(item.project_id, item.cause, item.problem_id): item for item in items}
    inserted = []
    for start in range(0, len(items), WRITE_BATCH):
        batch = items[start : start + WRITE_BATCH]
        # What bulk_create(ignore_conflicts=True) does, but asking for the rows inserted (it asks for none).
        rows = SupervisionItem.objects._insert(batch, fields=fields, returning_fields=returning, on_conflict=OnConflict.IGNORE)
        for row in rows:
            if row is None:  # a single row passed over
                continue
            pk, *key = row
            item = by_key[tuple(key)]
            item.pk, item._state.adding, item._state.db = pk, False, connection.alias
            inserted.append(item)
    return inserted


def _create_items(items, *, user=None, automatic=False):
    """Create the items with their history row and their first step; the daily run's (`automatic`) only
    where none is open for the same cause. Returns the items created."""
    if not items:
        return []
    if automatic:
        created = _insert_new(items)
        SupervisionItem.history.bulk_history_create(created, default_user=user, batch_size=WRITE_BATCH)
    else:
        created = bulk_create_with_history(items, SupervisionItem, default_user=user, batch_size=WRITE_BATCH)
    SupervisionStep.objects.bulk_create(
        [SupervisionStep(item=item, kind=SupervisionStepKind.OPENED, level=item.level, user=user, text=item.description)
         for item in created],
        batch_size=WRITE_BATCH,
    )
    # A bulk insert sends no save signal: an item opened by hand was missing from the acting level's 待办 count and
    # the 督办 counts cached before it, for minutes.
    versions.projects_changed([item.project_id for item in created], places_moved=False)
    versions.supervision_changed()
    return created


def _changed_in_bulk(updates, *, on, step_kind, step_text, field):
    """Apply `updates` — [(queryset, values)], each one UPDATE — and record what they changed: a timeline
    step and a history row per item. Queries grow with the batches written, not per item. `field` is the
    date field the updates set to `on`, by which the changed items are read back."""
    ids = set()
    for queryset, values in updates:
        group = list(queryset.values_list("pk", flat=True))
        if group:
            queryset.update(**values, version=F("version") + 1)  # a form read before is stale now
            ids.update(group)
    if not ids:
        return []
    changed = [item for item in SupervisionItem.objects.filter(**{field: on}).select_related("project") if item.pk in ids]
    SupervisionItem.history.bulk_history_create(changed, update=True, batch_size=WRITE_BATCH)
    # An UPDATE sends no save signal.
    versions.projects_changed([item.project_id for item in changed], places_moved=False)
    versions.supervision_changed()
    SupervisionStep.objects.bulk_create(
        [SupervisionStep(item=item, kind=step_kind, level=item.level, text=step_text(item)) for item in changed],
        batch_size=WRITE_BATCH,
    )
    return changed


def _close_recovered(on):
    """Close the automatic items whose cause is gone: the light no longer red, the problem resolved, the
    report in (or no longer owed)."""
    red = red_projects(on).filter(pk=OuterRef("project_id"))
    overdue, _month = report_overdue_projects(on)
    open_items = SupervisionItem.objects.open()
    closing = {"status": SupervisionStatus.CLOSED, "closed_on": on, "extension_due_on": None, "extension_reason": ""}
    updates = [
        (open_items.filter(cause=SupervisionCause.RED_LIGHT).exclude(Exists(red)),
         {**closing, "result": _("项目已恢复正常进度，自动办结。")}),
        (open_items.filter(cause=SupervisionCause.OLD_PROBLEM, problem__status=ProblemStatus.RESOLVED),
         {**closing, "result": _("问题已解决，自动办结。")}),
        (open_items.filter(cause=SupervisionCause.OVERDUE_REPORT).exclude(Exists(overdue.filter(pk=OuterRef("project_id")))),
         {**closing, "result": _("月报已报送，自动办结。")}),
    ]
    closed = _changed_in_bulk(updates, on=on, step_kind=SupervisionStepKind.CLOSED, step_text=lambda item: item.result,
                              field="closed_on")
    return len(closed)


def _escalate(on):
    """Items past their time limit go one level up with a new limit; at the top they stay (and show as
    overdue). Only on working days: a limit is counted in working days. One UPDATE per level, the top
    first, so that an item climbs one level a day."""
    if not workdays.is_workday(on):
        return []
    overdue = SupervisionItem.objects.overdue(on)
    limit = time_limit(on)
    updates = []
    for old, new in reversed(list(zip(ESCALATION, ESCALATION[1:]))):
        # The 包联 leader is the top only for a project that has one; the province is, for the others.
        climbs = Q(project__contracting_leader__isnull=False) if new == SupervisionLevel.LEADER else Q()
        updates.append((overdue.filter(climbs, level=old), {"level": new, "due_on": limit, "escalated_on": on}))
    return _changed_in_bulk(
        updates, on=on, step_kind=SupervisionStepKind.ESCALATED, field="escalated_on",
        step_text=lambda item: _("逾期未办结，升级至%(level)s督办") % {"level": item.get_level_display()},
    )


def _recipients(items):
    """The people of each item's level, read at once and matched by acting_keys (the rule the item page
    checks): {user pk: user}. A fixed number of queries however many items."""
    leaders = {item.project.contracting_leader_id for item in items if item.level == SupervisionLevel.LEADER}
    roles = [ROLE_GROUP_NAMES[role] for role in (Role.COUNTY_EDITOR, Role.CITY_COORDINATOR, Role.PROVINCE_ADMIN)]
    candidates = (User.objects.filter(is_active=True).filter(Q(groups__name__in=roles) | Q(pk__in=leaders))
                  .select_related("region").prefetch_related("groups").distinct())
    people = {}  # (level, the project's county, city or leader) -> users
    for user in candidates:
        for key in acting_keys(user):
            people.setdefault(key, []).append(user)
    recipients = {}
    for item in items:
        for user in people.get((item.level, project_key(item.level, item.project)), []):
            recipients.setdefault(user.pk, user)
    return recipients


def _mail_escalations(escalated, *, on, enqueue):
    """One mail per person of a new level per day, listing what reached them (delivery.py: recorded once,
    so a second run the same day sends nothing more)."""
    if not escalated:
        return 0
    rows = [{"user": user, "kind": MailKind.SUPERVISION_ESCALATED, "period_start": on, "period_end": on, "key": "supervision"}
            for user in _recipients(escalated).values() if user.email]
    return delivery.deliveries_record(rows, enqueue=enqueue)


def _mail_opened(opened, *, on, enqueue):
    """Issue 27: the people of the acting level hear of what the run opened for them, one mail a day."""
    if not opened:
        return 0
    projects = {project.pk: project for project in Project.objects.filter(pk__in={item.project_id for item in opened})}
    for item in opened:
        item.project = projects[item.project_id]
    return delivery.deliveries_record(opened_mail_rows(opened, on=on), enqueue=enqueue)


def items_reaching(user, *, day, escalated):
    """The open items that reached `user`'s level on `day`: escalated to it, or opened at it (the daily
    mails' list, for the one reader)."""
    field = "escalated_on" if escalated else "opened_on"
    found = (SupervisionItem.objects.open().visible_to(user).filter(**{field: day})
             .select_related("project__county", "project__city").order_by("due_on", "pk"))
    return [item for item in found if item.level in acting_levels(user, item.project)]


def items_mail(user, *, day, escalated):
    """(subject, text, html) of the day's mail to one person listing the items that reached them, or None."""
    items = items_reaching(user, day=day, escalated=escalated)
    if not items:
        return None
    subject = (_("督办事项升级：%(count)d 项待您办理") if escalated else _("新的督办事项：%(count)d 项待您办理")) % {"count": len(items)}
    return _mail("supervision_items", subject, {"user": user, "items": items, "day": day, "escalated": escalated})


@delivery.renders_mail(MailKind.SUPERVISION_ESCALATED)
def escalation_render(record):
    """(subject, text, html) of the mail to one person: the items that reached their level that day."""
    return items_mail(record.user, day=record.period_start, escalated=True)


# --- By hand ------------------------------------------------------------------------------------------


def item_open(*, user, project, description, level):
    """A city or the province opens an item by hand, at a level it may."""
    if level not in openable_levels(user, project):
        raise PermissionDenied(_("您不能在该层级督办此项目。"))
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("请填写督办事项。")})
    on = rules.today()
    # The issuing level signs the item off (issue 27): the highest level the opener supervises the project at.
    issuer = max((lvl for lvl in acting_levels(user, project) if lvl != SupervisionLevel.LEADER), key=ESCALATION.index,
                 default="")
    item = SupervisionItem(project=project, cause=SupervisionCause.MANUAL, description=description, level=level,
                           opened_on=on, due_on=time_limit(on), opened_by=user, issuer_level=issuer)
    with transaction.atomic():
        _create_items([item], user=user)
        item = SupervisionItem.objects.filter(project=project, opened_by=user).latest("pk")
        notify_opened(item)  # the acting level hears of it once (mail, and the inbox lists it)
    return item


def _acting(user, item):
    if not item.is_open:
        raise ValidationError(_("该督办事项已办结。") if item.status == SupervisionStatus.CLOSED else _("该督办事项已申请办结，待销号。"))
    if item.level not in acting_levels(user, item.project):
        raise PermissionDenied(_("该督办事项由%(level)s办理。") % {"level": item.get_level_display()})


def item_respond(*, user, item, text):
    """The acting level records what it did (办理情况). No text, no step."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写办理情况。")})
    with transaction.atomic():
        item = SupervisionItem.objects.select_for_update().select_related("project").get(pk=item.pk)
        _acting(user, item)
        return SupervisionStep.objects.create(item=item, kind=SupervisionStepKind.RESPONSE, level=item.level, user=user, text=text)


def item_close(*, user, item, result):
    """The acting level closes the item with its result."""
    result = (result or "").strip()
    if not result:
        raise ValidationError({"result": _("请填写办结情况。")})
    with transaction.atomic():
        item = SupervisionItem.objects.select_for_update().select_related("project").get(pk=item.pk)
        _acting(user, item)
        item.status, item.closed_on, item.result = SupervisionStatus.CLOSED, rules.today(), result
        item._history_user = user
        item.save(update_fields=["status", "closed_on", "result"])
        SupervisionStep.objects.create(item=item, kind=SupervisionStepKind.CLOSED, level=item.level, user=user, text=result)
    return item


# --- Notices (issue 27) -------------------------------------------------------------------------------------------------


def people_at(level, project):
    """The active users with an address who act at `level` for `project` (the rule the item page checks)."""
    roles = [ROLE_GROUP_NAMES[role] for role in (Role.COUNTY_EDITOR, Role.CITY_COORDINATOR, Role.PROVINCE_ADMIN)]
    where = (Q(groups__name__in=roles) & (Q(region_id__in=[project.county_id, project.city_id])
                                          | Q(region__level=RegionLevel.PROVINCE) | Q(is_superuser=True)))
    if project.contracting_leader_id:
        where |= Q(pk=project.contracting_leader_id)
    candidates = User.objects.filter(where, is_active=True).exclude(email="").select_related("region").distinct()
    wanted = (level, project_key(level, project))
    return [user for user in candidates if wanted in acting_keys(user)]


def notify_step(step, levels):
    """One mail per person of `levels` about `step`, recorded once (key: the step) and sent on commit."""
    on = rules.today()
    recipients = {user.pk: user for level in levels for user in people_at(level, step.item.project)}
    recipients.pop(getattr(step.user, "pk", None), None)  # not to the one who acted
    rows = [{"user": user, "kind": MailKind.SUPERVISION_NOTICE, "period_start": on, "period_end": on,
             "key": f"step-{step.pk}"} for user in recipients.values()]
    return delivery.deliveries_record(rows, enqueue=delivery.enqueue)


def opened_mail_rows(items, *, on):
    """Rows of the daily run's mail about the items it opened: one per person a day (key "opened")."""
    return [{"user": user, "kind": MailKind.SUPERVISION_NOTICE, "period_start": on, "period_end": on, "key": "opened"}
            for user in _recipients(items).values() if user.email]


def _mail(template, subject, context):
    from django.template.loader import render_to_string

    context = {**context, "site_url": settings.SITE_URL}
    return (delivery.one_line_subject(subject), render_to_string(f"projects/mail/{template}.txt", context),
            render_to_string(f"projects/mail/{template}.html", context))


@delivery.renders_mail(MailKind.SUPERVISION_NOTICE)
def notice_render(record):
    """(subject, text, html) of a notice: the items the daily run opened at the reader's level that day, or
    one step of one item (opened by hand, urged, returned, closure or extension asked, decided …)."""
    if record.key == "opened":
        return items_mail(record.user, day=record.period_start, escalated=False)
    step = (SupervisionStep.objects.select_related("item__project", "user")
            .filter(pk=int(record.key.removeprefix("step-"))).first())
    if step is None:
        return None
    return _mail("supervision_step", _("【督办】%(kind)s：%(project)s") % {"kind": step.get_kind_display(),
                                                                       "project": step.item.project.name},
                 {"user": record.user, "step": step, "item": step.item})


def notify_opened(item):
    """An item opened by hand: its acting level hears of it once (keyed by its first step)."""
    step = item.steps.filter(kind=SupervisionStepKind.OPENED).select_related("item__project", "user").first()
    if step is not None:
        notify_step(step, [item.level])
