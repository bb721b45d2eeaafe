"""manage.py refresh_lights: judge and store every project's light now (after an upgrade or a change of settings)."""

from django.core.management.base import BaseCommand

from projects.domain import rules
from projects.shared import lights


class Command(BaseCommand):
    help = (
        "Judge and store every project's traffic light for today (the beat task 红黄绿灯每日评定 does it each "
        "night). After an upgrade or a change of TRAFFIC_LIGHT_* or MONTHLY_REPORT_DEADLINE_* settings, lists "
        "evaluate the lights instead of reading them (correct, slower) until it has run."
    )

    def handle(self, *args, **options):
        count = lights.lights_refresh()
        self.stdout.write(f"{count} project lights judged for {rules.today():%Y-%m-%d}")
