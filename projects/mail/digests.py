"""Status digests: which period is due, what a recipient's digest says, and sending it exactly once.

Content is built from aggregate queries over the recipient's scope (`Project.objects.visible_to`), so
the number of queries per digest does not grow with the number of projects in it.
"""

import datetime
import hashlib
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from projects.domain import rules, workdays
from projects.domain.access import scope_key
from projects.domain.choices import DigestFrequency, Light, MailKind, ProblemStatus, RegionLevel, Stage, Status
from projects.mail import delivery
from projects.models import (
    PROJECT_ORDER,
    Bulletin,
    DeliveryStatus,
    DigestDelivery,
    DigestSubscription,
    Problem,
    Project,
    Region,
    SupervisionItem,
)
from projects.shared import lights, summaries, versions
from projects.shared.forecast import forecast_view
from projects.shared.investment import investment_card_links
from projects.shared.links import project_links
from projects.shared.pieces import cached_per_region, region_slots, slots_q, split_by_slot
from projects.shared.scopes import action_plans

# What a digest's lists show of a project, and what rules.describe_light reads.
LISTED_FIELDS = ("name", "planned_start", "actual_start", "actual_end", "planned_end", "signed_on", "city__name",
                 "county__name")

DIGEST_TITLES = {DigestFrequency.WEEKLY: "周报", DigestFrequency.MONTHLY: "月报"}


@dataclass(frozen=True)
class Period:
    frequency: str
    start: datetime.date
    end: datetime.date

    @property
    def label(self):
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def period_for(frequency, run_date):
    """The period a digest sent on `run_date` reports on: the previous Monday–Sunday week, or the
    previous calendar month (sent after the monthly report deadline, so that month is complete)."""
    if frequency == DigestFrequency.WEEKLY:
        this_monday = run_date - datetime.timedelta(days=run_date.weekday())
        return Period(frequency, this_monday - datetime.timedelta(days=7), this_monday - datetime.timedelta(days=1))
    if frequency == DigestFrequency.MONTHLY:
        end = run_date.replace(day=1) - datetime.timedelta(days=1)
        return Period(frequency, end.replace(day=1), end)
    raise ValueError(f"unknown digest frequency: {frequency!r}")


def period_from_start(frequency, start):
    """The period that starts on `start` (what a task receives as its argument)."""
    if frequency == DigestFrequency.WEEKLY:
        return Period(frequency, start, start + datetime.timedelta(days=6))
    return period_for(frequency, rules.add_months(start, 1))


def send_day(period):
    """The day a period's digest goes out, on China's working-day calendar: the weekly digest on the
    first working day after the week, the monthly one on the first working day after the deadline of
    that month's reports (so that the month is complete and reviewed)."""
    if period.frequency == DigestFrequency.WEEKLY:
        return workdays.next_workday(period.end + datetime.timedelta(days=1))
    return workdays.next_workday(rules.report_deadline(period.start) + datetime.timedelta(days=1))


def periods_due(frequency, on):
    """The periods whose digest goes out on day `on`: usually none or one; two after a week without a
    working day (a Spring Festival week), so that no period is skipped."""
    candidates, period = [], period_for(frequency, on)
    for _step in range(3):
        candidates.append(period)
        period = _period_containing(frequency, period.start - datetime.timedelta(days=1))
    return sorted((period for period in candidates if send_day(period) == on), key=lambda period: period.start)


def periods_missed(frequency, today):
    """The periods whose send day passed, within the last DIGEST_CATCH_UP_DAYS, with no delivery recorded
    for them, though one was for an earlier period: their dispatch never ran (no worker, or no beat, all
    that day). A period before the first one ever recorded is not missed: the digest was not yet sent on
    this installation."""
    recorded = DigestDelivery.objects.filter(kind=frequency)
    first = recorded.order_by("period_start").values_list("period_start", flat=True).first()
    if first is None:
        return []
    earliest = today - datetime.timedelta(days=settings.DIGEST_CATCH_UP_DAYS)
    seen = set(recorded.filter(period_start__gte=earliest - datetime.timedelta(days=62))
               .values_list("period_start", flat=True).distinct())
    missed, period = [], period_for(frequency, today)
    while (day := send_day(period)) >= earliest:
        if day < today and period.start > first and period.start not in seen:
            missed.append(period)
        period = _period_containing(frequency, period.start - datetime.timedelta(days=1))
    return sorted(missed, key=lambda period: period.start)


def _period_containing(frequency, day):
    if frequency == DigestFrequency.WEEKLY:
        start = day - datetime.timedelta(days=day.weekday())
        return Period(frequency, start, start + datetime.timedelta(days=6))
    return period_from_start(frequency, day.replace(day=1))


# --- Content ------------------------------------------------------------------------------------------


def subscription_projects(subscription):
    """The recipient's scope: their region, narrowed to the chosen programmes and actions. Every project of it, as the
    dashboard's: the figures count a cancelled project's plan and work (its light is none); the lists leave it out."""
    projects = Project.objects.visible_to(subscription.user)
    programmes, actions = _narrowing(subscription)
    if programmes:
        links = Project.programmes.through.objects.filter(project=OuterRef("pk"), programme__in=programmes)
        projects = projects.filter(Exists(links))
    if actions:
        links = Project.actions.through.objects.filter(project=OuterRef("pk"), action__in=actions)
        projects = projects.filter(Exists(links))
    return projects


def digest_context(subscription, period, *, since=None):
    """Everything a digest shows for `subscription` over `period`, judged at the period's end."""
    user = subscription.user
    on = period.end
    year = on.year
    progress = rules.time_progress(year=year, on=on)
    scope = subscription_projects(subscription)
    judged = lights.annotate_progress(scope, year=year, on=on)
    # What the lists name: not a cancelled project (its upcoming start, its late nodes are none).
    base, projects = scope.exclude(status=Status.CANCELLED), judged.exclude(status=Status.CANCELLED)
    since = since or period.start - datetime.timedelta(days=1)

    cycle_month = period.start if period.frequency == DigestFrequency.MONTHLY else rules.reporting_month(period.end)
    monthly = period.frequency == DigestFrequency.MONTHLY
    figures = summaries.digest_figures(judged, user=user, narrowing=_narrowing(subscription), plan=action_plans()[1],
                                       year=year, on=on, month=cycle_month, monthly=monthly)
    totals = figures["totals"]
    stage_rows = [(label, count) for _value, label, count in totals["stages"]]

    limit = settings.DIGEST_LIST_LIMIT
    link = project_links(settings.SITE_URL)

    def project_row(project):
        """A listed project (a model instance, or a row of _first_of_each_region read as one) with its light's reason."""
        reason = rules.describe_light(reason=project.light_reason, project=project, year=year, on=on)
        return {"pk": project.pk, "name": project.name, "place": project.place, "url": link(project.pk), "reason": reason}

    def event_row(project):
        return {"project": project, "url": link(project.pk)}

    narrowing = _narrowing(subscription)
    flagged = {kind: [project_row(SimpleNamespace(**row)) for row in rows] for kind, rows in _first_of_each_region(
        ("digest-lists", narrowing, on, limit), projects, FLAGGED, FLAGGED_FIELDS, user=user, limit=limit).items()}
    events = {kind: [event_row(SimpleNamespace(**row)) for row in rows] for kind, rows in _first_of_each_region(
        ("digest-events", narrowing, on, since, limit), base, _events(on, since), EVENT_FIELDS, user=user,
        limit=limit).items()}

    problem_age = settings.DIGEST_PROBLEM_AGE_DAYS
    old_problems = list(
        Problem.objects.filter(project__in=base.values("pk"))
        .exclude(status=ProblemStatus.RESOLVED)
        .filter(raised_on__lte=on - datetime.timedelta(days=problem_age))
        .only("category", "description", "responsible_unit", "raised_on", "project_id")
        .order_by("raised_on", "pk")[:limit]
    )

    # Supervision (督办): the scope's open items, the overdue ones listed; projects whose nodes are late;
    # and, for a 包联 leader, the projects they contract, wherever those are.
    items = SupervisionItem.objects.open().filter(project__in=base.values("pk"))
    overdue_items = list(items.overdue(on).only("cause", "level", "due_on", "project_id").order_by("due_on", "pk")[:limit])
    # The problems' and items' projects read apart, by id: joined in, PostgreSQL hashed every project of the province
    # to list a city's 30 problems (25 ms).
    owners = Project.objects.select_related("city", "county").only("name", "city__name", "county__name").in_bulk(
        {problem.project_id for problem in old_problems} | {item.project_id for item in overdue_items})
    categories = _labels(Problem, "category")
    for problem in old_problems:
        problem.project = owners[problem.project_id]
        problem.category_label = categories[problem.category]
        problem.days_open = (on - problem.raised_on).days
        problem.url = link(problem.project_id)
    causes, levels = _labels(SupervisionItem, "cause"), _labels(SupervisionItem, "level")
    for item in overdue_items:
        item.project = owners[item.project_id]
        item.cause_label, item.level_label = causes[item.cause], levels[item.level]
        item.url = settings.SITE_URL + reverse("supervision_item", args=[item.pk])
    contracted = []
    if _contracts(subscription):
        for project in (projects.filter(contracting_leader=user).select_related("city", "county").only(*LISTED_FIELDS)
                        .order_by(*PROJECT_ORDER)[:limit]):
            project.place = project.county.name if project.county else project.city.name if project.city else ""
            contracted.append(project_row(project))
    investment = investment_card_links(figures["investment"], params={}, year=year, absolute=settings.SITE_URL)
    return {
        "subscription": subscription,
        "user": user,
        "scope_name": _scope_name(subscription),
        "period": period,
        "digest_title": DIGEST_TITLES[period.frequency],
        "year": year,
        "time_progress": progress,
        "totals": totals,
        "stage_rows": stage_rows,
        "area_title": figures["area_title"],
        "area_rows": figures["areas"],
        "action_rows": figures["actions"],
        "red_projects": flagged["red"],
        "yellow_projects": flagged["yellow"],
        "overdue_projects": flagged["overdue"],
        "cycle_month": cycle_month,
        "report_cycle": figures["cycle"],
        "cycle_missing_url": settings.SITE_URL + reverse("project_list") + "?" + urlencode(
            {"report_status": "missing", "report_month": cycle_month.strftime("%Y-%m")}),
        "new_starts": events["new_starts"],
        "completions": events["completions"],
        "planned_starts": events["planned_starts"],
        "planned_completions": events["planned_completions"],
        "old_problems": old_problems,
        "problem_age": problem_age,
        "supervision": figures["supervision"],
        "overdue_items": overdue_items,
        "supervision_url": settings.SITE_URL + reverse("supervision"),
        "late_nodes": events["late_nodes"],
        "contracted_projects": contracted,
        "investment": investment,
        "has_investment": bool(investment["total"]["signed"] or investment["overdue"]),
        # The year-end forecast, in the monthly digest only (issue 28).
        "forecast": forecast_view(figures["forecast"]) if monthly else None,
        "list_limit": limit,
        "site_url": settings.SITE_URL,
    }


# The lists of projects by light or overdue report, each in PROJECT_ORDER, and what they show besides the name.
FLAGGED = {
    "red": rules.light_q(Light.RED),
    "yellow": rules.light_q(Light.YELLOW),
    "overdue": Q(report_overdue=True, stage__in=[Stage.NEW_START, Stage.CONTINUING]),
}
FLAGGED_FIELDS = ("planned_start", "signed_on", "completion_rate", "light_reason")


def _events(on, since):
    """The lists of what happened after `since` and what is due within 30 days of `on`, and the projects whose nodes
    are late on `on`."""
    soon = on + datetime.timedelta(days=30)
    return {
        "new_starts": Q(actual_start__gt=since, actual_start__lte=on),
        "completions": Q(actual_end__gt=since, actual_end__lte=on),
        "planned_starts": Q(actual_start__isnull=True, planned_start__gt=on, planned_start__lte=soon),
        "planned_completions": Q(actual_end__isnull=True, planned_end__gt=on, planned_end__lte=soon),
        "late_nodes": Q(lights.nodes_late_exists(on)),
    }


EVENT_FIELDS = ("actual_start", "actual_end", "planned_start", "planned_end")


def _first_of_each_region(key, projects, conditions, fields, *, user, limit):
    """{kind of `conditions`: the first `limit` of `projects` matching it, in PROJECT_ORDER, as rows of their pk,
    name, place and `fields`}. Read per region as the figures are: the first `limit` of each region in one query per
    kind (a window function), cached under `key` (what `projects` and `conditions` depend on besides the region's
    data) and the region's version; a scope's list is its regions' merged. In a run of every subscriber's digest the
    province's reads every region's once, and a county's or a city's then reads none: each list was a query of its
    own (the light's rules compiled in and evaluated: about 6 ms each of a county's 50), eight per digest."""
    def read(where):
        ranked = projects.filter(where).annotate(rank=Window(
            RowNumber(), partition_by=[F("city_id"), F("county_id")], order_by=[F(name).asc() for name in PROJECT_ORDER]))
        return {kind: list(ranked.filter(condition, rank__lte=limit).values(
            "pk", "name", "city_code", "county_code", "rank", "city", "county", *fields,
            place=Coalesce(F("county__name"), F("city__name"), Value("")))) for kind, condition in conditions.items()}

    slots = region_slots(user)
    if slots is None:  # a 包联 leader's projects lie anywhere
        rows = read(Q())
    else:
        pieces = cached_per_region(key, slots, lambda missing: split_by_slot(read(slots_q(missing, slots)), missing))
        rows = {kind: [row for piece in pieces.values() for row in piece[kind]] for kind in conditions}
    # Regions apart by their codes (digits: the same order in any collation); in a region, the database's order.
    return {kind: sorted(kind_rows, key=lambda row: (row["city_code"], row["county_code"], row["rank"]))[:limit]
            for kind, kind_rows in rows.items()}


def _contracts(subscription):
    """Whether the subscriber contracts (包联) any project: their digest then lists those. due_subscriptions reads it
    with the subscription."""
    if not hasattr(subscription, "contracts"):
        subscription.contracts = subscription.user.contracted_projects.exists()
    return subscription.contracts


def _labels(model, field):
    """{value: label} of a choice field, translated once (get_FOO_display translates every choice per call)."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def _narrowed_by(subscription):
    """(programmes, actions) a subscription is narrowed to, read once per subscription object, and not at all when
    due_subscriptions found it has none (most have none)."""
    if not hasattr(subscription, "narrowed_by"):
        if getattr(subscription, "narrowed", True):
            subscription.narrowed_by = (list(subscription.programmes.all()), list(subscription.actions.all()))
        else:
            subscription.narrowed_by = ([], [])
    return subscription.narrowed_by


def _narrowing(subscription):
    """The programmes and actions a subscription is narrowed to, as ids."""
    programmes, actions = _narrowed_by(subscription)
    return sorted(programme.pk for programme in programmes), sorted(action.pk for action in actions)


def _scope_name(subscription):
    user = subscription.user
    name = user.region.name if user.region_id else "全省"
    programmes, actions = _narrowed_by(subscription)
    narrowing = [p.name for p in programmes] + [a.name for a in actions]
    return f"{name}（{'、'.join(narrowing)}）" if narrowing else name


def digest_render(subscription, period, *, since=None, shared=True):
    """(subject, plain text, HTML) of a digest, in Chinese. Rendered once per distinct scope, narrowing,
    period and "since" over the same data, and shared by every recipient of that digest (the content
    names no recipient): a province's several subscribers cost one rendering. shared=False renders anew."""
    if not shared:
        return _render(subscription, period, since)
    key = "projects:digest:" + hashlib.sha256(repr((
        versions.scope_version(subscription.user),
        scope_key(subscription.user),
        # A 包联 leader's digest has a section of their own projects: theirs alone.
        subscription.user.pk if _contracts(subscription) else None,
        _narrowing(subscription),
        period, since,
    )).encode()).hexdigest()
    return tuple(cache.get_or_set(key, lambda: _render(subscription, period, since), timeout=DIGEST_RENDER_SECONDS))


DIGEST_RENDER_SECONDS = 3600


def _render(subscription, period, since):
    with translation.override(settings.LANGUAGE_CODE):
        context = digest_context(subscription, period, since=since)
        subject = delivery.one_line_subject(f"【重点项目{context['digest_title']}】{context['scope_name']} {period.label}")
        text = render_to_string("projects/digest.txt", context)
        html = render_to_string("projects/digest.html", context)
    return subject, text, html


# --- Dispatch and delivery (the guarantees are delivery.py's) -------------------------------------------


def due_subscriptions(frequency):
    """The subscriptions due a digest, with what their digests read: whether the subscriber contracts projects, and
    whether the subscription is narrowed (its programmes and actions are then read with it, _narrowed_by; prefetched
    for every subscription, they were half the cost of looking one up)."""
    through = DigestSubscription.programmes.through, DigestSubscription.actions.through
    return (
        DigestSubscription.objects.filter(frequency=frequency, is_active=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "user__region")
        .annotate(contracts=Exists(Project.objects.filter(contracting_leader=OuterRef("user"))),
                  narrowed=Exists(through[0].objects.filter(digestsubscription=OuterRef("pk")))
                  | Exists(through[1].objects.filter(digestsubscription=OuterRef("pk"))))
    )


def digests_dispatch(*, frequency, period, enqueue, only_missing=False):
    """Record a delivery of `period`'s digest for every due subscription and queue those not yet sent.
    With only_missing, only subscribers never recorded for the period (a scheduled run that did not
    happen). Returns the number queued."""
    subscriptions = list(due_subscriptions(frequency))
    if only_missing:
        recorded = set(
            DigestDelivery.objects.filter(kind=frequency, period_start=period.start).values_list("user_id", flat=True)
        )
        subscriptions = [s for s in subscriptions if s.user_id not in recorded]
    due = send_day(period)
    rows = [{"user": s.user, "kind": frequency, "period_start": period.start, "period_end": period.end, "due_on": due}
            for s in subscriptions]
    return delivery.deliveries_record(rows, enqueue=enqueue)


@delivery.renders_mail(MailKind.WEEKLY, MailKind.MONTHLY)
def delivery_render(record):
    """(subject, text, html) of a recorded digest delivery, or None when its subscription is gone."""
    subscription = due_subscriptions(record.kind).filter(user=record.user_id).first()
    if subscription is None:
        return None
    period = period_from_start(record.kind, record.period_start)
    previous = (
        DigestDelivery.objects.filter(user=record.user_id, kind=record.kind, status=DeliveryStatus.SENT,
                                      period_end__lt=period.start)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    content = digest_render(subscription, period, since=previous)
    attachment = bulletin_attachment(subscription.user, period) if record.kind == MailKind.MONTHLY else None
    return (*content, [attachment]) if attachment else content


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def bulletin_attachment(user, period):
    """(filename, bytes, mimetype) of the newest kept bulletin (调度通报, issue 28) of the user's scope for the
    month of `period`, for province and city-level users; None for a county, or when none was kept (the digest
    goes without it) or its file cannot be read. Read through the model and the "bulletins" storage: the
    bulletin capability sits above mail."""
    region = user.region
    if region is None and user.is_superuser:
        region = Region.objects.filter(level=RegionLevel.PROVINCE).first()
    if region is None or not (region.level == RegionLevel.PROVINCE or region.is_city_level):
        return None
    bulletin = (Bulletin.objects.filter(region=region, year=period.start.year, month=period.start.month)
                .order_by("-generated_at", "-pk").first())
    if bulletin is None:
        return None
    try:
        with storages["bulletins"].open(bulletin.file_name, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return bulletin.file_name.rsplit("/", 1)[-1], data, DOCX_TYPE


def digest_deliver(*, subscription, period, token=None, retry_failed=False):
    """Send one subscriber's digest of `period` unless it was sent (an operator's run, a test):
    records the delivery if need be and returns the delivery.Outcome."""
    record, _created = DigestDelivery.objects.get_or_create(
        user=subscription.user,
        kind=period.frequency,
        period_start=period.start,
        key="",
        defaults={"period_end": period.end, "recipient": subscription.user.email, "due_on": send_day(period)},
    )
    return delivery.delivery_send(delivery=record, token=token, retry_failed=retry_failed)


def subscriptions_set(*, user, frequencies, programmes, actions):
    """Make the user's subscriptions exactly `frequencies`, each narrowed to the given programmes/actions."""
    with transaction.atomic():
        DigestSubscription.objects.filter(user=user).exclude(frequency__in=frequencies).update(is_active=False)
        for frequency in frequencies:
            subscription, _created = DigestSubscription.objects.update_or_create(
                user=user, frequency=frequency, defaults={"is_active": True}
            )
            subscription.programmes.set(programmes)
            subscription.actions.set(actions)
