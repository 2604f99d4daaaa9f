"""JSON API: the public tracker (``/api/1/datarequests``) and the obligations monitor (``/api/1/obligations``)."""

from __future__ import annotations

import io
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja import Status as HttpStatus
from ninja.errors import HttpError

from regio.accounts.auth import session_or_token
from regio.accounts.models import Organisation
from regio.core.pagination import paginate
from regio.core.problems import problem

from . import obligations, selectors, services
from .models import DataRequest, Status

router = Router(tags=["Demandes de données et obligations"])


class TransitionOut(Schema):
    from_status: str
    to_status: str
    at: datetime
    note: str
    legal_ground: str


class RequestOut(Schema):
    slug: str
    title: str
    description: str
    purpose: str
    status: str
    status_label: str
    holder: str | None
    assigned_to: str | None
    territory_codes: list[str]
    submitted_at: datetime
    legal_deadline: date
    internal_deadline: date
    overdue: bool
    answered_at: datetime | None
    refusal_ground: str
    released_dataset: str | None
    supporters: int
    page_url: str
    history: list[TransitionOut] | None = None


def serialize(r: DataRequest, history: bool = False) -> dict:
    out = {
        "slug": r.slug, "title": r.title, "description": r.description, "purpose": r.purpose, "status": r.status,
        "status_label": r.get_status_display(), "holder": r.holder.slug if r.holder else None,
        "assigned_to": r.assigned_to.slug if r.assigned_to else None, "territory_codes": r.territory_codes,
        "submitted_at": r.submitted_at, "legal_deadline": r.legal_deadline, "internal_deadline": r.internal_deadline,
        "overdue": r.is_overdue(), "answered_at": r.answered_at, "refusal_ground": r.refusal_ground,
        "released_dataset": r.released_dataset.slug if r.released_dataset else None, "supporters": r.supporters_count,
        "page_url": r.get_absolute_url(),
    }
    if history:
        out["history"] = [
            {"from_status": t.from_status, "to_status": t.to_status, "at": t.at, "note": t.note, "legal_ground": t.legal_ground}
            for t in r.transitions.all()
        ]
    return out


class RequestList(Schema):
    data: list[RequestOut]
    page: int
    page_size: int
    total: int
    next_page: str | None


class RequestFilters(Schema):
    q: str = ""
    status: str = ""
    holder: str = ""
    territory: str = ""
    overdue: bool = False


@router.get("/datarequests", response=RequestList, summary="Demandes de données (suivi public)")
def list_requests(request, filters: Query[RequestFilters], page: int = 1, page_size: int = 20):
    if filters.status and filters.status not in Status.values:
        raise HttpError(422, f"status : valeur inconnue « {filters.status} » (valeurs : {', '.join(Status.values)}).")
    qs = selectors.filter_requests(selectors.public_requests(), **filters.dict())
    return paginate(request, qs, page, page_size, serialize)


@router.get("/datarequests/{slug}", response=RequestOut, summary="Une demande et son historique")
def get_request(request, slug: str):
    r = get_object_or_404(selectors.public_requests(), slug=slug)
    return serialize(r, history=True)


class RequestIn(Schema):
    title: str = ""
    description: str = ""
    purpose: str = ""
    holder: str = ""
    territory_codes: list[str] = []
    email: str = ""
    confirm_new: bool = False


def _validation(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        errors = [{"field": f, "message": m} for f, ms in exc.message_dict.items() for m in ms]
    else:
        errors = [{"field": "requête", "message": m} for m in exc.messages]
    return problem(422, " ; ".join(e["message"] for e in errors), errors=errors)


@router.post("/datarequests", response={201: RequestOut}, summary="Déposer une demande de données")
def create_request(request, payload: RequestIn):
    holder = None
    if payload.holder:
        holder = Organisation.objects.filter(slug=payload.holder).first()
        if holder is None:
            raise HttpError(422, f"holder : organisation inconnue « {payload.holder} ».")
    try:
        created = services.submit_request(
            request.user, payload.dict(), email=payload.email, confirm_new=payload.confirm_new, holder=holder
        )
    except services.PossibleDuplicate as exc:
        return problem(
            409, str(exc), title="Données peut-être déjà publiées",
            suggestions=[{"slug": d.slug, "title": d.title, "url": d.get_absolute_url()} for d in exc.datasets],
        )
    except ValidationError as exc:
        return _validation(exc)
    return HttpStatus(201, serialize(created))


class TransitionIn(Schema):
    status: str
    note: str = ""
    legal_ground: str = ""
    assigned_to: str = ""
    dataset: str = ""


@router.post("/datarequests/{slug}/transitions", response=RequestOut, auth=session_or_token, summary="Faire avancer une demande")
def post_transition(request, slug: str, payload: TransitionIn):
    r = get_object_or_404(DataRequest, slug=slug)
    org = get_object_or_404(Organisation, slug=payload.assigned_to) if payload.assigned_to else None
    dataset = None
    if payload.dataset:
        from regio.catalog.selectors import get_public_dataset

        try:
            dataset = get_public_dataset(payload.dataset)
        except Exception:
            raise HttpError(422, f"dataset : jeu de données publié introuvable « {payload.dataset} ».") from None
    try:
        r = services.transition(
            request.user, r, payload.status, note=payload.note, legal_ground=payload.legal_ground, assigned_to=org, dataset=dataset
        )
    except services.TransitionForbidden as exc:
        raise HttpError(409, str(exc)) from None
    except ValidationError as exc:
        return _validation(exc)
    except PermissionDenied:
        raise
    return serialize(r, history=True)


class SupportIn(Schema):
    email: str = ""


@router.post("/datarequests/{slug}/support", summary="Soutenir une demande (+1)")
def post_support(request, slug: str, payload: SupportIn):
    r = get_object_or_404(selectors.public_requests(), slug=slug)
    try:
        added = services.support(request.user, r, email=payload.email)
    except services.TransitionForbidden as exc:
        raise HttpError(409, str(exc)) from None
    except ValidationError as exc:
        return _validation(exc)
    return {"supported": True, "added": added, "supporters": r.supporters_count}


# --------------------------------------------------------------------------- obligations


class ObligationOut(Schema):
    organisation: str
    name: str
    kind: str
    code: str
    departement: str
    population: int | None
    agents: int | None
    subject: str
    subject_reason: str
    status: str
    publishes: bool
    datasets_count: int
    local_count: int
    harvested_count: int
    last_modified_at: datetime | None
    freshness_days: int | None
    quality_avg: float | None
    quality_scored: int
    scdl: list[str]
    next_to_publish: list[str]


class ObligationFilters(Schema):
    kind: str = ""
    subject: str = ""
    status: str = ""
    departement: str = ""
    q: str = ""
    sort: str = ""
    format: str = "json"


def _obligation(row) -> dict:
    out = {name: getattr(row, name) for name in ObligationOut.model_fields if name != "organisation"}
    out["organisation"] = row.slug
    return out


@router.get("/obligations", summary="Obligations d'ouverture des données des collectivités (JSON, ou CSV avec ?format=csv)")
def list_obligations(request, filters: Query[ObligationFilters], page: int = 1, page_size: int = 50):
    if filters.format not in ("json", "csv"):
        raise HttpError(422, "format : valeurs possibles « json » ou « csv ».")
    if filters.sort and filters.sort not in selectors.SORTS:
        raise HttpError(422, f"sort : valeurs possibles {', '.join(selectors.SORTS)}.")
    args = filters.dict()
    fmt = args.pop("format")
    qs = selectors.obligation_rows(**args)
    if fmt == "csv":
        out = io.StringIO()
        obligations.write_csv(out, qs.values(*[f for _, f in obligations.CSV_COLUMNS]).iterator(chunk_size=5000))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="obligations-ouverture-donnees.csv"'
        return response
    run = selectors.latest_run()
    body = paginate(request, qs, page, page_size, _obligation)
    body["computed_at"] = run.computed_at if run else None
    return body
