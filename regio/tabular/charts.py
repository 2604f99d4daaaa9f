"""Server-side SVG bar charts (no JavaScript), each with a text alternative."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.html import escape

WIDTH = 320
HEIGHT = 120


def _label(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return number_format(round(value), use_l10n=True, force_grouping=True)
    return number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


def histogram_bins(bins: list[dict]) -> list[dict]:
    return [{**b, "label": f"de {_label(b['low'])} à {_label(b['high'])}"} for b in bins]


def histogram_svg(column: dict, chart_id: str) -> str:
    bins = histogram_bins(column.get("histogram") or [])
    if not bins:
        return ""
    peak = max(b["count"] for b in bins) or 1
    bar_width = WIDTH / len(bins)
    bars = []
    for index, b in enumerate(bins):
        height = round(b["count"] / peak * (HEIGHT - 20), 1)
        x = round(index * bar_width, 1)
        y = round(HEIGHT - 16 - height, 1)
        bars.append(
            f'<rect class="bar" x="{x + 1}" y="{y}" width="{round(bar_width - 2, 1)}" height="{height}">'
            f"<title>{escape(b['label'])} : {b['count']} valeurs</title></rect>"
        )
    name = escape(column["name"])
    return (
        f'<svg class="histogram" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title" focusable="false">'
        f'<title id="{chart_id}-title">Histogramme de la colonne {name} : répartition des valeurs en {len(bins)} classes '
        f"(détail dans le tableau qui suit)</title>"
        + "".join(bars)
        + f'<line x1="0" y1="{HEIGHT - 16}" x2="{WIDTH}" y2="{HEIGHT - 16}" class="axis"/>'
        f'<text x="0" y="{HEIGHT - 2}" class="tick">{escape(_label(bins[0]["low"]))}</text>'
        f'<text x="{WIDTH}" y="{HEIGHT - 2}" class="tick end">{escape(_label(bins[-1]["high"]))}</text>'
        "</svg>"
    )
