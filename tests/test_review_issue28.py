"""Review of issue 28's pages on a 390 px phone: the 环比/同比 card folds into one card per figure with each
cell labelled (its six-column table scrolled sideways); a unit's 环比 and 同比 each keep their value on their line
(the ranking's per-unit table); the map's controls keep each label with its select."""

import re

import pytest

from .test_access import client_for

pytestmark = pytest.mark.django_db


def _table(html, css_class):
    match = re.search(r'<table class="([^"]*\b' + css_class + r'\b[^"]*)">(.*?)</table>', html, re.S)
    assert match, css_class
    return match.group(1).split(), match.group(2)


def test_the_trend_card_stacks_each_figure_with_labelled_cells_on_a_phone(users, projects):
    html = client_for(users["province_admin"]).get("/").content.decode()
    classes, table = _table(html, "trend-table")
    assert "stacked" in classes
    body = table.split("<tbody>", 1)[1]
    numbers = re.findall(r'<td class="num"([^>]*)>', body)
    assert len(numbers) == 4 * 5
    labels = [re.search(r'data-label="([^"]*)"', cell).group(1) for cell in numbers]
    assert labels[:5] == ["本月", "上月", "环比", "上年同月", "同比"]
    assert set(labels) == {"本月", "上月", "环比", "上年同月", "同比"}
    assert len(re.findall(r'<td class="name">', body)) == 4  # the figure's name heads its card


def test_a_units_changes_keep_each_label_with_its_value(users, projects):
    html = client_for(users["province_admin"]).get("/rankings/").content.decode()
    _classes, table = _table(html, "trend-units")
    assert re.search(r'<span class="nowrap">环比 [^<]*</span> · <span class="nowrap">同比 [^<]*</span>', table)


def test_the_maps_controls_keep_each_label_with_its_select(users, projects):
    html = client_for(users["province_admin"]).get("/map/").content.decode()
    for name in ("indicator", "level", "year"):
        assert re.search(rf'<span class="nowrap"><label for="{name}">[^<]*</label>\s*<select id="{name}"', html), name


def test_the_rankings_month_picker_offers_no_month_after_this_one(users, projects):
    from projects.domain import rules

    html = client_for(users["province_admin"]).get("/rankings/").content.decode()
    field = re.search(r'<input type="month" id="ranking-month"[^>]*>', html).group(0)
    assert f'max="{rules.today():%Y-%m}"' in field and 'min="2000-01"' in field
