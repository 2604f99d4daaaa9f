"""Reads and geo helpers of the territory lens, identical on SQLite and PostgreSQL.

Distances are haversine great-circle distances computed in Python after a bounding-box
prefilter that uses the ``(lat, lon)`` index, so no database-specific geo extension is needed.
Every module that stores a place (``lat``/``lon`` columns) uses :func:`within_radius` and
:func:`nearest` for its "near me" queries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db.models import Case, IntegerField, QuerySet, Value, When

from regio.core.text import search_forms

from .models import EPCI, RURAL_CLASSES, URBAN_CLASSES, Commune, Departement, PostalCode, Region

EARTH_RADIUS_KM = 6371.0088
MAX_RADIUS_KM = 500.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that contains every point within ``radius_km``."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@dataclass(frozen=True)
class Near:
    obj: object
    distance_km: float


def within_radius(
    queryset: QuerySet, lat: float, lon: float, radius_km: float, *, lat_field: str = "lat", lon_field: str = "lon"
) -> list[Near]:
    """Objects of ``queryset`` within ``radius_km`` of the point, nearest first."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    candidates = queryset.filter(
        **{
            f"{lat_field}__gte": min_lat,
            f"{lat_field}__lte": max_lat,
            f"{lon_field}__gte": min_lon,
            f"{lon_field}__lte": max_lon,
        }
    )
    found = []
    for obj in candidates:
        d = haversine_km(lat, lon, getattr(obj, lat_field), getattr(obj, lon_field))
        if d <= radius_km:
            found.append(Near(obj, d))
    found.sort(key=lambda n: (n.distance_km, str(getattr(n.obj, "pk", ""))))
    return found


def nearest(queryset: QuerySet, lat: float, lon: float, k: int, *, start_km: float = 5.0, **fields) -> list[Near]:
    """The ``k`` objects nearest to the point, widening the search box until enough are found."""
    radius = start_km
    total = queryset.count()
    while True:
        found = within_radius(queryset, lat, lon, radius, **fields)
        if len(found) >= k or radius >= 2 * math.pi * EARTH_RADIUS_KM or len(found) >= total:
            return found[:k]
        radius *= 2


def communes() -> QuerySet:
    """Active communes with their parents; contours (several KB each) are only loaded for maps."""
    return (
        Commune.objects.filter(is_active=True)
        .select_related("departement", "epci", "region")
        .defer("contour", "departement__contour", "region__contour")
    )


def contours(codes: Iterable[str]) -> dict[str, str]:
    codes = list(codes)
    return dict(Commune.objects.filter(code__in=codes).values_list("code", "contour")) if codes else {}


def commune_by_code(code: str) -> Commune | None:
    return communes().filter(code=code).first()


def commune_by_code_or_postal_code(value: str) -> Commune | None:
    """Resolve an INSEE code, else a postal code (the most populated commune that has it)."""
    value = value.strip()
    found = commune_by_code(value)
    if found:
        return found
    row = (
        PostalCode.objects.filter(code=value, commune__is_active=True)
        .select_related("commune")
        .order_by("-commune__population")
        .first()
    )
    return commune_by_code(row.commune_id) if row else None


def search_communes(q: str, *, postal_code: str = "", region_only: bool = False) -> QuerySet:
    """Communes by name (accent-, case- and hyphen-insensitive) or by postal code.

    Names starting with the query come first, then the most populated.
    """
    qs = communes()
    if region_only:
        qs = qs.filter(region_id=settings.REGION_CODE)
    q = (q or "").strip()
    if postal_code:
        qs = qs.filter(postal_code_rows__code__startswith=postal_code.strip()).distinct()
    if q.isdigit():
        return qs.filter(postal_code_rows__code__startswith=q).distinct().order_by("-population", "name")
    needle = search_forms(q)
    if not needle:
        return qs.order_by("-population", "name") if postal_code else qs.none()
    return (
        qs.filter(name_search__contains=needle)
        .annotate(
            prefix_rank=Case(
                When(name_search=needle, then=Value(0)),
                When(name_search__startswith=needle, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("prefix_rank", "-population", "name")
    )


def communes_near_commune(code: str, radius_km: float) -> list[Near]:
    centre = commune_by_code(code)
    if centre is None or centre.lat is None:
        return []
    return [n for n in within_radius(communes(), centre.lat, centre.lon, radius_km) if n.obj.code != code]


def neighbours(commune: Commune, radius_km: float = 10.0) -> list[Near]:
    return communes_near_commune(commune.code, radius_km)


@lru_cache(maxsize=1)
def _region_cached(code: str) -> Region | None:
    return Region.objects.filter(code=code).first()


def platform_region() -> Region | None:
    return _region_cached(settings.REGION_CODE)


def clear_caches() -> None:
    _region_cached.cache_clear()


def region_key_figures(region: Region) -> dict:
    qs = Commune.objects.filter(region=region, is_active=True)
    return {
        "population": region.population,
        "departements": region.departements.count(),
        "epci": EPCI.objects.filter(region=region, is_active=True).count(),
        "communes": qs.count(),
    }


def departements_of(region: Region) -> QuerySet:
    return Departement.objects.filter(region=region).order_by("code")


def communes_of(*, epci: EPCI | None = None, departement: Departement | None = None) -> QuerySet:
    qs = Commune.objects.filter(is_active=True)
    if epci is not None:
        qs = qs.filter(epci=epci)
    if departement is not None:
        qs = qs.filter(departement=departement)
    return qs.order_by("-population", "name")


# ---- the territory lens: aggregation helpers for every module -------------------------------

LEVEL_FIELDS = {"commune": "code", "epci": "epci_id", "departement": "departement_id", "region": "region_id"}


def per_inhabitant(amounts_by_commune: dict[str, float], level: str = "commune") -> dict[str, dict]:
    """Sum commune amounts up to ``level`` and divide by population.

    Returns ``{territory_code: {"total": x, "population": p, "per_inhabitant": x / p or None}}``.
    The population of an EPCI, département or région is that of its loaded member communes.
    """
    if level not in LEVEL_FIELDS:
        raise ValueError(f"Niveau territorial inconnu : {level}")
    key = LEVEL_FIELDS[level]
    totals: dict[str, float] = defaultdict(float)
    rows = _commune_rows(amounts_by_commune.keys())
    for code, amount in amounts_by_commune.items():
        row = rows.get(code)
        if row is None or row[key] is None:
            continue
        totals[row[key]] += amount
    populations: dict[str, int] = defaultdict(int)
    for row in Commune.objects.filter(is_active=True, **{f"{key}__in": list(totals)}).values(key, "population"):
        populations[row[key]] += row["population"] or 0
    return {
        code: {
            "total": total,
            "population": populations.get(code) or None,
            "per_inhabitant": (total / populations[code]) if populations.get(code) else None,
        }
        for code, total in totals.items()
    }


def urban_rural_split(amounts_by_commune: dict[str, float]) -> dict[str, float]:
    """Split commune amounts into ``urbain`` (classes 1–4), ``rural`` (5–7) and ``inconnu``."""
    split = {"urbain": 0.0, "rural": 0.0, "inconnu": 0.0}
    rows = _commune_rows(amounts_by_commune.keys())
    for code, amount in amounts_by_commune.items():
        density = rows.get(code, {}).get("density_class")
        if density in URBAN_CLASSES:
            split["urbain"] += amount
        elif density in RURAL_CLASSES:
            split["rural"] += amount
        else:
            split["inconnu"] += amount
    return split


def _commune_rows(codes: Iterable[str]) -> dict[str, dict]:
    codes = list(codes)
    rows: dict[str, dict] = {}
    for i in range(0, len(codes), 500):
        for row in Commune.objects.filter(code__in=codes[i : i + 500]).values(
            "code", "epci_id", "departement_id", "region_id", "density_class", "population"
        ):
            rows[row["code"]] = row
    return rows
