"""The map drawn as inline SVG on the server: an equirectangular projection with longitude scaled by the cosine
of the scope's middle latitude (true shape at Hebei's size), into a viewBox 1000 units wide that scales to
any screen. No script, no tiles, no internet."""

import math

from django.utils.html import escape

from projects.reference import boundaries

WIDTH = 1000
MARGIN = 8
POINT_RADIUS = 3.2
# On a narrow screen (map.html's CSS) names are drawn this large in viewBox units (few units, many units).
SMALL_SCREEN_SIZES = (30, 22)
SMALL_SCREEN_MANY = 20


class Projection:
    """lon/lat → viewBox x/y for a box (west, south, east, north)."""

    def __init__(self, box):
        west, south, east, north = box
        self.west, self.north = west, north
        self.kx = math.cos(math.radians((south + north) / 2))
        span = max((east - west) * self.kx, 1e-6)
        self.scale = (WIDTH - 2 * MARGIN) / span
        self.height = round((north - south) * self.scale + 2 * MARGIN, 1)

    def __call__(self, lon, lat):
        return ((lon - self.west) * self.kx * self.scale + MARGIN, (self.north - lat) * self.scale + MARGIN)


def union_box(codes):
    """The box around the shapes of `codes` (those that have one), or None."""
    boxes = [boundaries.bbox(code) for code in codes if boundaries.bbox(code)]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def path_data(code, project):
    """The SVG path of a region's rings (read even-odd), coordinates to 0.1 unit, repeated points dropped."""
    parts = []
    for ring in boundaries.rings(code):
        points, last = [], None
        for lon, lat in ring:
            x, y = project(lon, lat)
            point = f"{x:.1f} {y:.1f}"
            if point != last:
                points.append(point)
                last = point
        if len(points) >= 3:
            parts.append("M" + " ".join(points) + "Z")
    return "".join(parts)


def _text_width(text, size):
    return sum(size if ord(char) > 0x2E80 else size * 0.55 for char in text)


def draw(*, units, outline, points, label_size, aria_label):
    """The <svg> for `units` (dicts: code, label, href, fill, title, value_class), the `outline` region drawn
    over them, and `points` (dicts: lon, lat, href, light, title). Units without a shape are left out (the
    table lists them). Labels that would not fit their unit at the large size are marked small (hidden on
    narrow screens)."""
    box = union_box([unit["code"] for unit in units] + ([outline] if outline else []))
    if box is None:
        return ""
    project = Projection(box)
    out = [f'<svg class="atlas" viewBox="0 0 {WIDTH} {project.height:.0f}" role="img" '
           f'aria-label="{escape(aria_label)}" xmlns="http://www.w3.org/2000/svg">']
    labels = []
    for unit in units:
        d = path_data(unit["code"], project)
        if not d:
            continue
        out.append(f'<a href="{escape(unit["href"])}" data-unit="{unit["code"]}"><path d="{d}" fill="{unit["fill"]}" '
                   f'data-class="{unit["value_class"]}"><title>{escape(unit["title"])}</title></path></a>')
        spot = boundaries.label_point(unit["code"])
        if spot:
            west, south, east, _north = boundaries.bbox(unit["code"])
            width = (east - west) * project.kx * project.scale
            # Judged at the size names take on a phone (the template's CSS): those that would not fit are hidden there.
            phone_size = SMALL_SCREEN_SIZES[1] if len(units) > SMALL_SCREEN_MANY else SMALL_SCREEN_SIZES[0]
            small = _text_width(unit["label"], max(label_size, phone_size)) > width * 0.9
            x, y = project(*spot)
            labels.append(f'<text x="{x:.1f}" y="{y:.1f}" class="{"lbl small" if small else "lbl"}">'
                          f'{escape(unit["label"])}</text>')
    if outline:
        out.append(f'<path class="outline" d="{path_data(outline, project)}"/>')
    if points:
        out.append('<g class="points">')
        for point in points:
            x, y = project(point["lon"], point["lat"])
            out.append(f'<a href="{point["href"]}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{POINT_RADIUS}" '
                       f'class="pt {point["light"]}"><title>{escape(point["title"])}</title></circle></a>')
        out.append("</g>")
    # Names over the points (they let clicks through to them).
    many = " many" if len(units) > SMALL_SCREEN_MANY else ""
    out.append(f'<g class="labels{many}" font-size="{label_size}" aria-hidden="true">{"".join(labels)}</g>')
    out.append("</svg>")
    return "".join(out)
