"""CKAN-compatible Action API (read-only) under /api/3/action/, in CKAN's response envelope.

Supported: package_list, package_search (q, fq, rows, start, sort, facet.field, facet.limit),
package_show, organization_list, organization_show, group_list (EU data themes as groups),
tag_list, resource_show, status_show. Parameters come from the query string (GET) or from a JSON
body (POST, as the ``ckanapi`` client sends them). Errors use CKAN's envelope and status codes.

Every package carries its ``quality_score`` (0–100, regio.quality), also as an ``extras`` entry;
``quality`` is a facet field and an ``fq`` field (buckets ``80-100``, ``50-79``, ``0-49``), and
``sort=quality_score desc`` lists the best scored first.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from regio.accounts.models import Organisation
from regio.quality import selectors as quality_selectors

from . import selectors
from .models import Dataset, DatasetTerm, Resource
from .vocabularies import ALL_LICENCES, FREQUENCY_BASE, THEME_BASE, THEMES

CKAN_COMPAT_VERSION = "2.10.0"
MAX_ROWS = 1000


class CkanError(Exception):
    def __init__(self, status: int, kind: str, message, **extra):
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.astimezone(tz=None).replace(tzinfo=None).isoformat() if hasattr(value, "astimezone") else str(value)


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def organization_dict(org: Organisation, request, package_count: int | None = None) -> dict:
    out = {
        "id": str(org.pk),
        "name": org.slug,
        "title": org.name,
        "display_name": org.name,
        "description": org.description,
        "image_url": "",
        "image_display_url": "",
        "created": _iso(org.created_at),
        "type": "organization",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "revision_id": "",
        "kind": org.kind,
        "url": f"{_base(request)}/donnees/producteurs/{org.slug}",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group_dict(code: str, package_count: int | None = None) -> dict:
    out = {
        "id": code,
        "name": code.lower(),
        "title": THEMES.get(code, code),
        "display_name": THEMES.get(code, code),
        "description": "",
        "image_display_url": "",
        "type": "group",
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
        "uri": THEME_BASE + code,
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def resource_dict(r: Resource, request, position: int | None = None) -> dict:
    return {
        "id": str(r.uid),
        "package_id": str(r.dataset.uid),
        "name": r.title,
        "description": r.description,
        "url": r.public_url(request),
        "format": r.format.upper(),
        "mimetype": r.media_type or None,
        "mimetype_inner": None,
        "size": r.size,
        "hash": f"sha256:{r.checksum_sha256}" if r.checksum_sha256 else "",
        "created": _iso(r.created_at),
        "last_modified": _iso(r.last_modified),
        "metadata_modified": _iso(r.updated_at),
        "position": r.position if position is None else position,
        "state": "active",
        "url_type": "upload" if r.file else None,
        "resource_type": None,
        "cache_url": None,
        "cache_last_updated": None,
        "datastore_active": False,
        "schema": r.schema or None,
    }


def package_dict(d: Dataset, request, scores: dict[int, int] | None = None) -> dict:
    licence = ALL_LICENCES.get(d.licence)
    if scores is None or d.pk not in scores:
        scores = quality_selectors.dataset_scores([d])
    resources = list(d.resources.all())
    tags = [{"id": kw, "name": kw, "display_name": kw, "state": "active", "vocabulary_id": None} for kw in d.keywords]
    extras = [
        {"key": "frequency", "value": FREQUENCY_BASE + d.frequency},
        {"key": "spatial_codes", "value": ",".join(f"{t.level}:{t.code}" for t in d.territories.all())},
        {"key": "origin", "value": d.origin},
        {"key": "quality_score", "value": str(scores[d.pk])},
    ]
    if d.conforms_to:
        extras.append({"key": "conforms_to", "value": d.conforms_to})
    if d.temporal_start:
        extras.append({"key": "temporal_start", "value": d.temporal_start.isoformat()})
    if d.temporal_end:
        extras.append({"key": "temporal_end", "value": d.temporal_end.isoformat()})
    return {
        "id": str(d.uid),
        "name": d.slug,
        "title": d.title,
        "notes": d.description,
        "author": d.publisher.name,
        "author_email": None,
        "maintainer": d.contact_name or None,
        "maintainer_email": d.contact_email or None,
        "license_id": d.licence,
        "license_title": licence.title if licence else d.licence,
        "license_url": licence.uri if licence else None,
        "isopen": bool(licence and licence.is_open),
        "metadata_created": _iso(d.created_at),
        "metadata_modified": _iso(d.metadata_modified_at),
        "state": "active" if d.is_public else ("deleted" if d.status == "archived" else "draft"),
        "private": False,
        "type": "dataset",
        "url": d.source_url or f"{_base(request)}{d.get_absolute_url()}",
        "version": None,
        "creator_user_id": None,
        "revision_id": None,
        "owner_org": str(d.publisher_id),
        "organization": organization_dict(d.publisher, request),
        "groups": [group_dict(code) for code in d.themes],
        "tags": tags,
        "num_tags": len(tags),
        "resources": [resource_dict(r, request, i) for i, r in enumerate(resources)],
        "num_resources": len(resources),
        "extras": extras,
        "quality_score": scores[d.pk],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


# --------------------------------------------------------------------------- parameters


def _int(params, name, default, *, minimum=0, maximum=None) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise CkanError(409, "Validation Error", {name: [f"Nombre entier attendu, reçu « {raw} »."]})
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"entre {minimum} et {maximum}" if maximum is not None else f"au moins {minimum}"
        raise CkanError(409, "Validation Error", {name: [f"Doit être {bound}."]})
    return value


def _bool(params, name) -> bool:
    value = params.get(name, False)
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"true", "1", "yes", "on"}


def _list_param(params, name) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    value = str(value).strip()
    if value.startswith("["):
        try:
            return [str(v) for v in json.loads(value)]
        except json.JSONDecodeError:
            raise CkanError(409, "Validation Error", {name: ["Liste JSON invalide."]})
    return [v for v in value.split(",") if v]


FQ_FIELDS = {
    "organization": "publisher", "owner_org": "publisher_id", "tags": "keyword", "res_format": "format",
    "license_id": "licence", "groups": "theme", "publisher_kind": "publisher_kind", "territory": "territory",
    "schema": "schema", "conforms_to": "schema", "origin": "origin", "name": "slug", "quality": "quality",
}
_FQ_VALUE = r'\((?:[^()"]|"(?:[^"\\]|\\.)*")*\)|"(?:[^"\\]|\\.)*"|[^\s()"]+'
_FQ_TOKEN = re.compile(rf'\s*(?:(?P<op>AND|OR|NOT|&&|\|\|)(?=\s|$)|(?P<sign>[+-]?)(?P<field>[\w.]+):(?P<value>{_FQ_VALUE}))')
_FQ_GROUP_VALUE = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"]+')


def _fq_error(message: str) -> CkanError:
    return CkanError(409, "Validation Error", {"fq": [message]})


def _fq_values(raw: str) -> list[str]:
    """``CSV``, ``"a b"`` or a group ``(CSV OR JSON)`` → its values."""
    def unquote(v):
        return v[1:-1].replace('\\"', '"') if v.startswith('"') else v

    if not raw.startswith("("):
        return [unquote(raw)]
    words = _FQ_GROUP_VALUE.findall(raw[1:-1])
    values = [unquote(w) for w in words if w not in ("OR", "||")]
    if any(w in ("AND", "NOT", "&&") for w in words) or not values:
        raise _fq_error(f"Groupe non pris en charge : « {raw} » (forme attendue : champ:(valeur1 OR valeur2)).")
    return values


def parse_fq(fq: str) -> dict[str, list]:
    """A Solr ``fq`` as CKAN clients write it → filters for :func:`selectors.apply_filters`.

    Supported: ``field:value`` and ``field:"quoted value"`` (``+`` or ``AND`` between terms: all
    required); ``-field:value`` or ``NOT field:value`` (exclusion); OR within a field, as
    ``field:(a OR b)`` or ``field:a OR field:b``. OR between different fields, nested groups and
    ranges are refused with a French message.
    """
    text = fq or ""
    terms: list[tuple[bool, str, list[str]]] = []  # (excluded, field, any of values)
    pos, pending_not, pending_or = 0, False, False
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _FQ_TOKEN.match(text, pos)
        if not match:
            rest = text[pos:].strip()
            raise _fq_error(f"Expression non prise en charge : « {rest} » (forme attendue : champ:valeur).")
        pos = match.end()
        op = match.group("op")
        if op in ("AND", "&&"):
            continue
        if op == "NOT":
            pending_not = True
            continue
        if op in ("OR", "||"):
            if not terms or pending_or:
                raise _fq_error("« OR » doit relier deux conditions sur le même champ.")
            pending_or = True
            continue
        field, excluded = match.group("field"), match.group("sign") == "-" or pending_not
        if field not in FQ_FIELDS:
            raise _fq_error(f"Champ non pris en charge : « {field} ». Champs acceptés : {', '.join(FQ_FIELDS)}.")
        values = _fq_values(match.group("value"))
        if pending_or:
            prev_excluded, prev_field, prev_values = terms[-1]
            if prev_field != field or prev_excluded or excluded:
                raise _fq_error("« OR » n'est pris en charge qu'entre deux valeurs d'un même champ (ex. res_format:CSV OR res_format:JSON).")
            terms[-1] = (False, field, prev_values + values)
        else:
            terms.append((excluded, field, values))
        pending_not = pending_or = False
    if pending_not or pending_or:
        raise _fq_error("Expression incomplète : « NOT » ou « OR » doit être suivi d'une condition champ:valeur.")
    filters: dict[str, list] = {}
    for excluded, field, values in terms:
        name = FQ_FIELDS[field]
        if excluded:
            filters.setdefault(f"-{name}", []).extend(values)
        else:
            filters.setdefault(name, []).append(values[0] if len(values) == 1 else values)
    return filters


FACET_FIELDS = {"organization": "publisher", "groups": "theme", "res_format": "format", "license_id": "licence",
                "tags": "keyword", "publisher_kind": "publisher_kind", "territory": "territory", "schema": "schema", "origin": "origin",
                "quality": "quality"}
SORTS = {
    "score desc": "relevance", "metadata_modified desc": "modified", "views_recent desc": "popularity",
    "popularity desc": "popularity", "score desc, metadata_modified desc": "relevance", "quality_score desc": "quality",
}


# --------------------------------------------------------------------------- actions


def package_list(request, params):
    limit = _int(params, "limit", 0, maximum=100000) if "limit" in params else None
    offset = _int(params, "offset", 0)
    qs = selectors.public_datasets().order_by("slug").values_list("slug", flat=True)
    return list(qs[offset : offset + limit] if limit else qs[offset:])


def package_search(request, params):
    rows = _int(params, "rows", 10, maximum=MAX_ROWS)
    start = _int(params, "start", 0)
    filters = parse_fq(str(params.get("fq", "")))
    base = selectors.public_datasets()
    narrowed = False  # base None (the public datasets): the search may use its fastest paths
    for field in ("slug", "publisher_id"):
        for item in filters.pop(field, []):  # each item required; a list: any of its values
            values = [v for v in (item if isinstance(item, list) else [item]) if field == "slug" or v.isdigit()]
            base = base.filter(**{f"{field}__in": values})
            narrowed = True
        excluded = [v for v in filters.pop(f"-{field}", []) if field == "slug" or v.isdigit()]
        if excluded:
            base = base.exclude(**{f"{field}__in": excluded})
            narrowed = True
    sort_param = " ".join(str(params.get("sort") or "").lower().split())
    q = str(params.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    if sort_param and sort_param not in SORTS:
        raise CkanError(409, "Validation Error", {"sort": [f"Tri non pris en charge : « {sort_param} ». Tris acceptés : {', '.join(SORTS)}."]})
    facet_fields = _list_param(params, "facet.field")
    unknown = [f for f in facet_fields if f not in FACET_FIELDS]
    if unknown:
        raise CkanError(409, "Validation Error", {"facet.field": [f"Facette non prise en charge : {', '.join(unknown)}."]})
    facet_limit = _int(params, "facet.limit", 50, minimum=-1)
    internal = tuple(dict.fromkeys(FACET_FIELDS[f] for f in facet_fields))
    result = selectors.search_datasets(q, filters, SORTS.get(sort_param, ""), facets=internal or None, base=base if narrowed else None)
    page = list(result.queryset[start : start + rows])
    scores = quality_selectors.dataset_scores(page)
    facets, search_facets = {}, {}
    for field in facet_fields:
        name = FACET_FIELDS[field]
        items = result.facets.get(name, [])
        if facet_limit > 0:
            items = items[:facet_limit]
        if name == "format":
            items = [{**i, "value": i["value"].upper()} for i in items]
        if name == "theme":
            items = [{**i, "value": i["value"].lower()} for i in items]
        facets[field] = {i["value"]: i["count"] for i in items}
        search_facets[field] = {
            "title": field,
            "items": [{"name": i["value"], "display_name": i["label"], "count": i["count"]} for i in items],
        }
    return {
        "count": result.total,
        "facets": facets,
        "results": [package_dict(d, request, scores) for d in page],
        "sort": sort_param or ("score desc, metadata_modified desc" if result.searched else "metadata_modified desc"),
        "search_facets": search_facets,
    }


def _get_dataset(params) -> Dataset:
    key = params.get("id") or params.get("name")
    if not key:
        raise CkanError(409, "Validation Error", {"id": ["Paramètre obligatoire manquant."]})
    try:
        return selectors.get_public_dataset(str(key))
    except ObjectDoesNotExist:
        raise CkanError(404, "Not Found Error", "Jeu de données introuvable")


def package_show(request, params):
    d = _get_dataset(params)
    return package_dict(Dataset.objects.select_related("publisher").prefetch_related("resources", "territories").get(pk=d.pk), request)


def _orgs_with_counts():
    return (
        Organisation.objects.filter(datasets__in=selectors.public_datasets())
        .annotate(package_count=Count("datasets", distinct=True))
        .order_by("slug")
    )


def organization_list(request, params):
    limit = _int(params, "limit", 1000, maximum=MAX_ROWS)
    offset = _int(params, "offset", 0)
    orgs = _orgs_with_counts()[offset : offset + limit]
    if _bool(params, "all_fields"):
        return [organization_dict(o, request, o.package_count) for o in orgs]
    return [o.slug for o in orgs]


def organization_show(request, params):
    key = str(params.get("id") or "")
    if not key:
        raise CkanError(409, "Validation Error", {"id": ["Paramètre obligatoire manquant."]})
    org = Organisation.objects.filter(slug=key).first() or (Organisation.objects.filter(pk=key).first() if key.isdigit() else None)
    if org is None:
        raise CkanError(404, "Not Found Error", "Organisation introuvable")
    datasets = selectors.public_datasets().filter(publisher=org)
    out = organization_dict(org, request, datasets.count())
    if _bool(params, "include_datasets"):
        packages = list(datasets.select_related("publisher").prefetch_related("resources", "territories").order_by("-metadata_modified_at")[:1000])
        scores = quality_selectors.dataset_scores(packages)
        out["packages"] = [package_dict(d, request, scores) for d in packages]
    return out


def group_list(request, params):
    counts = dict(
        DatasetTerm.objects.filter(kind="theme", dataset__in=selectors.public_datasets())
        .values_list("value").annotate(n=Count("dataset_id"))
    )
    codes = sorted(THEMES)
    if _bool(params, "all_fields"):
        return [group_dict(c, counts.get(c, 0)) for c in codes]
    return [c.lower() for c in codes]


def tag_list(request, params):
    qs = DatasetTerm.objects.filter(kind="keyword", dataset__in=selectors.public_datasets())
    query = str(params.get("query") or "").strip().lower()
    if query:
        qs = qs.filter(value__startswith=query)
    names = list(qs.order_by("value").values_list("value", flat=True).distinct())
    if _bool(params, "all_fields"):
        return [{"id": n, "name": n, "display_name": n, "state": "active", "vocabulary_id": None} for n in names]
    return names


def resource_show(request, params):
    key = str(params.get("id") or "")
    if not key:
        raise CkanError(409, "Validation Error", {"id": ["Paramètre obligatoire manquant."]})
    resource = None
    if selectors._is_uuid(key):
        resource = Resource.objects.select_related("dataset").filter(uid=key, dataset__in=selectors.public_datasets()).first()
    if resource is None:
        raise CkanError(404, "Not Found Error", "Ressource introuvable")
    return resource_dict(resource, request)


def status_show(request, params):
    return {
        "ckan_version": CKAN_COMPAT_VERSION,
        "site_title": "Regio — catalogue de données ouvertes",
        "site_description": "API compatible CKAN (lecture) de la plateforme numérique régionale Regio.",
        "site_url": _base(request),
        "locale_default": settings.LANGUAGE_CODE,
        "error_emails_to": None,
        "extensions": [],
    }


ACTIONS = {
    f.__name__: f
    for f in (package_list, package_search, package_show, organization_list, organization_show, group_list,
              tag_list, resource_show, status_show)
}


def _params(request) -> dict:
    params: dict = {}
    for key in request.GET:
        values = request.GET.getlist(key)
        params[key] = values if len(values) > 1 else values[0]
    if request.method == "POST" and request.body:
        if request.content_type == "application/json" or request.body.lstrip()[:1] == b"{":
            try:
                body = json.loads(request.body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise CkanError(400, "Bad request", "Le corps de la requête n'est pas un JSON valide.")
            if not isinstance(body, dict):
                raise CkanError(400, "Bad request", "Le corps de la requête doit être un objet JSON.")
            params.update(body)
        else:
            params.update({k: request.POST.get(k) for k in request.POST})
    return params


@csrf_exempt
def action(request, name: str):
    help_url = f"{_base(request)}/api/3/action/help_show?name={name}"
    try:
        if request.method not in ("GET", "POST"):
            raise CkanError(405, "Bad request", "Méthode non autorisée : utilisez GET ou POST.")
        fn = ACTIONS.get(name)
        if fn is None:
            raise CkanError(400, "Bad request", f"Action inconnue : {name}. Actions disponibles : {', '.join(sorted(ACTIONS))}.")
        result = fn(request, _params(request))
    except CkanError as exc:
        error = {"__type": exc.kind}
        if isinstance(exc.message, dict):
            error.update(exc.message)
        else:
            error["message"] = exc.message
        return JsonResponse({"help": help_url, "success": False, "error": error}, status=exc.status, json_dumps_params={"ensure_ascii": False})
    response = JsonResponse({"help": help_url, "success": True, "result": result}, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response
