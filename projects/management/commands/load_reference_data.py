"""manage.py load_reference_data: divisions, industries, clusters, action plans, roles and beat schedules."""

from django.core.management.base import BaseCommand

from projects.reference.data import reference_data_load


class Command(BaseCommand):
    help = "Load regions, reporting units, action plans, industries, programmes, five batches, clusters and role groups (idempotent)."

    def handle(self, *args, **options):
        counts = reference_data_load()
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
        self.stdout.write(self.style.SUCCESS("reference data loaded"))
