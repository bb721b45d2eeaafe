"""The pieces a scope's sums are cached in (cached_per_region, cached_per_group): the regions of its projects — each
county, each city-level unit's own projects (no county), the projects of no region — and, for a region of more than
PART_SIZE projects, its parts by project id (versions.PART_COUNTS), so that a write re-sums the piece of its project
alone. The dashboard, the digests, the map, the rankings and the menu's 待办 count read through these."""

import hashlib

from django.core.cache import cache
from django.db.models import Case, Count, IntegerField, Q, When
from django.db.models.lookups import In

from projects.domain.access import scope_key
from projects.models import Project, Region
from projects.shared import versions

# A region (a county, or a city-level unit's own projects) of more projects than this is kept in the fewest parts
# (versions.PART_COUNTS) of at most this many: a write re-sums some hundreds of projects wherever it lands. The
# province's largest, 6,500 of 100,000, took 0.4 s to re-sum whole, and 0.15 s in eight parts of 800.
PART_SIZE = 500


def region_slots(user, *, split=False):
    """The regions whose sums make up `user`'s scope, as cached_per_region names them: the
    province's counties, its city-level units' own projects and those of no region; a city-level unit's
    counties and its own; a county alone. None for a scope that is not a region's (a 包联 leader's).
    `split`: a region of more than PART_SIZE projects as its parts (its rows then carry their "part": the
    part_number of the project's part, as the slot's)."""
    scope = scope_key(user)
    if scope != "all" and not scope.startswith("region-"):
        return None
    # The regions are catalogue data: listed once per epoch, not read on every cold page (two queries for the
    # province's).
    key = "projects:region-slots:" + versions.catalogue_key("region-slots", scope)
    slots = cache.get(key)
    if slots is None:
        slots = _scope_slots(user, scope)
        cache.set(key, slots, versions.PIECE_CACHE_SECONDS)
    if not split:
        return slots
    kept_in = region_parts()
    return [part for slot in slots for part in (
        [(*slot, versions.part_number(kept_in[slot], n)) for n in range(kept_in[slot])] if slot in kept_in else [slot])]


def _scope_slots(user, scope):
    """region_slots of `user`'s scope (`scope`: its scope_key, the province's or a region's), whole."""
    if scope == "all":
        counties = Region.objects.counties().values_list("pk", flat=True)
        units = Region.objects.city_level().values_list("pk", flat=True)
        return [("county", pk) for pk in counties] + [("own", pk) for pk in units] + [("none", None)]
    if not user.region.is_city_level:
        return [("county", user.region.pk)]
    # The counties it reports for: not 辛集 under 石家庄, nor 定州 and 雄安's counties under 保定, which report on
    # their own (a piece is cached per region and shared: read by a city, it must hold what the province's holds).
    counties = Region.objects.counties().filter(reporting_city=user.region).values_list("pk", flat=True)
    return [("county", pk) for pk in counties] + [("own", user.region.pk)]


def region_parts():
    """{region slot: the parts it is kept in} for the regions of more than PART_SIZE projects: the fewest of
    versions.PART_COUNTS holding at most PART_SIZE each (the most, for a larger region still). Counted once per epoch
    (an import, which may add thousands, moves it; a region grown one project at a time is split from the night's
    refresh on)."""
    key = "projects:region-parts:" + versions.catalogue_key("region-parts", PART_SIZE, versions.PART_COUNTS)
    kept_in = cache.get(key)
    if kept_in is None:
        counted = (Project.objects.order_by().values("city", "county").annotate(count=Count("pk"))
                   .filter(count__gt=PART_SIZE).exclude(city__isnull=True, county__isnull=True))
        most = versions.PART_COUNTS[-1]
        kept_in = {
            ("county", row["county"]) if row["county"] is not None else ("own", row["city"]):
            next((parts for parts in versions.PART_COUNTS if row["count"] <= parts * PART_SIZE), most)
            for row in counted
        }
        cache.set(key, kept_in, versions.PIECE_CACHE_SECONDS)
    return kept_in


def slots_of_places(places):
    """The slots (region_slots, split) the `places` a write names ((city id, county id, finest part): versions.
    data_changed's) lie in."""
    kept_in = region_parts()
    slots = set()
    for city, county, part in places:
        region = ("county", county) if county is not None else ("own", city) if city is not None else ("none", None)
        parts = kept_in.get(region)
        slots.add((*region, versions.part_number(parts, part % parts)) if parts else region)
    return sorted(slots, key=repr)


def slot_of(row):
    """The slot (region_slots) a row grouped by city and county (and part, for a region kept in parts) belongs to."""
    if row["county"] is not None:
        slot = ("county", row["county"])
    else:
        slot = ("own", row["city"]) if row["city"] is not None else ("none", None)
    return (*slot, row["part"]) if row.get("part") is not None else slot


def split_by_slot(rows, missing):
    """{slot: {part: its rows}} for the `missing` slots, from {part: rows grouped by (at least) city and county}:
    what cached_per_region's compute(missing) returns."""
    pieces = {slot: {part: [] for part in rows} for slot in missing}
    for part, part_rows in rows.items():
        for row in part_rows:
            piece = pieces.get(slot_of(row))
            if piece is not None:
                piece[part].append(row)
    return pieces


def read_pieces(read, missing, slots):
    """{slot: {part: its rows}} for the `missing` slots of `slots` (region_slots; None: of no scope read whole, a
    write's): what cached_per_region's compute(missing) returns. read(where, parts) gives {part: rows grouped
    by (at least) city and county, and by parts.of(…) when `parts` (Parts) is given} of the projects matching `where`.
    Every slot missing (the epoch moved): one pass over the scope, the rows of regions kept in parts grouped by part
    too; else one pass over the regions missing whole and one over the missing parts."""
    missing = set(missing)
    if slots is not None and missing >= set(slots):
        in_parts = _kept_in(slots)
        return split_by_slot(read(Q(), Parts(in_parts) if in_parts else None), missing)
    pieces = {}
    whole = [slot for slot in missing if len(slot) == 2]
    if whole:
        pieces.update(split_by_slot(read(slots_q(whole, slots), None), whole))
    parts = [slot for slot in missing if len(slot) == 3]
    if parts:
        pieces.update(split_by_slot(read(slots_q(parts, slots), Parts(_kept_in(parts), only=True)), parts))
    return pieces


def _kept_in(slots):
    """{region slot: the parts it is kept in} of the parts among `slots`."""
    return {slot[:2]: versions.parts_of_number(slot[2])[0] for slot in slots if len(slot) == 3}


class Parts:
    """How rows are grouped by their project's part: its part_number in the parts its region is kept in, for the
    projects of `regions` ({region slot: parts}), the others' rows having none (NULL); `only`: every row read is of
    one of `regions`."""

    def __init__(self, regions, *, only=False):
        self.regions = sorted(regions.items())
        self.only = only

    def of(self, project=""):
        """The expression of a row's project's part; `project`: the path from the rows to their project ("" on
        projects, "project__" on their reports, plans and items)."""
        def number(parts):
            return versions.project_part(f"{project}id" if project else "pk", parts) + parts

        by_count = {}
        for region, parts in self.regions:
            by_count[parts] = by_count.get(parts, Q()) | _region_q(*region, project=project)
        if self.only and len(by_count) == 1:
            return number(next(iter(by_count)))
        # One branch a count of parts (at most five), not one a region: the province's read, when every piece is
        # cold, evaluates it for each of its projects.
        return Case(*(When(regions, then=number(parts)) for parts, regions in sorted(by_count.items())),
                    default=None, output_field=IntegerField())


def part_values(by_part, project=""):
    """What rows are grouped by besides their area when `by_part` (Parts) is given: {"part": by_part.of(project)};
    {} without."""
    return {"part": by_part.of(project)} if by_part else {}


def slots_q(missing, slots):
    """The projects of the `missing` slots (no condition when every slot of the scope, `slots`, is missing)."""
    if slots is not None and set(missing) >= set(slots):
        return Q()
    counties = [slot[1] for slot in missing if slot[0] == "county" and len(slot) == 2]
    units = [slot[1] for slot in missing if slot[0] == "own" and len(slot) == 2]
    where = Q(pk__in=[])
    if counties:
        where |= Q(county_id__in=counties)
    if units:
        where |= Q(county__isnull=True, city_id__in=units)
    if ("none", None) in missing:
        where |= Q(county__isnull=True, city__isnull=True)
    in_parts = {}
    for slot in missing:
        if len(slot) == 3:
            in_parts.setdefault(slot[:2], []).append(versions.parts_of_number(slot[2]))
    for region, numbers in in_parts.items():
        region_q = _region_q(*region)
        parts = numbers[0][0]
        if len(numbers) < parts:  # some of its parts: those alone
            region_q &= Q(In(versions.project_part("pk"), finest_parts(parts, [part for _parts, part in numbers])))
        where |= region_q
    return where


def finest_parts(parts, chosen):
    """The finest parts (versions.project_part's default, id modulo MOST_PARTS) that make up the `chosen` parts of a
    region kept in `parts`: a part of k is the finest parts of the same remainder modulo k. Read so, a part is found
    along the index of its region and finest part (projects_county_part, projects_own_part) instead of by reading the
    region's every project: 1.7 ms for a part of the largest county instead of 6 (issue 24)."""
    return sorted(part + step for part in chosen for step in range(0, versions.MOST_PARTS, parts))


def _region_q(kind, region, project=""):
    """The projects of a region slot, a county's or a city-level unit's own (no county); `project`: as Parts.of."""
    if kind == "county":
        return Q(**{f"{project}county_id": region})
    return Q(**{f"{project}county__isnull": True, f"{project}city_id": region})


def fold_pieces(pieces, *, summed, area):
    """One piece ({part: rows}) from `pieces` of the same parts (cached_per_group's fold): each part's rows
    summed over the fields named in `summed` (None stays None only where every row's is), grouped by the rest but
    their project's part and the areas finer than `area` ("county": city and county kept; "city": city; None:
    neither), which the figures read from them do not tell apart."""
    dropped = {"part", *{"county": (), "city": ("county",), None: ("city", "county")}[area]}
    folded = {}
    for piece in pieces:
        for part, rows in piece.items():
            targets = folded.setdefault(part, {})
            for row in rows:
                key = tuple((name, value) for name, value in row.items() if name not in summed and name not in dropped)
                target = targets.get(key)
                if target is None:
                    targets[key] = {**dict(key), **{name: value for name, value in row.items() if name in summed}}
                    continue
                for name in summed & row.keys():
                    value = row[name]
                    if value is not None:
                        target[name] = value if target[name] is None else target[name] + value
    return {part: list(targets.values()) for part, targets in folded.items()}


# A scope of many slots (the province's 300) is read in groups of this many consecutive ones (cached_per_group): after a
# write, one group's pieces and the other groups folded, about 2 x the square root of the slots.
GROUP_SLOTS = 16


def _slot_version_key(slot):
    if len(slot) == 3:  # a part of a region's projects
        return versions.PART_VERSION_KEY.format(*slot)
    kind, region_id = slot
    if kind == "county":
        return versions.REGION_VERSION_KEY.format(region_id)
    return versions.OWN_VERSION_KEY.format(region_id) if kind == "own" else versions.UNPLACED_VERSION_KEY


def _slot_versions(slots):
    """(epoch, {slot: its version}) read at once."""
    slot_keys = {slot: _slot_version_key(slot) for slot in slots}
    version_keys = list(dict.fromkeys([versions.DATA_VERSION_KEY, *slot_keys.values()]))
    found = dict(zip(version_keys, versions.read_versions(version_keys)))
    return found[versions.DATA_VERSION_KEY], {slot: found[key] for slot, key in slot_keys.items()}


def cached_per_region(parts, slots, compute):
    """{slot: value} for `slots`, each cached under `parts` and the versions of its own region, so that a
    write recomputes only the slots of the regions it moved. A slot is (kind, region id): ("county", id)
    keyed by that county's version, ("own", id) by that city-level unit's own projects' (not its counties'),
    ("none", None) by the version of projects of no region; or a part of a county's or unit's projects,
    (kind, region id, part_number), keyed by that part's version. compute(missing) gives {slot: value} for the
    missing slots (all of them at once when nothing is cached: one pass instead of one per region)."""
    slots = list(slots)
    epoch, slot_versions = _slot_versions(slots)

    def key(slot):
        return "projects:piece:" + hashlib.sha256(repr((epoch, slot_versions[slot], slot, *parts)).encode()).hexdigest()

    keys = {slot: key(slot) for slot in slots}
    cached = cache.get_many(list(keys.values()))
    values = {slot: cached[keys[slot]] for slot in slots if keys[slot] in cached}
    missing = [slot for slot in slots if slot not in values]
    if missing:
        computed = compute(missing)
        cache.set_many({keys[slot]: computed[slot] for slot in missing}, timeout=versions.PIECE_CACHE_SECONDS)
        values.update(computed)
    return values


def cached_per_group(parts, slots, compute, fold, *, folded_as):
    """[fold(the pieces of a group)] for the groups of GROUP_SLOTS consecutive `slots`: cached_per_region's pieces
    folded a group at a time, each group cached under `parts`, `folded_as` (what names `fold`: the pieces are shared by
    scopes that fold them differently) and its slots' versions. After a write the group of its slot is folded anew
    from its pieces (one of them computed), the others are read folded: the province's 240 pieces were read and
    merged whole after every write (1.2 MB, 14,000 rows; 75 ms of a cold dashboard)."""
    slots = list(slots)
    epoch, slot_versions = _slot_versions(slots)
    groups = [tuple(slots[start : start + GROUP_SLOTS]) for start in range(0, len(slots), GROUP_SLOTS)]
    keys = ["projects:group:" + hashlib.sha256(
        repr((epoch, [slot_versions[slot] for slot in group], group, folded_as, *parts)).encode()).hexdigest()
        for group in groups]
    folded = cache.get_many(keys)
    missing = [(group, key) for group, key in zip(groups, keys) if key not in folded]
    if len(missing) == 1:
        # After a write its group alone is cold, and the scope's readers all ask for it at once (a county's users open
        # their lists after its report): one folds it, the others wait for it (computed_once).
        [(group, key)] = missing

        def fold_group():
            pieces = cached_per_region(parts, group, compute)
            return fold([pieces[slot] for slot in group])

        folded[key] = versions.computed_once(key, fold_group, timeout=versions.PIECE_CACHE_SECONDS)
    elif missing:
        pieces = cached_per_region(parts, [slot for group, _key in missing for slot in group], compute)
        computed = {key: fold([pieces[slot] for slot in group]) for group, key in missing}
        cache.set_many(computed, timeout=versions.PIECE_CACHE_SECONDS)
        folded.update(computed)
    return [folded[key] for key in keys]
