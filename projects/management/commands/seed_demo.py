"""manage.py seed_demo: demo projects, reports, problems and users over the real divisions."""

import time

from django.core.management.base import BaseCommand, CommandError

from projects.models import Project
from projects.reference.demo import demo_seed

DEFAULT_PASSWORD = "hebei-demo-2026"


class Command(BaseCommand):
    help = "Create realistic demo projects across all regions, programmes and actions, and one demo user per role."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=500, help="number of demo projects (default 500)")
        parser.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password for the demo users")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the database already has projects")

    def handle(self, *args, projects, seed, password, if_empty, **options):
        if projects < 0:
            raise CommandError("--projects must be zero or more")
        if if_empty and Project.objects.exists():
            self.stdout.write("projects exist already: no demo data added")
            return
        started = time.monotonic()
        totals = demo_seed(projects=projects, seed=seed, password=password)
        self.stdout.write(
            f"created {totals['projects']} projects, {totals['plans']} annual plans, "
            f"{totals['reports']} monthly reports, {totals['problems']} problems, "
            f"{totals['supervision']} supervision items in {time.monotonic() - started:.1f}s"
        )
        self.stdout.write("demo users (password: %s):" % password)
        for username, role, display in totals["users"]:
            self.stdout.write(f"  {username:<14} {role}  {display}")
