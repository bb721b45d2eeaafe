import datetime
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.importing import ImportFileError, import_progress, terminal_progress
from projects.models import User


class Command(BaseCommand):
    help = "Import a monthly progress workbook (项目代码 or 项目名称 + 县, 本月完成投资, 形象进度, 存在问题): all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--month", required=True, help="the month reported, YYYY-MM")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--user", help="report as this user: only their projects may be named")

    def handle(self, *args, path, month, dry_run, user, **options):
        try:
            month = datetime.date.fromisoformat(f"{month}-01")
        except ValueError:
            raise CommandError(f"--month: “{month}” is not YYYY-MM") from None
        importer = None
        if user:
            importer = User.objects.filter(username=user, is_active=True).first()
            if importer is None:
                raise CommandError(f"--user: no active user “{user}”")
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            result = import_progress(
                file.read_bytes(), file.name, user=importer, month=month, dry_run=dry_run,
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
