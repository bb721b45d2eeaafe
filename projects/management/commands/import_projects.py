import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.importing import ImportFileError, import_projects, terminal_progress
from projects.models import User


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
        importer = None
        if user:
            importer = User.objects.filter(username=user, is_active=True).first()
            if importer is None:
                raise CommandError(f"--user: no active user “{user}”")
        try:
            result = import_projects(
                file.read_bytes(), file.name, user=importer, year=year, dry_run=dry_run,
                progress=terminal_progress(self.stderr),
            )
        except ImportFileError as error:
            self.stdout.write("created 0, updated 0, unchanged 0, skipped 0, errors 1")
            self.stdout.write(f"file: {error}")
            sys.exit(1)
        if self.stderr.isatty():
            self.stderr.write("")  # end the progress bar's line
        self.stdout.write(result.summary)
        for error in result.errors:
            self.stdout.write(str(error))
        if result.errors:
            sys.exit(1)
