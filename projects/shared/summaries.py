"""Reads over a scope of projects annotated by lights.annotate_progress: totals and breakdowns, each one query.

The dashboard, the eight-actions page and the digests all summarise through these, so a figure means the
same thing wherever it is shown."""

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, FilteredRelation, Q, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from projects.domain import rules
from projects.domain.access import scope_key
from projects.domain.choices import COUNTED_REVIEW_STATUSES, Light, LightReason, RegionLevel, ReviewStatus, Stage
from projects.models import SupervisionItem, User
from projects.models.supervision import awaiting_signoff_q, extension_asked_q, overdue_q
from projects.shared import forecast, lights, trends
from projects.shared.investment import investment_card, investment_rows
from projects.shared.labels import catalogue_labels, localized
from projects.shared.pieces import cached_per_group, fold_pieces, part_values, read_pieces, region_slots
from projects.shared.scopes import action_plans, active_params, scope_filterset
from projects.shared.versions import cached_summary

LIGHTS = (Light.RED, Light.YELLOW, Light.GREEN, Light.NONE)
# As plain strings, and each reason's light as one: _add runs thousands of times when a province's pieces are merged,
# and reading an enum member's value is an attribute lookup through a descriptor (a tenth of a cold dashboard).
LIGHT_VALUES = tuple(light.value for light in LIGHTS)
LIGHT_VALUE_OF_REASON = {reason.value: rules.light_of(reason).value for reason in LightReason}


MONEY_KEYS = ("total_investment", "plan", "completed")
# What supervision_measures counts of the 督办 items.
SUPERVISION_MEASURES = ("open", "overdue", "signoff", "extension")


def _grouped(projects, keys, **expressions):
    """Sums per `keys` (and `expressions`) and per light reason: the light's SQL is evaluated once a row
    (grouping by it), not once per counted light."""
    return (
        projects.order_by()
        .values(*keys, "light_reason", **expressions)
        .annotate(
            count=Count("pk"),
            total_investment=Sum("total_investment"),
            plan=Sum("plan_investment"),
            completed=Sum("completed_year"),
        )
    )


def _empty_row():
    return {"count": 0, **{key: None for key in MONEY_KEYS}, **{light: 0 for light in LIGHT_VALUES}}


def _add(total, row):
    """Add a grouped row (by light reason) or a folded one (_folded: a count per light) to `total`."""
    total["count"] += row["count"]
    for key in MONEY_KEYS:
        if row[key] is not None:
            total[key] = (total[key] or Decimal(0)) + row[key]
    if "light_reason" in row:
        total[LIGHT_VALUE_OF_REASON[row["light_reason"]]] += row["count"]
    else:
        for light in LIGHT_VALUES:
            total[light] += row[light]


def _folded(rows, keys, *, summed=()):
    """Rows summed over their light reasons: one per value of `keys`, with a count per light (and the
    `summed` columns added up); _add reads them as it reads grouped rows."""
    folded = {}
    for row in rows:
        key = tuple(row[name] for name in keys)
        total = folded.get(key)
        if total is None:
            total = folded[key] = {**{name: row[name] for name in keys}, **_empty_row(), **dict.fromkeys(summed, 0)}
        _add(total, row)
        for name in summed:
            total[name] += row[name]
    return list(folded.values())


def with_rate(row, progress):
    """Add the completion rate and its lag behind time progress to an aggregate row."""
    row["rate"] = rules.completion_rate(completed=row.get("completed") or Decimal(0), planned=row.get("plan") or Decimal(0))
    row["lag"] = None if row["rate"] is None else progress - row["rate"]
    # Behind by more than the province's yellow threshold: shown in red in tables.
    row["behind"] = row["lag"] is not None and row["lag"] > rules.Thresholds.default().yellow_lag
    return row


def scope_totals(projects, *, progress):
    """Totals of a scope: counts, money, lights and stages, in one query."""
    return _totals_of(_grouped(projects, ["stage"]), progress=progress)


def _totals_of(rows, *, progress):
    """The scope's totals from rows grouped by (at least) stage and light reason."""
    total = _empty_row()
    stages = dict.fromkeys(Stage.values, 0)
    for row in rows:
        _add(total, row)
        stages[row["stage"]] += row["count"]
    total["stages"] = [(value, label, stages[value]) for value, label in Stage.choices]
    return with_rate(total, progress)


def breakdown(projects, *, by, progress, label_field, order_field=None):
    """One row per value of `by` (e.g. "city", "county", "actions", "programmes") with the scope measures,
    in one query. For a many-to-many `by`, a project counts once under each of its values."""
    order_field = order_field or label_field
    rows = _grouped(projects, [by, order_field], row_label=localized(label_field))
    return _breakdown_of(rows, by=by, head=lambda row: (row["row_label"], row[order_field]), progress=progress)


def _breakdown_of(rows, *, by, head, progress):
    """One row per value of `by` from grouped rows; head(row) is a new value's (label, order)."""
    folded = {}
    for row in rows:
        key = row[by]
        if key not in folded:
            label, order = head(row)
            folded[key] = {**_empty_row(), "key": key, "label": label, "order": order}
        _add(folded[key], row)
    ordered = sorted(folded.values(), key=lambda row: (row["order"] is None, row["order"] if row["order"] is not None else 0))
    return [with_rate(row, progress) for row in ordered]


def _area_of(user):
    """The field a user's scope is read by and its title: city for the province, county for a city-level
    unit, none (None, None) for a county."""
    region = user.region
    if user.is_superuser or region is None or region.level == RegionLevel.PROVINCE:
        return "city", _("分市情况")
    if region.is_city_level and region.level != RegionLevel.COUNTY:
        return "county", _("分县情况")
    return None, None


def _areas_of(rows, *, field, user, progress):
    """The area breakdown from rows grouped by (at least) `field` and light reason. The regions' names and
    codes are read apart (a handful of rows): grouped by along with the id, they made PostgreSQL expect a
    group per project, then sort 100,000 rows on disk instead of hashing a hundred groups."""
    regions = catalogue_labels()["regions"]
    areas = _breakdown_of(rows, by=field, head=lambda row: regions.get(row[field], (None, None)), progress=progress)
    for row in areas:
        row["field"] = field
        row["label"] = row["label"] or _("%(unit)s本级") % {"unit": user.region}
    return areas


def area_breakdown(projects, *, user, progress):
    """The breakdown a user's scope is read by: by city for the province, by county for a city-level
    unit, none for a county. Returns (title, rows); the unit's own projects (no county) show as
    "<unit>本级" (石家庄市本级, 雄安新区本级)."""
    field, title = _area_of(user)
    if field is None:
        return None, []
    return str(title), _areas_of(_grouped(projects, [field]), field=field, user=user, progress=progress)


def scope_summary(projects, *, user, month, progress):
    """scope_totals, area_breakdown and report_cycle (for `month`) of a scope in one pass over its projects
    instead of three (the digests'): rows grouped by area, stage, light reason and the month's report
    status. Returns {"totals", "area_title", "areas", "cycle"}."""
    field, title = _area_of(user)
    rows = _summary_rows(projects, [field] if field else [], month)
    return {
        "totals": _totals_of(rows, progress=progress),
        "area_title": str(title) if field else None,
        "areas": _areas_of(rows, field=field, user=user, progress=progress) if field else [],
        "cycle": _cycle_of(rows),
    }


def _summary_rows(projects, keys, month, **expressions):
    """Rows grouped by `keys` (and `expressions`), stage, light reason and the report status for `month`, with the
    count of projects owing that report: what totals, areas and the report cycle are folded from."""
    return list(
        _grouped(_with_month_report(projects, month), [*keys, "stage"], report_status=F("month_report__review_status"),
                 **expressions)
        .annotate(owing=Count("pk", filter=rules.owes_report_q(month)))
    )


def report_cycle(projects, *, month):
    """How the scope's reports for `month` stand (月度调度): submitted, approved and returned reports, and
    projects missing one (they owe it and have none that counts), in one query. Each count is what the
    project list shows for ?report_status=<key>&report_month=<month>."""
    owes = rules.owes_report_q(month)
    rows = (
        _with_month_report(projects, month)
        .values(report_status=F("month_report__review_status"))
        .annotate(count=Count("pk"), owing=Count("pk", filter=owes))
    )
    return _cycle_of(rows)


def _with_month_report(projects, month):
    """`projects` with their report for `month` joined as month_report (one at most per project:
    projects_report_unique_month). Joined and grouped in one pass, not looked up per project: a correlated
    lookup per row also sorted by the reports' default order (a join to the projects), 2-3 s over the
    province's 100,000 (issue 24)."""
    return projects.order_by().annotate(month_report=FilteredRelation("reports", condition=Q(reports__month=month)))


def _cycle_of(rows):
    """report_cycle's counts from rows grouped by (at least) report_status, with count and owing."""
    cycle = dict.fromkeys(REPORT_CYCLE_KEYS, 0)
    for row in rows:
        if row["report_status"] in (ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.RETURNED):
            cycle[row["report_status"]] += row["count"]
        if row["report_status"] not in COUNTED_REVIEW_STATUSES:
            cycle["missing"] += row["owing"]
    return cycle


# The keys of report_cycle, in the order they are shown.
REPORT_CYCLE_KEYS = (ReviewStatus.SUBMITTED.value, ReviewStatus.APPROVED.value, ReviewStatus.RETURNED.value, "missing")


def dashboard_summary(projects, *, user, year, on, plan, params):
    """Everything the dashboard (page and API) sums for a scope: totals, the area breakdown, actions of
    `plan`, programmes, the monthly trend, the month's report cycle, late nodes and supervision. Cached
    under the data versions; `params` (the filters applied to `projects`) and the user's scope name the
    cache entry.

    Summed per region and merged (region_pieces): a county's report makes its county's piece cold, and
    the province's dashboard is then that one county's sums plus the other pieces, cached, not a pass over
    every project of the province (issue 24)."""
    progress = rules.time_progress(year=year, on=on)
    month = rules.reporting_month(on)

    def summarise():
        rows = merged_rows(projects, user=user, parts=PIECE_PARTS, key=("dashboard", sorted(params.items())),
                           area=_area_of(user)[0], plan=plan, year=year, on=on, month=month)
        return _figures_of(rows, user=user, plan=plan, progress=progress, year=year, on=on)

    return cached_summary(
        ("dashboard", scope_key(user), sorted(params.items()), on, plan.pk if plan else None, translation.get_language()),
        summarise,
        user=user,
        stale=True,  # while one request sums anew after a write, the others show the figures of seconds ago
    )


def dashboard_warm():
    """Sum the province's default dashboard (this year, the primary plan, no filter) into the cache, as its
    first reader would. The night's jobs (the lights judged, the supervision run) move every version; run
    after them, the morning's first reader does not wait for the province's sums, and a city's dashboard merges
    the pieces they left (pieces are per region, shared by every scope). Returns whether there was a reader."""
    reader = (User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(region__level=RegionLevel.PROVINCE))
              .order_by("-is_superuser", "pk").first())
    if reader is None:
        return False
    filterset, year = scope_filterset(reader, {})
    if not filterset.is_valid():
        return False
    _plans, plan = action_plans()
    with translation.override(settings.LANGUAGE_CODE):
        dashboard_summary(filterset.qs, user=reader, year=year, on=rules.today(), plan=plan, params=active_params(filterset))
    return True


def merged_rows(projects, *, user, parts, key, area, plan, year, on, month):
    """{part: rows grouped by `area` ("city", "county" or None: what the figures read them by)} of `parts`
    (PIECE_PARTS) over `projects`, `user`'s scope filtered as `key` names it: summed per region and merged, each
    region's piece cached under its own version and folded with its neighbours' (pieces.cached_per_group), so that
    a county's write makes only its piece and its group cold; summed at once for a scope that is not a region's (a
    包联 leader's projects lie anywhere)."""
    slots = region_slots(user, split=True)
    if slots is None:
        return _dashboard_rows(projects, parts=parts, plan=plan, year=year, on=on, month=month)
    groups = cached_per_group(
        (*key, parts, on, year, month, plan.pk if plan else None), slots,
        lambda missing: _pieces_of(projects, parts=parts, slots=slots, missing=missing, plan=plan, year=year, on=on,
                                   month=month),
        lambda pieces: fold_pieces(pieces, summed=PIECE_SUMMED, area=area), folded_as=area)
    return {part: [row for group in groups for row in group[part]] for part in parts}


def _pieces_of(projects, *, parts, slots, missing, plan, year, on, month):
    """{slot: its rows} for the `missing` slots, each part read in one query over all of them (pieces.read_pieces: and
    one more over the missing parts of regions kept in parts, unless every slot is missing)."""
    pieces = read_pieces(lambda where, by_part: _dashboard_rows(projects.filter(where), parts=parts, plan=plan, year=year,
                                                                on=on, month=month, by_part=by_part), missing, slots)
    # Kept folded over light reasons: a fifth of the rows to merge for each of the province's 200 pieces.
    folds = {"summary": [*AREA, "stage", "report_status"], "actions": [*AREA, "actions"], "programmes": [*AREA, "programmes"]}
    for piece in pieces.values():
        for part in folds.keys() & piece.keys():
            piece[part] = _folded(piece[part], folds[part], summed=["owing"] if part == "summary" else ())
    return pieces


# The investment card's rows (shared.investment) as parts of the dashboard's.
INVESTMENT_ROWS = ("signed", "funds", "overdue")
INVESTMENT_PARTS = tuple(f"investment_{name}" for name in INVESTMENT_ROWS)
# The parts of the dashboard's rows, each grouped by (at least) city and county so that they split into
# pieces per region and merge back by concatenation.
PIECE_PARTS = ("summary", "actions", "programmes", "series", "trend_months", "nodes_late", "supervision",
               *INVESTMENT_PARTS)
AREA = ("city", "county")
# What the parts' rows sum; the rest of a row's fields are what it is grouped by (pieces.fold_pieces).
PIECE_SUMMED = frozenset({
    "count", *MONEY_KEYS, *LIGHT_VALUES, "owing",  # summary, actions, programmes, investment_overdue, nodes_late
    "total",  # series
    *trends.SUMMED,  # trend_months
    *SUPERVISION_MEASURES,  # supervision
    "contract", "funds",  # investment_signed, investment_funds
})


def _dashboard_rows(projects, *, parts=PIECE_PARTS, plan, year, on, month, by_part=None):
    """The dashboard's sums of `projects` (those of `parts`), as rows grouped by city and county (and the part's
    keys; and by their project's part, `by_part`: pieces.Parts)."""
    rows = {}
    part, projects_part = part_values(by_part), part_values(by_part, "project__")
    if INVESTMENT_PARTS[0] in parts:
        investment = investment_rows(projects, year=year, on=on, by_part=by_part)
        rows.update({part: investment[name] for part, name in zip(INVESTMENT_PARTS, INVESTMENT_ROWS)})
    # Totals, areas and the report cycle in one pass; the late nodes apart: as an aggregate's filter
    # EXISTS is costed per row, which would lift the pass past PostgreSQL's JIT threshold (a second lost
    # compiling it); as a filter it is a hashed semi-join.
    if "summary" in parts:
        rows["summary"] = _summary_rows(projects, AREA, month, **part)
    if "actions" in parts:
        # By the plan's action ids, not a join to the plan: with the small reference tables unanalysed (autovacuum
        # never reaches them), PostgreSQL took the plan for one action and read every project's actions (0.2-0.4 s
        # for one county's piece at 100,000 projects; 10-40 ms by ids).
        rows["actions"] = list(_grouped(projects.filter(actions__in=list(_plan_actions(plan))), [*AREA, "actions"],
                                        **part)) if plan else []
    if "programmes" in parts:
        rows["programmes"] = list(_grouped(projects, [*AREA, "programmes"], **part))
    if "series" in parts:
        # This year's and last year's counted reports by month: the monthly trend and the year-end forecast.
        rows["series"] = forecast.series_rows(projects, year=year, by_part=by_part)
    if "trend_months" in parts:
        # 环比/同比: the figures of the latest due month, the month before and the same month last year.
        rows["trend_months"] = trends.trend_rows(projects, on=on, series=rows.get("series"), series_years=(year - 1, year),
                                                 by_part=by_part)
    if "nodes_late" in parts:
        rows["nodes_late"] = list(projects.filter(lights.nodes_late_exists(on)).order_by().values(*AREA, **part)
                                  .annotate(count=Count("pk")))
    if "supervision" in parts:
        rows["supervision"] = list(
            SupervisionItem.objects.open().filter(project__in=projects.values("pk")).order_by()
            .values(city=F("project__city_id"), county=F("project__county_id"), **projects_part)
            .annotate(**supervision_measures(on))
        )
    return rows


def _figures_of(rows, *, user, plan, progress, year, on):
    """The figures its parts give from rows (_dashboard_rows', or the pieces' merged): the dashboard's, or the
    digests' fewer."""
    figures = {}
    if "summary" in rows:
        field, title = _area_of(user)
        summary = rows["summary"]
        figures.update({
            "totals": _totals_of(summary, progress=progress),
            "area_title": str(title) if field else None,
            "areas": _areas_of(summary, field=field, user=user, progress=progress) if field else [],
            "cycle": _cycle_of(summary),
        })
    if "actions" in rows:
        heads = _head_of(_plan_actions(plan), "actions")
        figures["actions"] = _breakdown_of(rows["actions"], by="actions", head=heads, progress=progress)
    if "programmes" in rows:
        heads = _head_of(catalogue_labels()["programmes"], "programmes")
        figures["programmes"] = _breakdown_of(rows["programmes"], by="programmes", head=heads, progress=progress)
    if "series" in rows:
        figures["trend"] = _cumulative(rows["series"], year=year)
        figures["forecast"] = forecast.forecast_of_rows(rows["series"], plan=figures["totals"]["plan"], year=year, on=on)
    if "trend_months" in rows:
        figures["trend_months"] = trends.trend_of_rows(rows["trend_months"], on=on)
    if "nodes_late" in rows:
        figures["nodes_late"] = sum(row["count"] for row in rows["nodes_late"])
    if "supervision" in rows:
        figures["supervision"] = {key: sum(row[key] for row in rows["supervision"])
                                  for key in SUPERVISION_MEASURES}
    if INVESTMENT_PARTS[0] in rows:
        figures["investment"] = investment_card({name: rows[part] for part, name in zip(INVESTMENT_PARTS, INVESTMENT_ROWS)})
    return figures


def _cumulative(series, *, year):
    """The monthly trend of `year` from series rows: each month's completed investment and the running total."""
    trend = {}
    for row in series:
        if row["month"].year == year:
            trend[row["month"]] = trend.get(row["month"], Decimal(0)) + row["total"]
    running = Decimal(0)
    cumulative = []
    for month in sorted(trend):
        running += trend[month]
        cumulative.append({"month": month, "completed": trend[month], "cumulative": running})
    return cumulative


def unit_breakdown(projects, *, user, field, params, year, on):
    """The breakdown of `projects` (user's scope, filtered as `params` name them) by `field` ("city" or "county"):
    the area rows the dashboard folds, summed per region and merged as its figures are, so that after a county's
    write the map re-sums that county alone (it summed the province: 0.2 s at 100,000 projects)."""
    rows = merged_rows(projects, user=user, parts=("summary",), key=("units", sorted(params.items())), area=field,
                       plan=None, year=year, on=on, month=rules.reporting_month(on))
    return _areas_of(rows["summary"], field=field, user=user, progress=rules.time_progress(year=year, on=on))


# What a digest sums; a monthly one forecasts the year's end too (its series).
DIGEST_PARTS = ("summary", "actions", "supervision", *INVESTMENT_PARTS)


def digest_figures(projects, *, user, narrowing, plan, year, on, month, monthly):
    """A digest's figures of `projects` (user's scope, narrowed as `narrowing` names it, annotated by
    lights.annotate_progress at `on`): totals, areas and the report cycle of `month`, the actions of `plan`,
    supervision, the investment card and, when `monthly`, the year-end forecast. Summed per region as the
    dashboard's are: in a run of every subscriber's digest the province's first one sums each region once, and
    a city's or a county's then merges the pieces it left."""
    parts = (*DIGEST_PARTS, "series") if monthly else DIGEST_PARTS
    rows = merged_rows(projects, user=user, parts=parts, key=("digest-figures", narrowing), area=_area_of(user)[0],
                       plan=plan, year=year, on=on, month=month)
    return _figures_of(rows, user=user, plan=plan, progress=rules.time_progress(year=year, on=on), year=year, on=on)


def _plan_actions(plan):
    """{pk: (label, number)} of the actions of `plan` (none without one), from catalogue_labels."""
    actions = catalogue_labels()["actions"]
    return {pk: (label, number) for pk, (label, number, plan_pk) in actions.items() if plan and plan_pk == plan.pk}


def _head_of(known, by):
    """head(row) for _breakdown_of: the (label, order) of the row's action or programme among `known` ({pk: (label,
    order)}, catalogue_labels'); a row of none (a project without a programme) has none."""
    return lambda row: known.get(row[by], (None, None))


def supervision_measures(on):
    """What the dashboard and the digests count of supervision items: open, overdue on `on`, awaiting
    sign-off (销号) and with an extension request awaiting a decision (issue 27)."""
    return {
        "open": Count("pk"),
        "overdue": Count("pk", filter=overdue_q(on)),
        "signoff": Count("pk", filter=awaiting_signoff_q()),
        "extension": Count("pk", filter=extension_asked_q()),
    }


def supervision_counts(projects, *, on):
    """supervision_measures of the open items of `projects` (a project queryset, scoped and filtered)."""
    return SupervisionItem.objects.open().filter(project__in=projects.values("pk")).aggregate(**supervision_measures(on))
