from django.db.models import Q
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from regio.core.pagination import paginate
from regio.core.text import normalize_text

from .models import Organisation

router = Router(tags=["Organisations"])


class OrganisationOut(Schema):
    id: int
    slug: str
    name: str
    kind: str
    kind_label: str
    siren: str
    territory_level: str
    territory_code: str | None
    commune: str | None
    epci: str | None
    departement: str | None
    region: str | None
    url: str


class OrganisationList(Schema):
    data: list[OrganisationOut]
    page: int
    page_size: int
    total: int
    next_page: str | None


def organisation_dict(o: Organisation) -> dict:
    return {
        "id": o.pk,
        "slug": o.slug,
        "name": o.name,
        "kind": o.kind,
        "kind_label": o.get_kind_display(),
        "siren": o.siren,
        "territory_level": o.territory_level,
        "territory_code": o.territory_code,
        "commune": o.commune_id,
        "epci": o.epci_id,
        "departement": o.departement_id,
        "region": o.region_id,
        "url": f"/organisations/{o.slug}",
    }


@router.get("/organizations", response=OrganisationList, summary="Organisations (collectivités, associations, entreprises…)")
def list_organisations(request, q: str = "", kind: str = "", territory: str = "", page: int = 1, page_size: int = 20):
    qs = Organisation.objects.all()
    if kind:
        qs = qs.filter(kind__in=kind.split(","))
    if territory:
        qs = qs.filter(Q(commune_id=territory) | Q(epci_id=territory) | Q(departement_id=territory) | Q(region_id=territory))
    for word in normalize_text(q).split():
        qs = qs.filter(Q(name__icontains=word) | Q(slug__icontains=word))
    return paginate(request, qs.order_by("kind", "name"), page, page_size, organisation_dict)


@router.get("/organizations/{slug}", response=OrganisationOut, summary="Détail d'une organisation")
def organisation_detail(request, slug: str):
    return organisation_dict(get_object_or_404(Organisation, slug=slug))
