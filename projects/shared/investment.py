"""The investment-promotion card (招商引资, issue 25) of a scope: the items signed in a year, how many of them
registered (履约率), started (开工率) and are in production, the funds in place against their contract
amounts (资金到位率), by where the investors come from; and the items signed long ago that are still not
registered. What a city's 招商 office is judged on, read by the dashboard and the digests alike.

Read as rows grouped by area (city, county), so that the dashboard keeps them per region with its other
sums (summaries.dashboard_summary) and merges them by concatenation; `investment_card` folds them."""

from decimal import Decimal

from django.db.models import Count, F, Sum

from projects.domain import rules
from projects.domain.choices import InvestmentStage, InvestorSource
from projects.domain.investment import REGISTERED_OR_LATER, STARTED_OR_LATER, registration_overdue_q
from projects.models import AnnualPlan
from projects.shared.pieces import part_values
from projects.shared.scopes import list_link

AREA = ("city", "county")


def investment_rows(projects, *, year, on, by_part=None):
    """The card's sums of `projects` (a scope, filtered) for items signed in `year`, judged on `on`: rows
    grouped by area (and their project's part, `by_part`: pieces.Parts) and, for the signed items, by
    investor source and stage."""
    signed = projects.filter(signed_on__year=year)
    part = part_values(by_part)
    return {
        "signed": list(
            signed.order_by().values(*AREA, "investor_source", "investment_stage", **part)
            .annotate(count=Count("pk"), contract=Sum("contract_amount"))
        ),
        # Funds in place of every year (the counted reports', editing.progress_refresh), not only `year`'s:
        # money arrives after the signing year too.
        "funds": list(
            AnnualPlan.objects.filter(project__in=signed.values("pk")).order_by()
            .values(city=F("project__city_id"), county=F("project__county_id"), investor_source=F("project__investor_source"),
                    **part_values(by_part, "project__"))
            .annotate(funds=Sum("funds_in_place"))
        ),
        "overdue": list(projects.filter(registration_overdue_q(on)).order_by().values(*AREA, **part).annotate(count=Count("pk"))),
    }


def _empty(source, label):
    return {"source": source, "label": label, "signed": 0, "registered": 0, "started": 0, "in_production": 0,
            "terminated": 0, "contract": Decimal(0), "funds": Decimal(0)}


def _with_rates(row):
    row["registered_rate"] = rules.completion_rate(completed=Decimal(row["registered"]), planned=Decimal(row["signed"]))
    row["started_rate"] = rules.completion_rate(completed=Decimal(row["started"]), planned=Decimal(row["signed"]))
    row["funds_rate"] = rules.completion_rate(completed=row["funds"], planned=row["contract"])
    return row


def investment_card(rows):
    """The card from investment_rows' rows (or several scopes' concatenated): totals and one row per
    investor source (京津, 省内, 省外, 境外, then 未填), each with 履约率, 开工率 and 资金到位率 (None
    where there is nothing to divide by); and the count of items overdue for registration."""
    labels = dict(InvestorSource.choices)
    by_source = {source: _empty(source, label) for source, label in InvestorSource.choices}
    by_source[""] = _empty("", None)
    for row in rows["signed"]:
        target = by_source.get(row["investor_source"] or "", by_source[""])
        stage = row["investment_stage"]
        target["signed"] += row["count"]
        target["contract"] += row["contract"] or Decimal(0)
        target["registered"] += row["count"] if stage in REGISTERED_OR_LATER else 0
        target["started"] += row["count"] if stage in STARTED_OR_LATER else 0
        target["in_production"] += row["count"] if stage == InvestmentStage.IN_PRODUCTION else 0
        target["terminated"] += row["count"] if stage == InvestmentStage.TERMINATED else 0
    for row in rows["funds"]:
        by_source.get(row["investor_source"] or "", by_source[""])["funds"] += row["funds"] or Decimal(0)
    total = _empty(None, None)
    for row in by_source.values():
        for key in ("signed", "registered", "started", "in_production", "terminated", "contract", "funds"):
            total[key] += row[key]
    sources = [_with_rates(row) for source, row in by_source.items() if row["signed"] or source in labels]
    return {
        "total": _with_rates(total),
        "sources": sources,
        "overdue": sum(row["count"] for row in rows["overdue"]),
    }


def investment_card_links(card, *, params, year, absolute=""):
    """The card with each figure's link to exactly its projects (the list with `params` and the figure's
    filters; `absolute`, the site's address, before each for a mail): signed in `year` (and of a source),
    reached registration or the start, in production, terminated; the items overdue for registration."""
    def link(**extra):
        return absolute + list_link(params, **extra)

    def links(source=None):
        signed = {"signed_year": year, "investor_source": source}
        return {
            "signed": link(**signed),
            "registered": link(**signed, investment_reached=InvestmentStage.REGISTERED.value),
            "started": link(**signed, investment_reached=InvestmentStage.STARTED.value),
            "in_production": link(**signed, investment_stage=InvestmentStage.IN_PRODUCTION.value),
            "terminated": link(**signed, investment_stage=InvestmentStage.TERMINATED.value),
        }

    # A row of investors of no known source has no filter of its own: its figures are shown unlinked.
    sources = [{**row, "links": links(row["source"]) if row["source"] else None} for row in card["sources"]]
    return {**card, "links": links(), "sources": sources, "overdue_link": link(registration_overdue="true")}
