"""The demo's supervision items spread over the last months (issue 27): the morning's run opens every item on
the same day; this gives each a day it was opened (up to four months back, on a working day), replays the
escalations the calendar would have brought (county → city → province → 包联 leader), and leaves some awaiting
sign-off (待销号), some signed off (销号), some extended or asking for an extension, some urged — so that
overdue, ageing, escalation and the whole loop can be seen. Deterministic for a seed; a few set-based
writes, however many items."""

import datetime
import random

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from projects.domain import workdays
from projects.domain.choices import SupervisionCause, SupervisionLevel, SupervisionStatus, SupervisionStepKind
from projects.models import Project, SupervisionItem, SupervisionStep, User
from projects.reference.bulk import FastTable

COUNTY, CITY, PROVINCE, LEADER = (SupervisionLevel.COUNTY, SupervisionLevel.CITY, SupervisionLevel.PROVINCE,
                                  SupervisionLevel.LEADER)
MAX_AGE_DAYS = 120
STEP_COLUMNS = ("item_id", "kind", "level", "at", "user_id", "text")
DEMO_ACTORS = {COUNTY: "zhengding", CITY: "shijiazhuang", PROVINCE: "province"}


def _at(day, minute):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9 + minute // 60 % 8, minute % 60)))


def _after(day, n):
    return workdays.workdays_after(day, n)


def _climb(item, opened, due, until, steps):
    """Replay the daily escalations from `opened` with limit `due` up to day `until`: (level, due, escalated_on)."""
    level, escalated = item.level, None
    limit = settings.SUPERVISION_TIME_LIMIT_WORKDAYS
    while due < until:
        up = {COUNTY: CITY, CITY: PROVINCE, PROVINCE: LEADER if item.project.contracting_leader_id else None}.get(level)
        if up is None:
            break
        day = _after(due, 1)
        if day > until:
            break
        level, due, escalated = up, _after(day, limit), day
        steps.append((SupervisionStepKind.ESCALATED, level, day, None, f"逾期未办结，升级至{SupervisionLevel(level).label}督办"))
    return level, due, escalated


SHOWCASE = 6
SHOWCASE_TEXT = "请说明项目进度滞后原因，限期整改并反馈整改情况。"


def _showcase_items(actors, on):
    """Items the demo city opened by hand on the demo county's projects, so that its login sees the loop."""
    county, city = actors[COUNTY], actors[CITY]
    if county is None or county.region_id is None:
        return
    projects = list(Project.objects.filter(county_id=county.region_id).order_by("pk")[:SHOWCASE])
    if not projects:
        return
    made = SupervisionItem.objects.bulk_create([
        SupervisionItem(project=projects[index % len(projects)], cause=SupervisionCause.MANUAL, description=SHOWCASE_TEXT,
                        level=COUNTY, issuer_level=CITY, opened_by=city, opened_on=on, due_on=on)
        for index in range(SHOWCASE)
    ])
    SupervisionItem.history.bulk_history_create(made, default_user=city)


def _update_many(model, fields, rows):
    """UPDATE model SET fields WHERE pk, one executemany for all `rows` ([values…, pk])."""
    if not rows:
        return
    ops, table = connection.ops, model._meta.db_table
    columns = ", ".join(f"{ops.quote_name(model._meta.get_field(name).column)} = %s" for name in fields)
    adapted = [[model._meta.get_field(name).get_db_prep_save(value, connection) for name, value in zip(fields, row)] + [row[-1]]
               for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {ops.quote_name(table)} SET {columns} WHERE id = %s", adapted)


def supervision_spread(*, seed, on):
    """Spread the demo's open items over the last months and through every state of the loop."""
    rng = random.Random(f"supervision-{seed}")
    actors = {level: User.objects.filter(username=name).first() for level, name in DEMO_ACTORS.items()}
    limit = settings.SUPERVISION_TIME_LIMIT_WORKDAYS
    _showcase_items(actors, on)
    items = list(SupervisionItem.objects.open().select_related("project").order_by("pk"))
    if not items:
        return 0
    # The demo county's first items go through every state, so that a demo login sees each.
    showcase = [item.pk for item in items if item.project.county_id == getattr(actors[COUNTY], "region_id", None)][:SHOWCASE]
    steps_by_item = {}
    for index, item in enumerate(items):
        opened = on - datetime.timedelta(days=rng.randint(0, MAX_AGE_DAYS))
        opened = opened if workdays.is_workday(opened) else workdays.workdays_before(opened, 1)
        draw = rng.random()
        if item.pk in showcase:  # recent, with the county: request, signed off, extended, asking, urged, open
            draw = [0.05, 0.2, 0.3, 0.4, 0.45, 0.9][showcase.index(item.pk)]
            opened = workdays.workdays_before(on if workdays.is_workday(on) else workdays.workdays_before(on, 1),
                                              [3, 4, 3, 1, 2, 0][showcase.index(item.pk)])
        due = _after(opened, limit)
        steps = [(SupervisionStepKind.OPENED, item.level, opened, None, item.description)]
        item.opened_on, item.status, item.closed_on, item.result = opened, SupervisionStatus.OPEN, None, ""
        item.extension_due_on, item.extension_reason, item.urged_on = None, "", None
        first = item.level
        if 0.27 <= draw < 0.37 and _after(opened, 2) > on:
            draw = 0.9  # too young to have been extended
        if 0.27 <= draw < 0.37:  # extended: asked and granted before the first limit
            asked, granted = _after(opened, 1), _after(opened, 2)
            new_due = _after(due, 10)
            steps.append((SupervisionStepKind.EXTENSION_REQUESTED, first, asked, first, f"申请延期至 {new_due}：等待用地审批"))
            steps.append((SupervisionStepKind.EXTENSION_GRANTED, CITY if first == COUNTY else PROVINCE, granted, "signer",
                          f"同意延期至 {new_due}"))
            due = new_due
        stop = on
        if draw < 0.27:  # a closure requested a few working days after opening (and, for some, signed off)
            stop = min(on, _after(opened, rng.randint(1, 8)))
        level, due, escalated = _climb(item, opened, due, stop, steps)
        item.level, item.due_on, item.escalated_on = level, due, escalated
        if draw < 0.27:
            steps.append((SupervisionStepKind.CLOSURE_REQUESTED, level, stop, level, "已约谈建设单位，问题已整改到位，申请销号。"))
            item.status = SupervisionStatus.SIGNOFF
            if draw >= 0.12 and stop < on:
                signed = min(on, _after(stop, 1))
                steps.append((SupervisionStepKind.SIGNED_OFF, item.signer_level, signed, "signer", "整改到位，同意销号。"))
                item.status, item.closed_on, item.result = SupervisionStatus.CLOSED, signed, "已约谈建设单位，问题已整改到位，申请销号。"
        elif 0.37 <= draw < 0.42:  # an extension asked, awaiting the decision
            item.extension_due_on, item.extension_reason = _after(item.due_on, 5), "施工许可办理中"
            steps.append((SupervisionStepKind.EXTENSION_REQUESTED, level, on, level,
                          f"申请延期至 {item.extension_due_on}：施工许可办理中"))
        elif 0.42 <= draw < 0.5 and level != LEADER:  # urged by the level above
            above = CITY if level == COUNTY else PROVINCE
            item.urged_on = workdays.next_workday(on)
            steps.append((SupervisionStepKind.URGED, above, on, above, "请抓紧办理，按期反馈整改情况。"))
        steps_by_item[item.pk] = (item, steps)
    with transaction.atomic():
        # One executemany per table (a statement the driver repeats), however many items: bulk_update would
        # send one CASE statement per ~90 items on SQLite.
        fields = ["opened_on", "due_on", "level", "escalated_on", "status", "closed_on", "result", "extension_due_on",
                  "extension_reason", "urged_on"]
        _update_many(SupervisionItem, fields, [[getattr(item, name) for name in fields] + [item.pk] for item in items])
        SupervisionStep.objects.filter(item__in=[item.pk for item in items]).delete()
        rows = []
        for item, steps in steps_by_item.values():
            for minute, (kind, level, day, actor, text) in enumerate(steps):
                who = actors.get(item.signer_level if actor == "signer" else actor) if actor else None
                if who is not None and item.project.county_id != who.region_id and who.region_id not in (
                        item.project.city_id, getattr(actors[PROVINCE], "region_id", None)):
                    who = None  # the demo users act only in their own regions
                rows.append((item.pk, str(kind), str(level), _at(day, minute * 7 + item.pk % 50),
                             who.pk if who else None, text))
        # Written with their time (not the auto_now_add one), COPY on PostgreSQL: not created, then updated.
        FastTable(SupervisionStep, STEP_COLUMNS, timezone.now()).write(rows)
    return len(items)
