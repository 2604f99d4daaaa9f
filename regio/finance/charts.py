"""Server-rendered accessible SVG charts (role="img", <title>, <desc>); no script, nothing from
elsewhere. Each chart goes with its data table and CSV in the templates."""

from __future__ import annotations

import math
import re
from html import escape


def euros(cents: float) -> str:
    return f"{cents / 100:,.0f} €".replace(",", "\u202f")


def bar_chart(rows: list[tuple[str, float, str]], *, title: str, description: str, uid: str,
              value_format=euros, width: int = 640) -> str:
    """Horizontal bars: ``rows`` = (label, value, href or ""). Bars with a link drill down."""
    if not rows:
        return ""
    bar_h, gap, label_w = 22, 6, 260
    height = len(rows) * (bar_h + gap) + 10
    top = max((v for _, v, _ in rows), default=0) or 1
    parts = []
    for i, (label, value, href) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        w = max(1.0, (width - label_w - 120) * (value / top)) if value > 0 else 0
        text = f"{label} : {value_format(value)}"
        bar = (
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" class="chart-label">{escape(label[:40])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" class="chart-bar"><title>{escape(text)}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="chart-value">{escape(value_format(value))}</text>'
        )
        if href:
            bar = f'<a href="{escape(href)}">{bar}</a>'
        parts.append(bar)
    role = "group" if any(h for _, _, h in rows) else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="{role}" class="finance-chart" '
        f'aria-labelledby="{uid}-t {uid}-d"><title id="{uid}-t">{escape(title)}</title>'
        f'<desc id="{uid}-d">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


def lorenz_chart(points: list[tuple[float, float]], gini: float | None, *, uid: str = "lorenz", size: int = 320) -> str:
    pad = 40
    inner = size - 2 * pad

    def xy(px, py):
        return pad + px * inner, size - pad - py * inner

    curve = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(px, py) for px, py in points))
    g = "non calculable" if gini is None else f"{gini:.3f}".replace(".", ",")
    desc = (
        f"Courbe de Lorenz : part cumulée des montants reçus en fonction de la part cumulée des bénéficiaires, "
        f"classés du plus petit au plus grand montant. Indice de Gini : {g} (0 = égalité parfaite, 1 = un seul "
        "bénéficiaire reçoit tout)."
    )
    x0, y0 = xy(0, 0)
    x1, y1 = xy(1, 1)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" class="finance-chart lorenz" '
        f'aria-labelledby="{uid}-t {uid}-d"><title id="{uid}-t">Concentration des subventions (courbe de Lorenz)</title>'
        f'<desc id="{uid}-d">{escape(desc)}</desc>'
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" class="chart-frame"/>'
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" class="chart-equality"/>'
        f'<polyline points="{curve}" class="chart-curve"/>'
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" class="chart-label">part des bénéficiaires</text>'
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" text-anchor="middle" class="chart-label">part des montants</text>'
        "</svg>"
    )


# ------------------------------------------------------------------------------ treemap

def _worst(row: list[float], side: float) -> float:
    total = sum(row)
    if not total or not side:
        return float("inf")
    return max(side * side * max(row) / (total * total), (total * total) / (side * side * min(row)))


def squarify(areas: list[float], x: float, y: float, w: float, h: float) -> list[tuple[float, float, float, float]]:
    """Squarified treemap layout (Bruls, Huizing, van Wijk): ``areas`` sorted from largest to
    smallest and summing to ``w * h`` → one rectangle (x, y, width, height) per area, in order."""
    out: list[tuple[float, float, float, float]] = []
    i = 0
    while i < len(areas):
        side = min(w, h)
        row = [areas[i]]
        j = i + 1
        while j < len(areas) and _worst(row + [areas[j]], side) <= _worst(row, side):
            row.append(areas[j])
            j += 1
        total = sum(row)
        if w >= h:  # a column along the left side
            cw = total / h if h else 0
            yy = y
            for a in row:
                rh = a / cw if cw else 0
                out.append((x, yy, cw, rh))
                yy += rh
            x, w = x + cw, w - cw
        else:  # a row along the top
            rh = total / w if w else 0
            xx = x
            for a in row:
                rw = a / rh if rh else 0
                out.append((xx, y, rw, rh))
                xx += rw
            y, h = y + rh, h - rh
        i = j
    return out


def treemap(rows: list[tuple[str, float, str]], *, title: str, description: str, uid: str,
            value_format=euros, width: int = 640, height: int = 380) -> str:
    """Treemap of ``rows`` = (label, value, href or ""): each rectangle's area is proportional to its
    value; rectangles with a link drill down (keyboard: Tab then Enter). Non-positive values are
    left out of the drawing (they stay in the data table)."""
    items = sorted(((label, value, href) for label, value, href in rows if value > 0), key=lambda r: -r[1])
    total = sum(v for _, v, _ in items)
    if not items or not total:
        return ""
    rects = squarify([v / total * width * height for _, v, _ in items], 0, 0, width, height)
    parts = []
    for i, ((label, value, href), (x, y, w, h)) in enumerate(zip(items, rects, strict=True)):
        share = value / total
        text = f"{label} : {value_format(value)} ({share:.1%})".replace(".", ",")
        cell = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w - 1, 0):.1f}" height="{max(h - 1, 0):.1f}" '
                f'class="tm tm{i % 6}"><title>{escape(text)}</title></rect>')
        if w > 70 and h > 34:
            chars = max(4, int((w - 8) / 7))
            short = label if len(label) <= chars else label[: chars - 1] + "…"
            cell += (f'<text x="{x + 5:.1f}" y="{y + 16:.1f}" class="tm-label">{escape(short)}</text>'
                     f'<text x="{x + 5:.1f}" y="{y + 31:.1f}" class="tm-label">{escape(value_format(value))}</text>')
        if href:
            cell = f'<a href="{escape(href)}">{cell}</a>'
        parts.append(cell)
    role = "group" if any(h for _, _, h in items) else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="{role}" class="finance-chart treemap" '
        f'aria-labelledby="{uid}-t {uid}-d"><title id="{uid}-t">{escape(title)}</title>'
        f'<desc id="{uid}-d">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


# ------------------------------------------------------------------------------ sunburst

def _polar(cx: float, cy: float, r: float, angle: float) -> tuple[float, float]:
    return cx + r * math.cos(angle), cy + r * math.sin(angle)


def ring_segment(cx: float, cy: float, r0: float, r1: float, a0: float, a1: float) -> str:
    """SVG path of the ring between radii ``r0`` < ``r1`` from angle ``a0`` to ``a1`` (radians,
    clockwise from 12 o'clock once offset). A full turn is drawn as two halves (an arc whose ends
    coincide draws nothing)."""
    if a1 - a0 >= 2 * math.pi - 1e-9:
        mid = a0 + math.pi
        return ring_segment(cx, cy, r0, r1, a0, mid) + " " + ring_segment(cx, cy, r0, r1, mid, a0 + 2 * math.pi)
    large = 1 if a1 - a0 > math.pi else 0
    x0, y0 = _polar(cx, cy, r1, a0)
    x1, y1 = _polar(cx, cy, r1, a1)
    x2, y2 = _polar(cx, cy, r0, a1)
    x3, y3 = _polar(cx, cy, r0, a0)
    return (f"M{x0:.2f},{y0:.2f} A{r1},{r1} 0 {large} 1 {x1:.2f},{y1:.2f} "
            f"L{x2:.2f},{y2:.2f} A{r0},{r0} 0 {large} 0 {x3:.2f},{y3:.2f} Z")


def sunburst(tree: list[dict], *, title: str, description: str, uid: str, center: str = "",
             value_format=euros, size: int = 440) -> str:
    """Two-level sunburst: ``tree`` = [{label, value, href, children: [{label, value, href}]}].
    The inner ring holds the first level, the outer ring each item's sub-levels, angles
    proportional to amounts (from 12 o'clock, clockwise, largest first). Items with a link drill
    down (keyboard: Tab then Enter); each segment has a ``<title>``. Non-positive values are left
    out of the drawing (they stay in the data table)."""
    items = sorted((n for n in tree if n["value"] > 0), key=lambda n: -n["value"])
    total = sum(n["value"] for n in items)
    if not items or not total:
        return ""
    cx = cy = size / 2
    r_hole, r_mid, r_out = size * 0.17, size * 0.32, size * 0.48
    start = -math.pi / 2
    parts = []
    for i, node in enumerate(items):
        span = 2 * math.pi * node["value"] / total
        text = f"{node['label']} : {value_format(node['value'])} ({node['value'] / total:.1%})".replace(".", ",")
        seg = f'<path d="{ring_segment(cx, cy, r_hole, r_mid, start, start + span)}" class="sb sb{i % 6}"><title>{escape(text)}</title></path>'
        if span > 0.35:  # room for the code in the ring
            lx, ly = _polar(cx, cy, (r_hole + r_mid) / 2, start + span / 2)
            code = node["label"].split(" ", 1)[0]
            seg += f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle" class="sb-label">{escape(code[:6])}</text>'
        if node.get("href"):
            seg = f'<a href="{escape(node["href"])}">{seg}</a>'
        parts.append(seg)
        children = sorted((c for c in node.get("children", []) if c["value"] > 0), key=lambda c: -c["value"])
        child_total = sum(c["value"] for c in children)
        a = start
        for child in children:
            # the children share their parent's angle in proportion to their amounts
            c_span = span * child["value"] / child_total
            c_text = (f"{child['label']} : {value_format(child['value'])} ({child['value'] / total:.1%} du total, "
                      f"{child['value'] / node['value']:.0%} de {node['label']})").replace(".", ",")
            cseg = (f'<path d="{ring_segment(cx, cy, r_mid + 2, r_out, a, a + c_span)}" class="sb sb{i % 6} sb-outer">'
                    f"<title>{escape(c_text)}</title></path>")
            if child.get("href"):
                cseg = f'<a href="{escape(child["href"])}">{cseg}</a>'
            parts.append(cseg)
            a += c_span
        start += span
    middle = (f'<text x="{cx}" y="{cy - 4}" text-anchor="middle" class="sb-center">Total</text>'
              f'<text x="{cx}" y="{cy + 14}" text-anchor="middle" class="sb-center">{escape(center or value_format(total))}</text>')
    role = "group" if any(n.get("href") for n in items) or any(c.get("href") for n in items for c in n.get("children", [])) else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="{role}" class="finance-chart sunburst" '
        f'aria-labelledby="{uid}-t {uid}-d"><title id="{uid}-t">{escape(title)}</title>'
        f'<desc id="{uid}-d">{escape(description)}</desc>' + "".join(parts) + middle + "</svg>"
    )


# ------------------------------------------------------------------------------ standalone files

# the page's CSS classes as SVG presentation attributes, for the downloaded SVG and its PNG
# rendering (an SVG file or image does not get the page's style sheet)
PRESENTATION = {
    "chart-bar": 'fill="#1f4e8c"',
    "chart-label": 'font-size="12" fill="#1e1e1e" font-family="sans-serif"',
    "chart-value": 'font-size="12" fill="#1e1e1e" font-family="sans-serif"',
    "chart-frame": 'fill="none" stroke="#666666"',
    "chart-equality": 'stroke="#666666" stroke-dasharray="4 3"',
    "chart-curve": 'fill="none" stroke="#1f4e8c" stroke-width="2"',
    "tm-label": 'font-size="12" fill="#ffffff" font-family="sans-serif"',
    "q1": 'fill="#deebf7" stroke="#ffffff" stroke-width=".3"', "q2": 'fill="#9ecae1" stroke="#ffffff" stroke-width=".3"',
    "q3": 'fill="#4292c6" stroke="#ffffff" stroke-width=".3"', "q4": 'fill="#2171b5" stroke="#ffffff" stroke-width=".3"',
    "q5": 'fill="#08306b" stroke="#ffffff" stroke-width=".3"',
}
TREEMAP_FILLS = ["#1f4e8c", "#8a2b00", "#2e6b30", "#5b3a8c", "#7a5a00", "#00606b"]
SUNBURST_OUTER_FILLS = ["#6f8fc0", "#c07a5a", "#79a87b", "#9a83c0", "#b59a4f", "#5aa3ad"]
for _i, _fill in enumerate(TREEMAP_FILLS):
    PRESENTATION[f"tm tm{_i}"] = f'fill="{_fill}" stroke="#ffffff"'
    PRESENTATION[f"sb sb{_i}"] = f'fill="{_fill}" stroke="#ffffff"'
    PRESENTATION[f"sb sb{_i} sb-outer"] = f'fill="{SUNBURST_OUTER_FILLS[_i]}" stroke="#ffffff"'
PRESENTATION["sb-label"] = 'font-size="12" fill="#ffffff" font-family="sans-serif"'
PRESENTATION["sb-center"] = 'font-size="13" fill="#1e1e1e" font-family="sans-serif"'

_CLASS = re.compile(r'class="([^"]+)"')
_VIEWBOX = re.compile(r'<svg([^>]*?) viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"')


def standalone_svg(svg: str) -> str:
    """The chart as a file: colours and fonts as presentation attributes, explicit width/height."""
    svg = _CLASS.sub(lambda m: f'class="{m.group(1)}" {PRESENTATION[m.group(1)]}' if m.group(1) in PRESENTATION else m.group(0), svg)
    svg = _VIEWBOX.sub(lambda m: f'<svg{m.group(1)} width="{m.group(2)}" height="{m.group(3)}" viewBox="0 0 {m.group(2)} {m.group(3)}"', svg, count=1)
    return svg
