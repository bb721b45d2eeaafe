"""The lookup tables rows are read against (regions, programmes, batches, industries, actions, stages)."""

import re
import unicodedata

from django.utils.translation import gettext as _

from actions.models import Action
from projects.domain import rules
from projects.domain.choices import RegionLevel, Stage
from projects.models import Batch, Industry, Programme, Region

# --- Catalogues ---------------------------------------------------------------------------------------


def _name_key(text, suffix=""):
    text = unicodedata.normalize("NFKC", text).replace(" ", "")
    return text[: -len(suffix)] if suffix and text.endswith(suffix) and len(text) > len(suffix) else text


# --- Region names as people write them -------------------------------------------------------------------

# A county column naming no county: a project of the city itself (市直 / 市本级).
CITY_LEVEL_WORDS = ("市直", "市本级", "本级", "市直属", "市直单位", "市级")
# Development zones as lists abbreviate them: (the official ending, the short endings people write).
ZONE_ABBREVIATIONS = (
    ("高新技术产业开发区", ("高新区", "高新技术开发区")),
    ("经济技术开发区", ("经开区", "开发区", "经济开发区")),
    ("经济开发区", ("经开区", "开发区")),
    ("管理区", ("",)),
)
AUTONOMOUS_RE = re.compile(r"^(.+?)(?:满族|回族|蒙古族)+自治县$")
# Endings whose removal still names the place (正定县 → 正定); not for zones, whose ending is the name.
DROPPABLE_ENDINGS = ("县", "区", "市")
ZONE_ENDINGS = ("新区", "矿区", "开发区", "园区", "管理区")


def _short(city_name):
    return city_name[:-1] if city_name.endswith("市") else city_name


def county_forms(name, city_name):
    """Every way a list may write the county-level division `name` of the city `city_name`: the official
    name, without its 满族/回族/蒙古族自治 part, without 县/区/市, and a development zone by its short
    forms with or without the city's name (石家庄高新技术产业开发区 → 高新区, 石家庄高新区; 沧州渤海新区 →
    渤海新区; 秦皇岛市经济技术开发区 → 经开区, 开发区). Generated from the division list, not typed."""
    forms = {name}
    autonomous = AUTONOMOUS_RE.match(name)
    if autonomous:
        forms.add(autonomous[1] + "县")
    rest = name.removeprefix("河北")
    for prefix in (city_name, _short(city_name)):
        if rest.startswith(prefix) and len(rest) > len(prefix):
            rest = rest[len(prefix):]
            break
    if rest != name:
        forms |= {rest, _short(city_name) + rest}
    for ending, abbreviations in ZONE_ABBREVIATIONS:
        if rest.endswith(ending):
            place = rest[: -len(ending)]
            for abbreviation in abbreviations:
                if place + abbreviation:
                    forms |= {place + abbreviation, _short(city_name) + place + abbreviation}
            break
    for form in list(forms):
        if len(form) >= 3 and form.endswith(DROPPABLE_ENDINGS) and not form.endswith(ZONE_ENDINGS):
            forms.add(form[:-1])
    # 承德县 → 承德 would name the city: a short form never stands for a county when it names its city.
    return forms - city_forms(city_name) if city_name else forms


def city_forms(name):
    """A city-level unit as lists write it: 石家庄市 or 石家庄, 雄安新区 or 雄安 (河北雄安新区)."""
    forms = {name, "河北" + name}
    for ending in ("市", "新区"):
        if name.endswith(ending) and len(name) - len(ending) >= 2:
            forms.add(name[: -len(ending)])
    return forms


def region_key(text):
    return unicodedata.normalize("NFKC", text or "").replace(" ", "")


class Regions:
    """Cities and counties by code, official name or any short form (loaded once, no query per row)."""

    def __init__(self, regions):
        self.by_code = {region.code: region for region in regions}
        # Names above county level are unique (the province, cities, 雄安新区); counties' are not (桥西区).
        self.by_name = {region_key(region.name): region for region in regions if region.level != RegionLevel.COUNTY}
        by_pk = {region.pk: region for region in regions}
        self.cities = {}
        self.counties = {}  # form -> [counties]
        for region in regions:
            if region.is_city_level:
                for form in city_forms(region.name):
                    self.cities.setdefault(form, region)
        for region in regions:
            if region.level == RegionLevel.COUNTY:
                parent = by_pk.get(region.parent_id)
                city_name = parent.name if parent else ""
                for form in county_forms(region.name, city_name):
                    self.counties.setdefault(form, []).append(region)

    def city(self, text):
        key = region_key(text)
        region = self.by_code.get(key) or self.cities.get(key)
        if region is None or not region.is_city_level:
            raise ValueError(_("未知的市“%(value)s”") % {"value": text})
        return region

    def county(self, text, city):
        """The county `text` names within `city` (its statistical city or the unit it reports to), or None
        for a project of the city itself (市直, 市本级, or the city's own name)."""
        key = region_key(text)
        if key in CITY_LEVEL_WORDS or (city is not None and key in city_forms(city.name) and city.level != RegionLevel.COUNTY):
            return None
        region = self.by_code.get(key)
        candidates = [region] if region is not None else self.counties.get(key, [])
        candidates = [c for c in candidates if c.level == RegionLevel.COUNTY]
        if not candidates:
            raise ValueError(_("未知的县（市、区）“%(value)s”") % {"value": text})
        inside = [c for c in candidates if city is None or city.pk in (c.parent_id, c.reporting_city_id)]
        if not inside:
            raise ValueError(_("“%(county)s”不属于“%(city)s”") % {"county": text, "city": city.name})
        if len(inside) > 1:
            names = "、".join(c.name for c in inside)
            if city is None:
                raise ValueError(_("“%(value)s”在多个市都有（%(names)s），请填写所属市") % {"value": text, "names": names})
            raise ValueError(_("“%(value)s”可能是%(names)s，请填写全称") % {"value": text, "names": names})
        return inside[0]

    def division(self, text):
        """Any division by code or name, as an account's region is written: the province, a city (or a
        short form), else a county (a name several cities share asks for the code)."""
        key = region_key(text)
        region = self.by_code.get(key) or self.cities.get(key) or self.by_name.get(key)
        if region is not None:
            return region
        try:
            return self.county(text, None)
        except ValueError:
            if key in self.counties:
                raise ValueError(_("有多个区划名为“%(value)s”，请填写区划代码") % {"value": text}) from None
            raise ValueError(_("未知的区划“%(value)s”") % {"value": text}) from None

    def cities_in(self, texts):
        """The city-level units texts name (a list's title: 廊坊市2023年重点项目清单), each with the forms
        found, longest forms first (河北雄安新区 before 雄安); [] when none is named."""
        found = {}
        for form in sorted(self.cities, key=len, reverse=True):
            if len(form) < 2 or not any(form in region_key(text) for text in texts):
                continue
            region = self.cities[form]
            if region.pk not in found and any(form in other for forms in found.values() for other in forms[1]):
                continue  # part of another city's longer form already found
            found.setdefault(region.pk, (region, []))[1].append(form)
        return list(found.values())

    def looks_like_county(self, text):
        key = region_key(text)
        return bool(key) and (key in self.counties or key in CITY_LEVEL_WORDS)


# --- Stages as lists write them ---------------------------------------------------------------------------

STAGE_SYNONYMS = {
    Stage.PREPARATORY: ("前期", "前期工作", "储备", "谋划", "拟建"),
    Stage.NEW_START: ("新开工", "新建", "开工"),
    Stage.CONTINUING: ("续建", "在建", "建设中"),
    Stage.COMPLETED: ("竣工投产", "保投产", "建成投产", "竣工", "投产", "建成", "完工", "竣工验收"),
}
# 计划开工 in a list of the current year is a project starting this year; in a later year's, one being prepared.
PLANNED_START = "计划开工"


class Catalogues:
    """Every lookup table the rows of a list of `year` need, loaded once (no query per row)."""

    def __init__(self, year=None):
        self.year = year
        self.programmes = {_name_key(p.name, "项目"): p for p in Programme.objects.all()}
        self.batches = {_name_key(b.name, "项目"): b for b in Batch.objects.all()}
        self.industries = {_name_key(i.name, "产业"): i for i in Industry.objects.all()}
        actions = list(Action.objects.select_related("plan"))
        self.actions_by_number = {a.number: a for a in actions if a.plan.is_primary}
        self.actions_by_name = {}
        for action in actions:
            self.actions_by_name.setdefault(_name_key(action.name, "行动"), action)
        self.stages = {value: value for value in Stage.values}
        for stage, words in STAGE_SYNONYMS.items():
            self.stages.update({word: stage for word in words})
        self.regions = Regions(list(Region.objects.all()))
        self.regions_by_code = self.regions.by_code

    def city(self, text):
        return self.regions.city(text)

    def county(self, text, city):
        return self.regions.county(text, city)

    def stage(self, text):
        key = _name_key(text)
        if key == PLANNED_START:
            return Stage.NEW_START if self.year is None or self.year <= rules.today().year else Stage.PREPARATORY
        stage = self.stages.get(key)
        if stage is None:
            raise ValueError(_("未知的建设阶段“%(value)s”（前期、新开工、续建、竣工投产）") % {"value": text})
        return stage


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
