"""manage.py import_progress: a monthly progress workbook, through the same checks as the report page."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.importing import import_progress
from projects.management.imports import importing_user, run_and_report


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
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        run_and_report(
            self, import_progress,
            data=file.read_bytes(), filename=file.name, user=importing_user(user), month=month, dry_run=dry_run,
        )
