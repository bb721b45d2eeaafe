"""manage.py import_projects: a project list workbook in the provincial template, as an import batch."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.importing import import_projects
from projects.management.imports import importing_user, run_and_report


class Command(BaseCommand):
    help = "Import a provincial project list (xlsx or csv): all of it, or nothing when any row is wrong."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
        parser.add_argument("--user", help="import as this user: their region limits what the file may touch")
        parser.add_argument("--year", type=int, help="the year of the 年度计划投资 column (default: from the title, else this year)")

    def handle(self, *args, path, dry_run, user, year, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        run_and_report(
            self, import_projects,
            data=file.read_bytes(), filename=file.name, user=importing_user(user), year=year, dry_run=dry_run,
        )
