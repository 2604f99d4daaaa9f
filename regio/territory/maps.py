"""Small server-rendered SVG maps of contours: no script, no tile server, nothing from elsewhere."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from html import escape


@dataclass
class Layer:
    geometry: str  # GeoJSON geometry as text
    css_class: str
    label: str = ""
    href: str = ""


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def render_svg(layers: list[Layer], *, title: str, description: str, width: int = 480, height: int = 360) -> str:
    """An accessible SVG (role="img", <title>, <desc>) drawing ``layers`` in an equirectangular view."""
    parsed = []
    for layer in layers:
        if not layer.geometry:
            continue
        try:
            parsed.append((layer, _rings(json.loads(layer.geometry))))
        except (ValueError, KeyError):
            continue
    points = [pt for _, rings in parsed for ring in rings for pt in ring]
    if not points:
        return ""
    min_lon = min(p[0] for p in points)
    max_lon = max(p[0] for p in points)
    min_lat = min(p[1] for p in points)
    max_lat = max(p[1] for p in points)
    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x = max((max_lon - min_lon) * kx, 1e-9)
    span_y = max(max_lat - min_lat, 1e-9)
    scale = min((width - 20) / span_x, (height - 20) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def project(pt):
        return ((pt[0] - min_lon) * kx * scale + off_x, (max_lat - pt[1]) * scale + off_y)

    # A map whose shapes are links is a group of links, not a single image (no nested controls).
    role = "group" if any(layer.href for layer, _ in parsed) else "img"
    paths = []
    for layer, rings in parsed:
        d = " ".join(
            "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in map(project, ring)) + " Z" for ring in rings if ring
        )
        path = f'<path class="{escape(layer.css_class)}" d="{d}" fill-rule="evenodd">'
        path += f"<title>{escape(layer.label)}</title></path>" if layer.label else "</path>"
        if layer.href:
            path = f'<a href="{escape(layer.href)}">{path}</a>'
        paths.append(path)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="{role}" '
        f'aria-labelledby="map-title map-desc" class="territory-map">'
        f'<title id="map-title">{escape(title)}</title><desc id="map-desc">{escape(description)}</desc>'
        + "".join(paths)
        + "</svg>"
    )
