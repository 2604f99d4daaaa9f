"""Treemap layout and the standalone SVG files (downloads and PNG source)."""

import re

import pytest

from regio.finance import charts


def test_squarify_areas_are_proportional_and_tile_the_box():
    values = [600, 300, 60, 30, 6, 3, 1]
    total = sum(values)
    rects = charts.squarify([v / total * 640 * 380 for v in values], 0, 0, 640, 380)
    assert len(rects) == len(values)
    for v, (x, y, w, h) in zip(values, rects, strict=True):
        assert w * h == pytest.approx(v / total * 640 * 380)
        assert -1e-6 <= x and x + w <= 640 + 1e-6 and -1e-6 <= y and y + h <= 380 + 1e-6
    assert sum(w * h for _, _, w, h in rects) == pytest.approx(640 * 380)
    # squarified: no sliver for the big ones
    x, y, w, h = rects[0]
    assert max(w / h, h / w) < 3


def test_treemap_links_titles_and_labels():
    svg = charts.treemap([("5 Action sociale", 500_00, "?code=5"), ("2 Enseignement", 300_00, ""), ("9 Rien", 0, "?code=9")],
                         title="Dépenses par fonction", description="Surfaces.", uid="t")
    assert svg.count("<rect") == 2  # the zero value is only in the table
    assert '<a href="?code=5">' in svg and "?code=9" not in svg
    assert 'role="group"' in svg and "<title id=\"t-t\">Dépenses par fonction</title>" in svg
    assert "5 Action sociale : 500 € (62,5%)" in svg
    assert charts.treemap([], title="x", description="y", uid="z") == ""


def test_standalone_svg_has_colours_and_size():
    svg = charts.standalone_svg(charts.bar_chart([("a", 100, "")], title="T", description="D", uid="u"))
    assert re.search(r'<svg[^>]* width="640" height="\d+" viewBox="0 0 640 \d+"', svg)
    assert 'class="chart-bar" fill="#1f4e8c"' in svg
    tm = charts.standalone_svg(charts.treemap([("a", 1, ""), ("b", 2, "")], title="T", description="D", uid="u"))
    assert 'class="tm tm0" fill="#1f4e8c"' in tm and 'class="tm-label" font-size="12" fill="#ffffff"' in tm
