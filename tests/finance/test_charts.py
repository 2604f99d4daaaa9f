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


def _arc_angle(path: str) -> float:
    """Angle swept by the outer arc of a ring segment path (degrees)."""
    import math

    nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]
    x0, y0, r, large, x1, y1 = nums[0], nums[1], nums[2], nums[5], nums[7], nums[8]
    chord = math.dist((x0, y0), (x1, y1))
    angle = math.degrees(2 * math.asin(min(1.0, chord / (2 * r))))
    return 360 - angle if large else angle


def test_sunburst_angles_links_and_titles():
    tree = [
        {"label": "5 Action sociale", "value": 600_00, "href": "?code=5", "children": [
            {"label": "51 Famille", "value": 450_00, "href": "?code=51"}, {"label": "52 Handicap", "value": 150_00, "href": ""}]},
        {"label": "2 Enseignement", "value": 300_00, "href": "", "children": []},
        {"label": "9 Rien", "value": 0, "href": "?code=9", "children": []},
    ]
    svg = charts.sunburst(tree, title="Dépenses", description="Anneaux.", uid="s")
    paths = re.findall(r'<path d="([^"]+)" class="sb sb(\d)( sb-outer)?"', svg)
    assert len(paths) == 4  # two inner segments, two children; the zero value is only in the table
    inner = [p for p, _, outer in paths if not outer]
    assert _arc_angle(inner[0]) == pytest.approx(240, abs=0.5) and _arc_angle(inner[1]) == pytest.approx(120, abs=0.5)
    outer = [p for p, _, o in paths if o]
    assert _arc_angle(outer[0]) == pytest.approx(180, abs=0.5) and _arc_angle(outer[1]) == pytest.approx(60, abs=0.5)
    assert '<a href="?code=5">' in svg and '<a href="?code=51">' in svg and "?code=9" not in svg
    assert "51 Famille : 450 € (50,0% du total, 75% de 5 Action sociale)" in svg
    assert 'role="group"' in svg and '<title id="s-t">Dépenses</title>' in svg and ">900 €<" in svg
    assert charts.sunburst([], title="x", description="y", uid="z") == ""


def test_sunburst_single_item_is_a_full_ring():
    svg = charts.sunburst([{"label": "6 Charges", "value": 5, "href": "", "children": []}], title="T", description="D", uid="u")
    d = re.search(r'<path d="([^"]+)"', svg).group(1)
    assert d.count("M") == 2  # drawn as two half rings
    assert 'role="img"' in svg
    standalone = charts.standalone_svg(svg)
    assert 'class="sb sb0" fill="#1f4e8c"' in standalone and 'class="sb-center" font-size="13"' in standalone
