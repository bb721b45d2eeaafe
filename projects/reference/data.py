"""Reference data from fixtures/ and ../shared/data: Hebei's divisions (with generated English names),
industries, county clusters and action plans; loading it also syncs the role groups and beat schedules.
Safe to run again."""

import csv
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from actions.models import Action, ActionPlan, Measure, Target
from projects.accounts.services import roles_sync
from projects.domain.choices import RegionLevel
from projects.domain.names import english_name
from projects.models import Batch, Cluster, Industry, MilestoneKind, Programme, Region
from projects.reference.schedules import beat_schedules_ensure

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"


@transaction.atomic
def reference_data_load(*, fixtures_dir=FIXTURES_DIR):
    """Load regions, reporting units, catalogues, action plans and role groups; safe to run again.

    Returns {model verbose name: rows now present} for the command to print.
    """
    from django_celery_beat.models import PeriodicTask

    reference = json.loads((fixtures_dir / "reference.json").read_text(encoding="utf-8"))
    _load_regions(fixtures_dir / "hebei_divisions.csv", reference)
    for order, row in enumerate(reference["programmes"]):
        Programme.objects.update_or_create(code=row["code"], defaults={**row, "order": order})
    for order, row in enumerate(reference["batches"]):
        Batch.objects.update_or_create(code=row["code"], defaults={**row, "order": order})
    _load_industries(reference["industries"])
    _load_clusters(reference["clusters"])
    _load_action_plans(reference["action_plans"])
    if not MilestoneKind.objects.exists():  # the standard nodes, once: afterwards the province's to change
        MilestoneKind.objects.bulk_create(
            [MilestoneKind(order=order, **row) for order, row in enumerate(reference["milestone_kinds"], start=1)])
    roles_sync()
    beat_schedules_ensure()
    return {
        model._meta.verbose_name: model.objects.count()
        for model in (Region, Programme, Batch, Industry, Cluster, ActionPlan, Action, Measure, Target, MilestoneKind, Group,
                      PeriodicTask)
    }


def _load_regions(csv_path, reference):
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_code = {}
    for row in rows:  # the file lists parents before children
        region, _created = Region.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "level": row["level"],
                "parent": by_code.get(row["parent_code"]),
                "is_statistical": True,
            },
        )
        by_code[region.code] = region
    province = next(region for region in by_code.values() if region.level == RegionLevel.PROVINCE)

    reporting_city = {code: region.parent for code, region in by_code.items() if region.level == RegionLevel.COUNTY}
    for unit in reference["reporting_units"]:
        if unit["code"] in by_code:  # 定州市, 辛集市: a county that reports as a city
            region = by_code[unit["code"]]
            region.is_reporting_unit = True
            region.save(update_fields=["is_reporting_unit"])
        else:  # 雄安新区: not a statistical division, a reporting unit over three counties of 保定市
            region, _created = Region.objects.update_or_create(
                code=unit["code"],
                defaults={
                    "name": unit["name"],
                    "level": RegionLevel.CITY,
                    "parent": province,
                    "is_reporting_unit": True,
                    "is_statistical": False,
                },
            )
            by_code[region.code] = region
        for county_code in unit["counties"]:
            reporting_city[county_code] = region
    for code, city in reporting_city.items():
        Region.objects.filter(code=code).update(reporting_city=city)
    for code, layout in reference["layout"].items():
        Region.objects.filter(code=code).update(layout=layout)
    _name_regions_in_english()


def _name_regions_in_english():
    """English names from the Chinese ones (pinyin and the kind of division), for English mode."""
    regions = list(Region.objects.select_related("parent"))
    for region in regions:
        city = region.parent.name if region.parent_id and region.parent.level == RegionLevel.CITY else ""
        region.name_en = english_name(region.name, city)
    Region.objects.bulk_update(regions, ["name_en"])


def _load_industries(groups):
    order = 0
    for group in groups:
        parent, _created = Industry.objects.update_or_create(
            name=group["name"],
            defaults={"name_en": group["name_en"], "category": group["category"], "parent": None, "order": order},
        )
        for child in group["children"]:
            order += 1
            Industry.objects.update_or_create(
                name=child["name"],
                defaults={"name_en": child["name_en"], "category": group["category"], "parent": parent, "order": order},
            )
        order += 1


def _load_clusters(clusters):
    for row in clusters:
        Cluster.objects.update_or_create(
            name=row["name"],
            defaults={
                "county": Region.objects.get(code=row["county"]),
                "industry": Industry.objects.get(name=row["industry"]) if row["industry"] else None,
                "description": row["description"],
            },
        )


def _load_action_plans(plans):
    for plan_row in plans:
        plan, _created = ActionPlan.objects.update_or_create(
            code=plan_row["code"],
            defaults={key: plan_row[key] for key in ("name", "name_en", "start_year", "end_year", "is_primary", "source")},
        )
        for action_row in plan_row["actions"]:
            action, _created = Action.objects.update_or_create(
                plan=plan,
                number=action_row["number"],
                defaults={"name": action_row["name"], "name_en": action_row["name_en"]},
            )
            for number, measure in enumerate(action_row.get("measures", []), start=1):
                Measure.objects.update_or_create(action=action, number=number, defaults=measure)
            for target in action_row.get("targets", []):
                Target.objects.update_or_create(
                    action=action,
                    indicator=target["indicator"],
                    year=target["year"],
                    defaults={"value": target["value"], "unit": target["unit"]},
                )
