"""JSON API of the catalogue: /api/1/datasets and /api/1/reuses (write access by personal API token)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from regio.accounts.auth import session_or_token
from regio.accounts.models import Organisation
from regio.core.pagination import paginate
from regio.quality import selectors as quality_selectors

from . import selectors, services
from .models import Dataset, Reuse
from .permissions import can_view_dataset
from .vocabularies import ALL_LICENCES, LICENCES, THEMES

router = Router(tags=["Catalogue de données"])


class ResourceOut(Schema):
    id: str
    title: str
    url: str
    format: str
    media_type: str
    size: int | None
    checksum_sha256: str
    schema_url: str
    last_modified: dt.datetime


class TerritoryOut(Schema):
    level: str
    code: str
    name: str


class PublisherOut(Schema):
    slug: str
    name: str
    kind: str


class DatasetOut(Schema):
    id: str
    slug: str
    title: str
    description: str
    publisher: PublisherOut
    contact_name: str
    contact_email: str
    keywords: list[str]
    themes: list[dict]
    territories: list[TerritoryOut]
    temporal_start: dt.date | None
    temporal_end: dt.date | None
    frequency: str
    licence: dict
    conforms_to: str
    origin: str
    source_url: str
    remote_id: str
    status: str
    moderation: str
    created_at: dt.datetime
    metadata_modified_at: dt.datetime
    views: int
    downloads: int
    page: str
    quality_score: int = Field(description="score de qualité des métadonnées, 0 à 100 (détail : page du jeu de données)")
    resources: list[ResourceOut]


class FacetItem(Schema):
    value: str
    label: str
    count: int


class DatasetList(Schema):
    data: list[DatasetOut]
    page: int
    page_size: int
    total: int
    next_page: str | None
    facets: dict[str, list[FacetItem]] = {}


class DatasetIn(Schema):
    title: str | None = None
    slug: str | None = None
    publisher: str | None = Field(None, description="identifiant (slug) de l'organisation productrice — à la création")
    description: str | None = None
    licence: str | None = Field(None, description=f"une des licences : {', '.join(LICENCES)}")
    keywords: list[str] | None = None
    themes: list[str] | None = Field(None, description=f"codes data-theme : {', '.join(THEMES)}")
    territories: list[str] | None = Field(None, description="codes INSEE / SIREN, éventuellement préfixés du niveau (commune:80021)")
    temporal_start: dt.date | None = None
    temporal_end: dt.date | None = None
    frequency: str | None = None
    conforms_to: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    publish: bool = False


class ResourceIn(Schema):
    title: str
    url: str
    format: str = ""
    schema_url: str = ""
    description: str = ""


class ReuseOut(Schema):
    id: int
    slug: str
    title: str
    kind: str
    description: str
    url: str
    owner: str | None
    datasets: list[str]
    created_at: dt.datetime


class ReuseList(Schema):
    data: list[ReuseOut]
    page: int
    page_size: int
    total: int
    next_page: str | None


class ReuseIn(Schema):
    title: str
    url: str
    kind: str = "application"
    description: str = ""
    datasets: list[str]
    owner: str | None = None


def resource_dict(r, request) -> dict:
    return {
        "id": str(r.uid), "title": r.title, "url": r.public_url(request), "format": r.format, "media_type": r.media_type,
        "size": r.size, "checksum_sha256": r.checksum_sha256, "schema_url": r.schema, "last_modified": r.last_modified,
    }


def dataset_dict(d: Dataset, request, scores: dict[int, int] | None = None) -> dict:
    lic = ALL_LICENCES.get(d.licence)
    if scores is None or d.pk not in scores:
        scores = quality_selectors.dataset_scores([d])
    return {
        "id": str(d.uid), "slug": d.slug, "title": d.title, "description": d.description,
        "publisher": {"slug": d.publisher.slug, "name": d.publisher.name, "kind": d.publisher.kind},
        "contact_name": d.contact_name, "contact_email": d.contact_email, "keywords": d.keywords,
        "themes": d.theme_items,
        "territories": [{"level": t.level, "code": t.code, "name": t.name} for t in d.territories.all()],
        "temporal_start": d.temporal_start, "temporal_end": d.temporal_end, "frequency": d.frequency,
        "licence": {"id": d.licence, "title": lic.title if lic else d.licence, "url": lic.uri if lic else ""},
        "conforms_to": d.conforms_to, "origin": d.origin, "source_url": d.source_url, "remote_id": d.remote_id,
        "status": d.status, "moderation": d.moderation, "created_at": d.created_at,
        "metadata_modified_at": d.metadata_modified_at, "views": d.views_count, "downloads": d.downloads_count,
        "page": request.build_absolute_uri(d.get_absolute_url()),
        "quality_score": scores[d.pk],
        "resources": [resource_dict(r, request) for r in d.resources.all()],
    }


def _unprocessable(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        detail = " ; ".join(f"{field} : {msg}" for field, msgs in exc.message_dict.items() for msg in msgs)
    else:
        detail = " ; ".join(exc.messages)
    return HttpError(422, detail)


def _dataset_or_404(request, key: str) -> Dataset:
    qs = Dataset.objects.select_related("publisher").prefetch_related("resources", "territories")
    cond = {"slug": key}
    dataset = qs.filter(**cond).first()
    if dataset is None and key.isdigit():
        dataset = qs.filter(pk=int(key)).first()
    if dataset is None and selectors._is_uuid(key):
        dataset = qs.filter(uid=key).first()
    if dataset is None or not can_view_dataset(request.user, dataset):
        raise HttpError(404, "Jeu de données introuvable.")
    return dataset


@router.get("/datasets", response=DatasetList, summary="Jeux de données (recherche, facettes)")
def list_datasets(
    request, q: str = "", sort: str = "", page: int = 1, page_size: int = 20,
    publisher: str = "", publisher_kind: str = "", territory: str = "", theme: str = "", format: str = "",
    licence: str = "", schema_: str = Query("", alias="schema"), origin: str = "", keyword: str = "", quality: str = "",
    facets: bool = False,
):
    """Recherche plein texte en français (accents et pluriels indifférents), filtres par facette, tri
    ``relevance`` / ``modified`` / ``popularity`` / ``quality``, ``quality=80-100|50-79|0-49`` (score de qualité). ``facets=true`` ajoute le décompte des facettes."""
    filters = {"publisher": publisher, "publisher_kind": publisher_kind, "territory": territory, "theme": theme,
               "format": format, "licence": licence, "schema": schema_, "origin": origin, "keyword": keyword, "quality": quality}
    result = selectors.search_datasets(q, filters, sort, facets=selectors.FACETS if facets else None)
    qs = result.queryset.prefetch_related("territories")
    out = paginate(request, qs, page, page_size, total=result.total)
    scores = quality_selectors.dataset_scores(out["data"])  # one query for the page
    out["data"] = [dataset_dict(d, request, scores) for d in out["data"]]
    out["facets"] = result.facets
    return out


@router.get("/datasets/{key}", response=DatasetOut, summary="Détail d'un jeu de données (id, uuid ou slug)")
def get_dataset(request, key: str):
    return dataset_dict(_dataset_or_404(request, key), request)


@router.post("/datasets", response={201: DatasetOut}, auth=session_or_token, summary="Créer un jeu de données")
def create_dataset(request, payload: DatasetIn):
    data = payload.dict(exclude_unset=True)
    publish = data.pop("publish", False)
    slug = data.pop("publisher", None)
    if not slug:
        raise HttpError(422, "publisher : indiquez l'identifiant de l'organisation productrice.")
    try:
        organisation = Organisation.objects.get(slug=slug)
    except ObjectDoesNotExist:
        raise HttpError(422, f"publisher : organisation inconnue « {slug} ».")
    data.setdefault("title", "")
    data.setdefault("licence", "")
    try:
        dataset = services.create_dataset(request.auth, organisation, data, publish=publish)
    except ValidationError as exc:
        raise _unprocessable(exc)
    return Status(201, dataset_dict(_dataset_or_404(request, dataset.slug), request))


@router.put("/datasets/{key}", response=DatasetOut, auth=session_or_token, summary="Modifier un jeu de données")
def update_dataset(request, key: str, payload: DatasetIn):
    dataset = _dataset_or_404(request, key)
    data = payload.dict(exclude_unset=True)
    publish = data.pop("publish", False)
    data.pop("publisher", None)
    try:
        services.update_dataset(request.auth, dataset, data)
        if publish and dataset.status != "published":
            services.publish_dataset(request.auth, dataset)
    except ValidationError as exc:
        raise _unprocessable(exc)
    return dataset_dict(_dataset_or_404(request, dataset.slug), request)


@router.delete("/datasets/{key}", response=DatasetOut, auth=session_or_token, summary="Supprimer (archiver) un jeu de données")
def delete_dataset(request, key: str):
    """La suppression archive le jeu de données : il disparaît du catalogue, rien n'est effacé."""
    dataset = _dataset_or_404(request, key)
    services.archive_dataset(request.auth, dataset)
    return dataset_dict(dataset, request)


@router.post("/datasets/{key}/resources", response={201: ResourceOut}, auth=session_or_token, summary="Ajouter une ressource (par adresse)")
def add_resource(request, key: str, payload: ResourceIn):
    dataset = _dataset_or_404(request, key)
    try:
        resource = services.add_resource(
            request.auth, dataset, title=payload.title, url=payload.url, format=payload.format,
            schema=payload.schema_url, description=payload.description,
        )
    except ValidationError as exc:
        raise _unprocessable(exc)
    return Status(201, resource_dict(resource, request))


def reuse_dict(r: Reuse) -> dict:
    return {
        "id": r.pk, "slug": r.slug, "title": r.title, "kind": r.kind, "description": r.description, "url": r.url,
        "owner": r.owner.slug if r.owner else None, "datasets": [d.slug for d in r.datasets.all()], "created_at": r.created_at,
    }


@router.get("/reuses", response=ReuseList, summary="Réutilisations")
def list_reuses(request, dataset: str = "", page: int = 1, page_size: int = 20):
    qs = Reuse.objects.published().select_related("owner").prefetch_related("datasets").order_by("-created_at", "-id")
    if dataset:
        qs = qs.filter(datasets__slug=dataset)
    return paginate(request, qs, page, page_size, reuse_dict)


@router.get("/reuses/{slug}", response=ReuseOut, summary="Détail d'une réutilisation")
def get_reuse(request, slug: str):
    return reuse_dict(get_object_or_404(Reuse.objects.published(), slug=slug))


@router.post("/reuses", response={201: ReuseOut}, auth=session_or_token, summary="Déclarer une réutilisation")
def create_reuse(request, payload: ReuseIn):
    datasets = list(selectors.public_datasets().filter(slug__in=payload.datasets))
    missing = sorted(set(payload.datasets) - {d.slug for d in datasets})
    if missing:
        raise HttpError(422, f"datasets : jeu de données inconnu : {', '.join(missing)}.")
    owner = None
    if payload.owner:
        owner = Organisation.objects.filter(slug=payload.owner).first()
        if owner is None:
            raise HttpError(422, f"owner : organisation inconnue « {payload.owner} ».")
    try:
        reuse = services.create_reuse(request.auth, payload.dict(), datasets, owner)
    except ValidationError as exc:
        raise _unprocessable(exc)
    return Status(201, reuse_dict(reuse))
