"""When and where each demo project was entered: its creation, its first history record and its coordinates
(issue 28).

A demo project was entered some weeks before it was planned to start (or lately, for one planned ahead);
its creation is written with its row, and at the end of the load each demo project and annual plan gets the
one history record its creation would have left (django-simple-history's "+"), set-based: the project page's
history then shows where the project started. Most projects (COORDINATES_SHARE) have coordinates: a point
drawn inside their county's boundary (their city's, for a city's own projects) by reference.boundaries; a unit
without a shape (a development zone) gives none. Drawn from a random stream of its own (seeded from the demo's
seed), so the rest of the demo draws what it always drew.
"""

import datetime
import random
from decimal import Decimal

from projects.models import AnnualPlan, Project
from projects.reference import boundaries
from projects.reference.bulk import first_history_write
from projects.reference.demo_words import HISTORY_REASON

# The project row's columns this module fills (after the investment pipeline's, before the judged ones).
RECORD_COLUMNS = ("created_at", "latitude", "longitude")
COORDINATES_SHARE = 0.92
CST = datetime.timezone(datetime.timedelta(hours=8))


class Records:
    """Draws each demo project's creation, in the projects' order."""

    def __init__(self, seed, on):
        self.rng = random.Random(f"records-{seed}")
        self.on = on

    def build(self, project):
        """The project's RECORD_COLUMNS."""
        rng = self.rng
        point = _point_in(project.place.code, rng) if rng.random() < COORDINATES_SHARE else None
        entered = min(project.planned_start - datetime.timedelta(days=rng.randint(20, 120)),
                      self.on - datetime.timedelta(days=rng.randint(3, 40)))
        at = datetime.datetime.combine(entered, datetime.time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=CST)
        if point is None:
            return (at, None, None)
        return (at, Decimal(str(point[1])), Decimal(str(point[0])))


def _point_in(code, rng, tries=5):
    """A point inside the region, about 80 µs; checked again as rounded to the columns' six places (a point
    drawn a hair inside a border may round onto its other side)."""
    for _attempt in range(tries):
        point = boundaries.random_point_in(code, rng)
        if point is None or boundaries.contains(code, *point):
            return point
    return None


def first_history(projects):
    """One "+" history record for each of `projects` and their annual plans, dated at the project's
    creation, by no user (the seeder)."""
    first_history_write(Project, projects, date_sql="created_at", reason=HISTORY_REASON)
    project_table, plan_table = Project._meta.db_table, AnnualPlan._meta.db_table
    created = f"(SELECT p.created_at FROM {project_table} p WHERE p.id = {plan_table}.project_id)"
    first_history_write(AnnualPlan, AnnualPlan.objects.filter(project__in=projects.values("pk")), date_sql=created,
                        reason=HISTORY_REASON)
