"""Supervision that closes the loop (issue 27): the acting level requests closure (申请办结) with 整改情况 and
documents, the level that issued the item — for automatic items the level above the acting one — signs it
off (销号) or returns it (退回); levels above the acting one urge (催办, at most once a working day), escalate
by hand and reopen a closed item; the acting level asks for an extension (申请延期), which the signing level
grants or refuses. Each transition is a timeline step and a history row, and mails the people who must act
next once (a delivery keyed by the step: recorded, retried, never sent twice).

Two people at once: a form carries the item's `version`; a transition locks the item (SELECT … FOR UPDATE),
and a version that moved meanwhile, or a state the transition does not start from, is refused with
StaleState (a ValidationError the page shows with the input kept).

Who may do what (levels: county → city → province → 包联 leader; a leader never supervises):

- request closure, ask for an extension: the acting level, while the item is with it;
- sign off, return, grant or refuse an extension: the signing level (signer_level);
- urge, escalate by hand: a level above the acting one, while the item is with the acting level;
- reopen: a level above the acting one, or the signing level, once the item is closed.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from projects.domain import rules, workdays
from projects.domain.choices import SupervisionLevel, SupervisionStatus, SupervisionStepKind
from projects.evidence import services as evidence
from projects.models import SupervisionItem, SupervisionStep
from projects.models.evidence import DocumentKind
from projects.models.supervision import SupervisionAttachment, awaiting_signoff_q, extension_asked_q
from projects.supervision import services

COUNTY, CITY, PROVINCE, LEADER = (SupervisionLevel.COUNTY, SupervisionLevel.CITY, SupervisionLevel.PROVINCE,
                                  SupervisionLevel.LEADER)
RANK = {level: index for index, level in enumerate(services.ESCALATION)}
ACTIONS = ("request", "extend", "signoff", "return", "grant", "refuse", "urge", "escalate", "reopen")


class StaleState(ValidationError):
    """The item changed since the form was read, or is not in the state the transition starts from."""


# --- Who -----------------------------------------------------------------------------------------------


def signer_level(item):
    """The level that signs off (销号) the item and decides its extensions (SupervisionItem.signer_level: the
    issuing level of an item the province opened by hand, else the level above the acting one; the province
    signs off its own items and the 包联 leader's, a leader being read-only)."""
    return item.signer_level


def supervising_levels(user, project):
    """The levels at which `user` supervises `project` (a leader answers at their level, never supervises)."""
    return {level for level in services.acting_levels(user, project) if level != LEADER}


def _above(user, item):
    return any(RANK[level] > RANK[item.level] for level in supervising_levels(user, item.project))


def _signs(user, item):
    return signer_level(item) in supervising_levels(user, item.project)


def _acts(user, item):
    return item.level in services.acting_levels(user, item.project)


def next_level(item):
    """The level a hand escalation hands the item to, or None at the top."""
    if item.level == COUNTY:
        return CITY
    if item.level == CITY:
        return PROVINCE
    if item.level == PROVINCE and item.project.contracting_leader_id:
        return LEADER
    return None


# (may the user's role do it on this item, is the item in the state it starts from)
RULES = {
    "request": (_acts, lambda item: item.is_open),
    "extend": (_acts, lambda item: item.is_open and not item.extension_due_on),
    "signoff": (_signs, lambda item: item.awaits_signoff),
    "return": (_signs, lambda item: item.awaits_signoff),
    "grant": (_signs, lambda item: item.is_open and bool(item.extension_due_on)),
    "refuse": (_signs, lambda item: item.is_open and bool(item.extension_due_on)),
    "urge": (_above, lambda item: item.is_open),
    "escalate": (_above, lambda item: item.is_open and next_level(item) is not None),
    "reopen": (lambda user, item: _above(user, item) or _signs(user, item),
               lambda item: item.status == SupervisionStatus.CLOSED),
}


def allowed(user, item):
    """The transitions `user` may take on `item` now (the item page shows their forms)."""
    return {action for action, (may, state) in RULES.items() if may(user, item) and state(item)}


# --- Counts ---------------------------------------------------------------------------------------------


def awaiting_counts(items_queryset):
    """{"signoff": n, "extension": n} over `items_queryset` (already scoped to the reader): items awaiting
    sign-off (销号) and extension requests (延期申请) awaiting a decision. One query. For the 督办 page, the
    dashboard and the digests (issue 27)."""
    found = items_queryset.order_by().aggregate(
        signoff=Count("pk", filter=awaiting_signoff_q()),
        extension=Count("pk", filter=extension_asked_q()),
    )
    return {"signoff": found["signoff"] or 0, "extension": found["extension"] or 0}


def awaiting_decision(user, items_queryset):
    """The items of `items_queryset` awaiting `user`'s decision: (awaiting sign-off, extension requests)."""
    levels = {level for level, _key in services.acting_keys(user) if level in (CITY, PROVINCE)}
    items = items_queryset.none()
    for level in levels:
        items = items | items_queryset.signed_off_by(level)
    return items.filter(awaiting_signoff_q()), items.filter(extension_asked_q())


# --- Transitions -----------------------------------------------------------------------------------------


def _locked(user, item, action, version):
    """The item locked for the transition, after the version, the role and the state are checked."""
    item = SupervisionItem.objects.select_for_update().select_related("project").get(pk=item.pk)
    item.project = type(item.project).objects.select_related("contracting_leader").get(pk=item.project_id)
    may, state = RULES[action]
    if version is not None and int(version) != item.version:
        raise StaleState(_("该督办事项刚被他人处理（现为“%(status)s”，%(level)s办理），请查看最新情况后再操作；您填写的内容已保留。")
                         % {"status": item.get_status_display(), "level": item.get_level_display()}, code="stale")
    if not may(user, item):
        raise PermissionDenied(_("您不能对该督办事项进行此操作。"))
    if not state(item):
        raise StaleState(_("该督办事项当前为“%(status)s”，不能进行此操作。") % {"status": item.get_status_display()},
                         code="stale")
    return item


def _text(text, field, message):
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: message})
    return text


def _save(item, user, fields, step_kind, text, *, level=None):
    item.version += 1
    item._history_user = user
    item.save(update_fields=[*fields, "version"])  # its post_save moves the versions of the project's regions
    return SupervisionStep.objects.create(item=item, kind=step_kind, level=level or item.level, user=user, text=text)


def item_request_closure(*, user, item, text, uploads=(), version=None):
    """The acting level reports its 整改情况 and asks for sign-off; documents go through projects.evidence."""
    text = _text(text, "text", _("请填写整改情况。"))
    with transaction.atomic():
        item = _locked(user, item, "request", version)
        item.status = SupervisionStatus.SIGNOFF
        step = _save(item, user, ["status"], SupervisionStepKind.CLOSURE_REQUESTED, text)
        for upload in uploads:
            document = evidence.document_upload(user=user, project=item.project, kind=DocumentKind.RECTIFICATION,
                                                upload=upload)
            SupervisionAttachment.objects.create(step=step, document=document)
        services.notify_step(step, [signer_level(item)])
    return item


def item_sign_off(*, user, item, text="", version=None):
    """The signing level accepts the 整改 and closes the item (销号)."""
    with transaction.atomic():
        item = _locked(user, item, "signoff", version)
        request = item.steps.filter(kind=SupervisionStepKind.CLOSURE_REQUESTED).order_by("-at", "-pk").first()
        item.status, item.closed_on = SupervisionStatus.CLOSED, rules.today()
        item.result = request.text if request else (text or "").strip()
        item.extension_due_on, item.extension_reason = None, ""
        step = _save(item, user, ["status", "closed_on", "result", "extension_due_on", "extension_reason"],
                     SupervisionStepKind.SIGNED_OFF, (text or "").strip(), level=signer_level(item))
        services.notify_step(step, [item.level])
    return item


def item_return(*, user, item, reason, version=None):
    """The signing level refuses the closure with a reason: the item goes back to the acting level."""
    reason = _text(reason, "reason", _("请填写退回理由。"))
    with transaction.atomic():
        item = _locked(user, item, "return", version)
        item.status = SupervisionStatus.OPEN
        step = _save(item, user, ["status"], SupervisionStepKind.RETURNED, reason, level=signer_level(item))
        services.notify_step(step, [item.level])
    return item


def _workday_of(day):
    return workdays.next_workday(day)


def item_urge(*, user, item, text="", version=None):
    """A level above the acting one urges it (催办): one mail to the acting level, at most once a working day."""
    with transaction.atomic():
        item = _locked(user, item, "urge", version)
        if urged_today(item):
            raise StaleState(_("该督办事项今天已催办过，每个工作日至多催办一次。"), code="urged")
        item.urged_on = _workday_of(rules.today())
        mine = max(supervising_levels(user, item.project), key=RANK.get)
        text = (text or "").strip() or _("请抓紧办理。")
        step = _save(item, user, ["urged_on"], SupervisionStepKind.URGED, text, level=mine)
        services.notify_step(step, [item.level])
    return item


def item_escalate(*, user, item, text="", version=None):
    """A level above the acting one hands the item one level up now, with a new limit."""
    with transaction.atomic():
        item = _locked(user, item, "escalate", version)
        on = rules.today()
        item.level, item.due_on, item.escalated_on = next_level(item), services.time_limit(on), on
        item.extension_due_on, item.extension_reason = None, ""
        text = (text or "").strip() or _("人工升级至%(level)s督办") % {"level": item.get_level_display()}
        step = _save(item, user, ["level", "due_on", "escalated_on", "extension_due_on", "extension_reason"],
                     SupervisionStepKind.ESCALATED_BY_HAND, text)
        services.notify_step(step, [item.level])
    return item


def item_reopen(*, user, item, reason, version=None):
    """A closed item is opened again at its level with a new limit (the reason on the timeline)."""
    reason = _text(reason, "reason", _("请填写重新督办的理由。"))
    try:
        with transaction.atomic():
            item = _locked(user, item, "reopen", version)
            on = rules.today()
            item.status, item.closed_on, item.result, item.due_on = SupervisionStatus.OPEN, None, "", services.time_limit(on)
            step = _save(item, user, ["status", "closed_on", "result", "due_on"], SupervisionStepKind.REOPENED, reason)
            services.notify_step(step, [item.level])
    except IntegrityError:
        # An automatic item of the same cause opened meanwhile (the database allows one at a time).
        raise StaleState(_("该项目已有同一原因的督办事项在办理中，不能重新督办。"), code="duplicate") from None
    return item


def item_request_extension(*, user, item, due_on, reason, version=None):
    """The acting level asks for a new limit: a working day after the current one."""
    reason = _text(reason, "reason", _("请填写延期理由。"))
    with transaction.atomic():
        item = _locked(user, item, "extend", version)
        if due_on is None or due_on <= item.due_on or not workdays.is_workday(due_on):
            raise ValidationError({"due_on": _("延期后的时限须为 %(date)s 之后的工作日。") % {"date": item.due_on.isoformat()}})
        item.extension_due_on, item.extension_reason = due_on, reason
        step = _save(item, user, ["extension_due_on", "extension_reason"], SupervisionStepKind.EXTENSION_REQUESTED,
                     _("申请延期至 %(date)s：%(reason)s") % {"date": due_on.isoformat(), "reason": reason})
        services.notify_step(step, [signer_level(item)])
    return item


def item_decide_extension(*, user, item, grant, text="", version=None):
    """The signing level grants (the limit moves to the date asked) or refuses an extension request."""
    with transaction.atomic():
        item = _locked(user, item, "grant" if grant else "refuse", version)
        asked = item.extension_due_on
        fields = ["extension_due_on", "extension_reason"]
        if grant:
            item.due_on = asked
            fields.append("due_on")
            kind, note = SupervisionStepKind.EXTENSION_GRANTED, _("同意延期至 %(date)s") % {"date": asked.isoformat()}
        else:
            kind, note = SupervisionStepKind.EXTENSION_REFUSED, _("不同意延期，时限仍为 %(date)s") % {"date": item.due_on.isoformat()}
        item.extension_due_on, item.extension_reason = None, ""
        text = (text or "").strip()
        step = _save(item, user, fields, kind, f"{note}。{text}" if text else note, level=signer_level(item))
        services.notify_step(step, [item.level])
    return item


TRANSITIONS = {
    "request": item_request_closure, "signoff": item_sign_off, "return": item_return, "urge": item_urge,
    "escalate": item_escalate, "reopen": item_reopen, "extend": item_request_extension,
}


def urged_today(item, on=None):
    """Whether the item was urged on the working day of `on` (today; a rest day counts as the next working day)."""
    return item.urged_on is not None and item.urged_on == _workday_of(on or rules.today())

