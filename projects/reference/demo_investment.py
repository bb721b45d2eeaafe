"""The demo's investment-promotion pipeline (招商引资, issue 25): for the demo projects in the 招商引资
programme, an investor from 京津, the province, elsewhere in China or abroad, a signing across the last three
years at one of the province's signing events, a contract amount, and the lifecycle's dates in step with the
project's own (registered before it started, in production when it was completed); some signed long ago and
never registered (behind: a yellow light), a few terminated. Funds in place are reported monthly by the
registered ones.

Its draws come from a random stream of its own (seeded from the demo's seed), so that the rest of the demo
draws what it always drew, and a --seed still gives the same rows on every run.
"""

import datetime
import random
from decimal import Decimal

from django.conf import settings

from projects.domain.choices import InvestorSource, Stage
from projects.domain.investment import investment_stage, months_before
from projects.reference.demo_words import INVESTOR_PLACES, INVESTOR_STEMS, INVESTOR_SUFFIXES, SIGNING_EVENTS

# The project row's columns this module fills (after the demo's own, before the judged ones).
INVESTMENT_COLUMNS = ("investor", "investor_region", "investor_source", "signed_on", "signing_event", "contract_amount",
                      "registered_on", "production_on", "terminated_on")
NOT_AN_ITEM = ("", "", "", None, "", None, None, None, None)
SOURCES = [source.value for source in InvestorSource]
SOURCE_WEIGHTS = [40, 20, 30, 10]  # the province courts Beijing and Tianjin above all
CENT = Decimal("0.01")


class Pipeline:
    """Draws the lifecycle of each demo project in the 招商引资 programme, in the projects' order."""

    def __init__(self, seed, on):
        self.rng = random.Random(f"investment-pipeline-{seed}")
        self.on = on
        self.months = settings.INVESTMENT_REGISTER_WITHIN_MONTHS

    def build(self, project):
        """The project's INVESTMENT_COLUMNS; sets project.investment_stage, signed_on and funds_share."""
        project.investment_stage, project.signed_on, project.funds_share = "", None, None
        if "investment-promotion" not in project.programmes:
            return NOT_AN_ITEM
        rng, on = self.rng, self.on
        source = rng.choices(SOURCES, weights=SOURCE_WEIGHTS)[0]
        region = rng.choice(INVESTOR_PLACES[source])
        investor = f"{rng.choice(INVESTOR_STEMS)}{rng.choice(INVESTOR_SUFFIXES)}"
        contract = (project.total_investment * Decimal(rng.uniform(0.8, 1.2))).quantize(CENT)
        event = rng.choice(SIGNING_EVENTS) if rng.random() < 0.8 else ""
        registered = production = terminated = None
        if project.actual_start is not None:
            # Started: signed some months before, registered between the two.
            signed = min(project.actual_start - datetime.timedelta(days=rng.randint(60, 420)), on)
            registered = signed + (project.actual_start - signed) * rng.uniform(0.2, 0.8)
            if project.stage == Stage.COMPLETED:
                production = project.actual_end
        else:
            signed = on - datetime.timedelta(days=rng.randint(5, 3 * 365))
            if rng.random() < (0.7 if signed < months_before(on, self.months) else 0.35):
                registered = min(signed + datetime.timedelta(days=rng.randint(20, 170)), on)
            elif signed < months_before(on, 12) and rng.random() < 0.15:
                terminated = min(signed + datetime.timedelta(days=rng.randint(200, 500)), on)
        project.signed_on = signed
        project.investment_stage = investment_stage(signed_on=signed, registered_on=registered,
                                                    started_on=project.actual_start, production_on=production,
                                                    terminated_on=terminated)
        project.funds_share = Decimal(rng.uniform(0.5, 1.0)) if registered else None
        return (investor, region, source, signed, event, contract, registered, production, terminated)

    def with_funds(self, project, reports):
        """The project's report rows with their funds in place last: a share of the month's completed
        investment for a registered item, none for the others."""
        share = project.funds_share
        return [(*row, None if share is None else (row[2] * share).quantize(CENT)) for row in reports]
