"""JSON API of the debates registry (``/api/1/debates``)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from regio.accounts.auth import session_or_token
from regio.accounts.models import Organisation
from regio.core.pagination import paginate

from . import selectors, services
from .models import THEMES, Debate

router = Router(tags=["Débats publics"])


class MeetingOut(Schema):
    title: str
    starts_at: str
    ends_at: str | None
    online: bool
    address: str
    commune: str | None
    lat: float | None
    lon: float | None
    url: str


class DebateOut(Schema):
    id: int
    title: str
    summary: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    organiser: str
    organiser_id: int | None
    level: str
    themes: list[str]
    territory_codes: list[str]
    online: bool
    address: str
    address_unresolved: bool
    commune: str | None
    commune_name: str | None
    lat: float | None
    lon: float | None
    opens_on: date | None
    closes_on: date | None
    url: str
    results_url: str
    page_url: str
    distance_km: float | None
    meetings: list[MeetingOut] | None = None


class DebateList(Schema):
    data: list[DebateOut]
    page: int
    page_size: int
    total: int
    next_page: str | None


class DebateFiltersIn(Schema):
    q: str = ""
    theme: str = ""
    status: str = ""
    level: str = ""
    near: str = ""
    radius_km: float = 15.0
    date_from: date | None = None
    date_to: date | None = None


def debate_dict(debate: Debate, distance_km: float | None = None, *, with_meetings: bool = False) -> dict:
    out = {
        "id": debate.pk,
        "title": debate.title,
        "summary": debate.summary,
        "kind": debate.kind,
        "kind_label": debate.get_kind_display(),
        "status": debate.status,
        "status_label": debate.get_status_display(),
        "organiser": debate.organiser_name,
        "organiser_id": debate.organiser_id,
        "level": debate.level,
        "themes": debate.theme_list,
        "territory_codes": debate.territory_list,
        "online": debate.online,
        "address": debate.address,
        "address_unresolved": debate.address_unresolved,
        "commune": debate.commune_id,
        "commune_name": debate.commune.name if debate.commune_id else None,
        "lat": debate.lat,
        "lon": debate.lon,
        "opens_on": debate.opens_on,
        "closes_on": debate.closes_on,
        "url": debate.url,
        "results_url": debate.results_url,
        "page_url": f"/debats/{debate.pk}",
        "distance_km": round(distance_km, 2) if distance_km is not None else None,
    }
    if with_meetings:
        out["meetings"] = [
            {
                "title": m.title, "starts_at": m.starts_at.isoformat(), "ends_at": m.ends_at.isoformat() if m.ends_at else None,
                "online": m.online, "address": m.address, "commune": m.commune_id, "lat": m.lat, "lon": m.lon, "url": m.url,
            }
            for m in debate.meetings.all()
        ]
    return out


def filters_from(params: DebateFiltersIn) -> selectors.DebateFilters:
    try:
        return selectors.DebateFilters(**params.dict()).validate()
    except selectors.FilterError as exc:
        raise HttpError(422, str(exc))


@router.get(
    "/debates",
    response=DebateList,
    summary="Débats publics du territoire",
    description="Filtres : `q` (texte), `theme` (" + ", ".join(THEMES) + "), `status` (upcoming, open, closed, results), "
    "`level` (region, departement, epci, commune, autre), `near` (code INSEE, code postal ou nom de commune) et "
    "`radius_km` (15 par défaut) : résultats triés par distance, chacun avec `distance_km`.",
)
def list_debates(request, filters: Query[DebateFiltersIn], page: int = 1, page_size: int = 20):
    hits = selectors.search(filters_from(filters))
    return paginate(request, hits, page, page_size, lambda h: debate_dict(h.debate, h.distance_km))


@router.get("/debates/themes", summary="Thèmes des débats")
def list_themes(request):
    return [{"slug": slug, "label": label} for slug, label in THEMES.items()]


@router.get("/debates/{debate_id}", response=DebateOut, summary="Un débat, avec ses réunions")
def get_debate(request, debate_id: int):
    debate = selectors.debate_detail(debate_id)
    if debate is None:
        raise HttpError(404, "Ce débat n'existe pas ou n'est pas publié.")
    return debate_dict(debate, with_meetings=True)


class DebateIn(Schema):
    organisation_id: int
    title: str
    summary: str = ""
    kind: str = "concertation"
    themes: list[str] = []
    address: str = ""
    commune: str = ""
    lat: float | None = None
    lon: float | None = None
    online: bool = False
    opens_on: date | None = None
    closes_on: date | None = None
    url: str = ""
    results_url: str = ""


@router.post("/debates", response={201: DebateOut}, auth=session_or_token, summary="Déclarer un débat (agent d'une collectivité)")
def create_debate(request, body: DebateIn):
    organisation = get_object_or_404(Organisation, pk=body.organisation_id)
    data = body.dict()
    data["commune_code"] = data.pop("commune")
    try:
        debate = services.submit_debate(request.auth, organisation, data)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc))
    except ValidationError as exc:
        raise HttpError(422, " ; ".join(exc.messages))
    return Status(201, debate_dict(debate))
