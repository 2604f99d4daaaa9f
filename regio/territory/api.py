"""Territory API: communes search, detail and "near" queries; EPCI, département, région."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from regio.core.pagination import paginate

from . import selectors
from .models import EPCI, Commune, Departement, Region

router = Router(tags=["Territoire"])


class Ref(Schema):
    code: str
    name: str


class CommuneOut(Schema):
    code: str
    name: str
    population: int | None
    postal_codes: list[str]
    lat: float | None
    lon: float | None
    density_class: int | None = Field(description="Grille de densité INSEE à 7 niveaux (1 = grand centre urbain … 7 = rural très dispersé), null si inconnue")
    density_label: str | None
    area_kind: str = Field(description="urbain, rural ou inconnu")
    departement: Ref
    region: Ref
    epci: Ref | None


class CommuneNearOut(CommuneOut):
    distance_km: float


class Envelope(Schema):
    page: int
    page_size: int
    total: int
    next_page: str | None


class CommuneList(Envelope):
    data: list[CommuneOut]


class CommuneNearList(Envelope):
    data: list[CommuneNearOut]


class EPCIOut(Schema):
    siren: str
    name: str
    kind: str
    kind_label: str
    population: int | None
    nb_communes: int
    departement: Ref | None
    region: Ref | None
    communes: list[CommuneOut]


class DepartementOut(Schema):
    code: str
    name: str
    population: int | None
    region: Ref
    chef_lieu_code: str
    communes_count: int
    epci: list[Ref]


class RegionOut(Schema):
    code: str
    name: str
    population: int | None
    chef_lieu_code: str
    departements: list[Ref]


def commune_dict(c: Commune, distance_km: float | None = None) -> dict:
    data = {
        "code": c.code,
        "name": c.name,
        "population": c.population,
        "postal_codes": c.postal_code_list,
        "lat": c.lat,
        "lon": c.lon,
        "density_class": c.density_class,
        "density_label": c.get_density_class_display() if c.density_class else None,
        "area_kind": c.area_kind,
        "departement": {"code": c.departement_id, "name": c.departement.name},
        "region": {"code": c.region_id, "name": c.region.name},
        "epci": {"code": c.epci_id, "name": c.epci.name} if c.epci_id else None,
    }
    if distance_km is not None:
        data["distance_km"] = round(distance_km, 3)
    return data


class NearParams(Schema):
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude WGS84 du point")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude WGS84 du point")
    commune: str | None = Field(None, description="Code INSEE (ou code postal) de la commune de référence")
    radius_km: float = Field(10, gt=0, le=selectors.MAX_RADIUS_KM, description="Rayon en kilomètres")
    page: int = 1
    page_size: int = 20


@router.get("/communes", response=CommuneList, summary="Rechercher des communes")
def list_communes(
    request,
    q: str = Query("", description="Nom (sans accents ni majuscules requis) ou code postal"),
    postal_code: str = Query("", description="Code postal (ou son début)"),
    page: int = 1,
    page_size: int = 20,
):
    qs = selectors.search_communes(q, postal_code=postal_code) if (q or postal_code) else selectors.communes().order_by("name")
    return paginate(request, qs, page, page_size, commune_dict)


@router.get("/communes/near", response=CommuneNearList, summary="Communes dans un rayon, de la plus proche à la plus lointaine")
def communes_near(request, params: Query[NearParams]):
    if params.commune:
        centre = selectors.commune_by_code_or_postal_code(params.commune)
        if centre is None:
            raise HttpError(404, f"Aucune commune ne correspond à « {params.commune} ».")
        lat, lon = centre.lat, centre.lon
    elif params.lat is not None and params.lon is not None:
        lat, lon = params.lat, params.lon
    else:
        raise HttpError(422, "Indiquez soit une commune (commune=), soit un point (lat= et lon=).")
    found = selectors.within_radius(selectors.communes(), lat, lon, params.radius_km)
    return paginate(request, found, params.page, params.page_size, lambda n: commune_dict(n.obj, n.distance_km))


@router.get("/communes/{code}", response=CommuneOut, summary="Détail d'une commune")
def commune_detail(request, code: str):
    commune = selectors.commune_by_code(code)
    if commune is None:
        raise HttpError(404, f"La commune {code} n'existe pas.")
    return commune_dict(commune)


@router.get("/epci/{siren}", response=EPCIOut, summary="Détail d'un EPCI et de ses communes")
def epci_detail(request, siren: str):
    epci = get_object_or_404(EPCI.objects.select_related("departement", "region"), siren=siren)
    return {
        "siren": epci.siren,
        "name": epci.name,
        "kind": epci.kind,
        "kind_label": epci.get_kind_display(),
        "population": epci.population,
        "nb_communes": epci.nb_communes,
        "departement": {"code": epci.departement_id, "name": epci.departement.name} if epci.departement_id else None,
        "region": {"code": epci.region_id, "name": epci.region.name} if epci.region_id else None,
        "communes": [commune_dict(c) for c in selectors.communes_of(epci=epci).select_related("departement", "region", "epci")],
    }


@router.get("/departements/{code}", response=DepartementOut, summary="Détail d'un département")
def departement_detail(request, code: str):
    dept = get_object_or_404(Departement.objects.select_related("region"), code=code)
    return {
        "code": dept.code,
        "name": dept.name,
        "population": dept.population,
        "chef_lieu_code": dept.chef_lieu_code,
        "region": {"code": dept.region_id, "name": dept.region.name},
        "communes_count": selectors.communes_of(departement=dept).count(),
        "epci": [{"code": e.siren, "name": e.name} for e in dept.epcis.filter(is_active=True).order_by("name")],
    }


@router.get("/regions/{code}", response=RegionOut, summary="Détail d'une région")
def region_detail(request, code: str):
    region = get_object_or_404(Region, code=code)
    return {
        "code": region.code,
        "name": region.name,
        "population": region.population,
        "chef_lieu_code": region.chef_lieu_code,
        "departements": [{"code": d.code, "name": d.name} for d in selectors.departements_of(region)],
    }
