"""The map page (一张图): the reader's units coloured by an indicator, their projects as points coloured by
light, every unit and point linked to exactly its projects; a table of the same figures below (the accessible
fallback). Drawn on the server and cached under the data versions."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from projects.atlas import reads, svg
from projects.domain import rules
from projects.domain.access import scope_key
from projects.domain.choices import Light
from projects.reference import boundaries
from projects.shared.links import project_links
from projects.shared.scopes import active_params, list_link, scope_filterset
from projects.shared.versions import cached_summary

# Parameters of the map itself, not filters of the projects.
OWN_PARAMS = ("indicator", "level")


def _filterset(request):
    data = request.GET.copy()
    for name in OWN_PARAMS:
        data.pop(name, None)
    return scope_filterset(request.user, data, request=request)


@login_required
def atlas_page(request):
    try:
        level = reads.map_level(request.user, request.GET.get("level"))
    except ValueError:
        return HttpResponseBadRequest(_("参数 level 应为 city 或 county。"))
    indicator = request.GET.get("indicator") or "lag"
    if indicator not in dict(reads.INDICATORS):
        return HttpResponseBadRequest(_("参数 indicator 应为 %(choices)s 之一。") % {"choices": ", ".join(dict(reads.INDICATORS))})
    filterset, year = _filterset(request)
    if not filterset.is_valid():
        raise Http404
    params = active_params(filterset)
    on = rules.today()
    user = request.user

    def compute():
        return _drawn(filterset.qs, user=user, level=level, indicator=indicator, year=year, on=on, params=params)

    drawn = cached_summary(("atlas", scope_key(user), user.region_id, sorted(params.items()), level, indicator, on,
                            translation.get_language()), compute, user=user)
    hidden = [(name, value) for name, value in params.items() if name != "year"]
    return render(request, "projects/atlas/map.html", {
        **drawn,
        "svg": mark_safe(drawn["svg"]),  # built by svg.draw, every text escaped there
        "year": year,
        "years": rules.selectable_years(on),
        "level": level,
        "levels": reads.LEVELS if reads.map_level(user, "") == "city" else (),
        "indicator": indicator,
        "indicators": reads.INDICATORS,
        "hidden_params": hidden,
        "time_progress": rules.time_progress(year=year, on=on),
        "lights": [(light.value, light.label) for light in (Light.RED, Light.YELLOW, Light.GREEN, Light.NONE)],
    })


def _drawn(projects, *, user, level, indicator, year, on, params):
    """The SVG, the table rows and the legend for one scope, level, indicator and year."""
    progress = rules.time_progress(year=year, on=on)
    projects = reads.scope_projects(projects, user)
    regions, outline = reads.map_units(user, level)
    field = "city" if level == "city" else "county"
    by_key, own_row = reads.unit_rows(projects, user=user, field=field, params=params, year=year, on=on)
    values = {region.pk: reads.indicator_value(by_key.get(region.pk), indicator, progress) for region in regions}
    breaks, colours = reads.palette(indicator, values.values())
    indicator_label = str(dict(reads.INDICATORS)[indicator])
    units, rows = [], []
    shaped = boundaries.codes()
    for region in regions:
        row = by_key.get(region.pk)
        value = values[region.pk]
        klass = reads.value_class(value, breaks)
        fill = reads.NO_DATA if klass is None else colours[klass]
        href = reads.unit_link(params, field, region)
        text = reads.value_text(value, indicator)
        count = row["count"] if row else 0
        title = _("%(unit)s：%(indicator)s %(value)s（%(count)s个项目）") % {
            "unit": region, "indicator": indicator_label, "value": text, "count": count}
        units.append({"code": region.code, "label": str(region), "href": href, "fill": fill, "title": title,
                      "value_class": "none" if klass is None else klass})
        rows.append({"label": str(region), "code": region.code, "href": href, "value": text, "number": value, "fill": fill,
                     "count": count, "red": row["red"] if row else 0, "has_shape": region.code in shaped})
    if field == "county" and own_row is not None and own_row["count"]:
        # A city's own projects (no county) have no county to colour; listed, linked as the dashboard links them.
        own_label = _("%(unit)s本级") % {"unit": user.region} if user.region else _("各市本级")
        rows.append({"label": own_label, "code": "", "href": list_link(params, no_county="true"),
                     "number": reads.indicator_value(own_row, indicator, progress),
                     "value": reads.value_text(reads.indicator_value(own_row, indicator, progress), indicator),
                     "fill": None, "count": own_row["count"], "red": own_row["red"], "has_shape": False})
    points, located = reads.map_points(projects)
    light_labels = {value: str(label) for value, label in Light.choices}  # translated once, not per point
    point_link = project_links()  # reverse() once, not 10,000 times
    point_dicts = [{"lon": lon, "lat": lat, "href": point_link(pk), "light": light,
                    "title": f"{name} · {light_labels[light]}"} for pk, name, lon, lat, light in points]
    label_size = 10 if len(regions) > 60 else 14 if len(regions) > 20 else 18  # all counties, a city's, the 14 units
    drawing = svg.draw(units=units, outline=outline, points=point_dicts, label_size=label_size,
                       aria_label=_("%(indicator)s地图") % {"indicator": indicator_label})
    return {
        "svg": drawing,
        "rows": rows,
        "legend": reads.legend(indicator, breaks, colours),
        "indicator_label": indicator_label,
        "points_drawn": len(points),
        "points_located": located,
        "points_capped": located > len(points),
        "unshaped": _("、").join(row["label"] for row in rows if not row["has_shape"] and row["code"]),
    }
