"""The lookup tables rows are read against (regions, programmes, batches, industries, actions, stages)."""

import unicodedata

from django.utils import translation
from django.utils.translation import gettext as _

from actions.models import Action

from ..choices import RegionLevel, Stage
from ..models import (
    Batch,
    Industry,
    Programme,
    Region,
)

# --- Catalogues ---------------------------------------------------------------------------------------


def _name_key(text, suffix=""):
    text = unicodedata.normalize("NFKC", text).replace(" ", "")
    return text[: -len(suffix)] if suffix and text.endswith(suffix) and len(text) > len(suffix) else text


class Catalogues:
    """Every lookup table the rows need, loaded once (no query per row)."""

    def __init__(self):
        self.programmes = {_name_key(p.name, "项目"): p for p in Programme.objects.all()}
        self.batches = {_name_key(b.name, "项目"): b for b in Batch.objects.all()}
        self.industries = {_name_key(i.name, "产业"): i for i in Industry.objects.all()}
        actions = list(Action.objects.select_related("plan"))
        self.actions_by_number = {a.number: a for a in actions if a.plan.is_primary}
        self.actions_by_name = {}
        for action in actions:
            self.actions_by_name.setdefault(_name_key(action.name, "行动"), action)
        with translation.override("zh-hans"):
            self.stages = {_name_key(str(label)): value for value, label in Stage.choices} | {value: value for value in Stage.values}
        regions = list(Region.objects.all())
        self.regions_by_code = {r.code: r for r in regions}
        self.cities_by_name = {r.name: r for r in regions if r.is_city_level}
        self.counties_by_name = {}
        for region in regions:
            if region.level == RegionLevel.COUNTY:
                self.counties_by_name.setdefault(region.name, []).append(region)

    def city(self, text):
        region = self.regions_by_code.get(text) or self.cities_by_name.get(text)
        if region is None or not region.is_city_level:
            raise ValueError(_("未知的市“%(value)s”") % {"value": text})
        return region

    def county(self, text, city):
        candidates = [self.regions_by_code[text]] if text in self.regions_by_code else self.counties_by_name.get(text, [])
        candidates = [c for c in candidates if c.level == RegionLevel.COUNTY]
        if not candidates:
            raise ValueError(_("未知的县（市、区）“%(value)s”") % {"value": text})
        inside = [c for c in candidates if city is None or city.pk in (c.parent_id, c.reporting_city_id)]
        if not inside:
            raise ValueError(_("“%(county)s”不属于“%(city)s”") % {"county": text, "city": city.name})
        if len(inside) > 1:
            raise ValueError(_("“%(value)s”在多个市都有，请填写所属市") % {"value": text})
        return inside[0]

    def lookup(self, table, text, suffix, what):
        found = table.get(_name_key(text, suffix))
        if found is None:
            raise ValueError(_("未知的%(what)s“%(value)s”") % {"what": what, "value": text})
        return found

    def action(self, text):
        if text.isdigit():
            action = self.actions_by_number.get(int(text))
        else:
            action = self.actions_by_name.get(_name_key(text, "行动"))
        if action is None:
            raise ValueError(_("未知的专项行动“%(value)s”") % {"value": text})
        return action
