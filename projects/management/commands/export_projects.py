"""manage.py export_projects: the projects a user may see, in the provincial template (xlsx, csv, json)."""

import shutil

from django.core.management.base import BaseCommand, CommandError

from actions.models import Action
from projects.domain import rules
from projects.domain.choices import Stage
from projects.importing import exporting
from projects.models import PROJECT_ORDER, Programme, Project, Region
from projects.shared.filtersets import ProjectFilterSet


class Command(BaseCommand):
    help = "Export projects in the provincial template's shape (xlsx, csv or json), filtered like the project list."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=exporting.FORMATS)
        parser.add_argument("--output", required=True)
        parser.add_argument("--city", help="division code of a city-level unit")
        parser.add_argument("--county", help="division code of a county")
        parser.add_argument("--action", type=int, help="number of an action of the default plan")
        parser.add_argument("--programme", help="programme name (省重点, 市重点, ...)")
        parser.add_argument("--stage", help="stage name (前期, 新开工, 续建, 竣工投产)")
        parser.add_argument("--year", type=int, help="the year of 年度计划投资 (default: this year)")

    def handle(self, *args, **options):
        year = options["year"] or rules.today().year
        data = {"year": str(year)}
        if options["city"]:
            data["city"] = self._pk(Region.objects.city_level(), code=options["city"], option="--city")
        if options["county"]:
            data["county"] = self._pk(Region.objects.counties(), code=options["county"], option="--county")
        if options["action"]:

            data["action"] = self._pk(Action.objects.filter(plan__is_primary=True), number=options["action"], option="--action")
        if options["programme"]:
            name = options["programme"].removesuffix("项目")
            data["programme"] = self._pk(Programme.objects.all(), name=name, option="--programme")
        if options["stage"]:
            stages = {str(label): value for value, label in Stage.choices} | {value: value for value in Stage.values}
            if options["stage"] not in stages:
                raise CommandError(f"--stage: “{options['stage']}” is not one of {', '.join(stages)}")
            data["stage"] = stages[options["stage"]]
        # An operator's export sees every region; the FilterSet still gives the list page's meaning.
        filterset = ProjectFilterSet(data, queryset=Project.objects.all())
        if not filterset.is_valid():
            raise CommandError(f"invalid options: {filterset.errors.as_text()}")
        handle = exporting.export(filterset.qs.order_by(*PROJECT_ORDER), fmt=options["format"], year=year)
        with open(options["output"], "wb") as output:
            shutil.copyfileobj(handle, output)
        self.stdout.write(f"exported {filterset.qs.count()} projects to {options['output']}")

    def _pk(self, queryset, option, **lookup):
        found = queryset.filter(**lookup).values_list("pk", flat=True).first()
        if found is None:
            raise CommandError(f"{option}: nothing matches {list(lookup.values())[0]}")
        return str(found)
