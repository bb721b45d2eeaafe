"""manage.py supervise: the daily supervision run (open, escalate, close 督办 items) for a day."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from projects import tasks
from projects.supervision import services as supervision


class Command(BaseCommand):
    help = (
        "Run the day's supervision (督办每日处理, also a beat task): open items for red projects, old problems "
        "and overdue reports, close those whose cause is gone, escalate those past their time limit and mail "
        "the new level once. Prints: opened N, closed N, escalated N, mails N."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="run as of this day (YYYY-MM-DD); default today")

    def handle(self, *args, date=None, **options):
        try:
            on = datetime.date.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from None
        self.stdout.write(str(supervision.supervision_run(on=on, enqueue=tasks.enqueue_delivery)))
