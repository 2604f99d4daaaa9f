"""Server-rendered accessible SVG charts (role="img", <title>, <desc>); no script, nothing from
elsewhere. Each chart goes with its data table and CSV in the templates."""

from __future__ import annotations

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
