"""Writes of the harvester: upsert one harvested record with stable identity, archive, preview, manage sources.

Identity of a harvested record, in this order: its URI / ``dct:identifier`` (or landing page) already
known through any source, then its resource URLs, then ``(source, remote_id)``. A record reached
through a second source adds a :class:`DatasetOrigin` to the same dataset (one entry, both origins
shown); a record that is in fact one of Regio's own datasets (our catalogue harvested back) is a
loop: the local dataset is left untouched.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from regio.accounts.models import Membership, Organisation
from regio.catalog import search
from regio.catalog import services as catalog_services
from regio.catalog.models import ActivityLog, Dataset, DatasetTerm, DatasetTerritory, Resource
from regio.catalog.vocabularies import MEDIA_TYPES
from regio.core.ingest.engine import Fetcher
from regio.core.ingest.registry import IngestItemError
from regio.core.models import PublicationStatus
from regio.core.text import normalize_text

from .mapping import map_record
from .models import KINDS, DatasetOrigin, HarvestSource, ResourceKey, url_key

DATASET_FIELDS = (
    "title", "description", "licence", "themes", "keywords", "frequency", "contact_name", "contact_email",
    "temporal_start", "temporal_end", "source_url",
)


# --------------------------------------------------------------------------- permissions


def can_manage(user, source: HarvestSource | None = None, owner: Organisation | None = None) -> bool:
    """The CDO (or a superuser), or an admin of the source's owner organisation."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser or getattr(user, "is_cdo", False):
        return True
    org = owner if owner is not None else (source.owner if source is not None else None)
    if org is None:
        return False
    return Membership.objects.filter(
        user=user, organisation=org, role=Membership.Role.ADMIN, status=Membership.Status.ACTIVE
    ).exists()


def require_manage(user, source=None, owner=None) -> None:
    if not can_manage(user, source, owner):
        raise PermissionDenied("Seuls le CDO et les administrateurs de l'organisation propriétaire gèrent cette source.")


def manageable_owners(user):
    if user.is_superuser or getattr(user, "is_cdo", False):
        return Organisation.objects.all()
    return Organisation.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.ADMIN, memberships__status=Membership.Status.ACTIVE
    )


@transaction.atomic
def create_source(user, *, kind: str, name: str, url: str = "", owner: Organisation | None, schedule_minutes=None,
                  filters: dict | None = None, file_path: str = "") -> HarvestSource:
    errors = {}
    if kind not in KINDS:
        errors["kind"] = f"Type de source inconnu : « {kind} ». Types acceptés : {', '.join(KINDS)}."
    if not (name or "").strip():
        errors["name"] = "Le nom de la source est obligatoire."
    if not url and not file_path:
        errors["url"] = "Indiquez l'adresse du portail (ou de son catalogue)."
    elif url and not url.startswith(("http://", "https://", "file://")):
        errors["url"] = "L'adresse doit commencer par http:// ou https://."
    if owner is None:
        errors["owner"] = "Choisissez l'organisation propriétaire du portail."
    if errors:
        raise ValidationError(errors)
    require_manage(user, owner=owner)
    return HarvestSource.objects.create(
        kind=kind, name=name.strip()[:200], url=url.strip(), file_path=file_path, owner=owner,
        schedule_minutes=schedule_minutes or None, filters=filters or {}, enabled=False,
    )


def set_enabled(user, source: HarvestSource, enabled: bool) -> HarvestSource:
    require_manage(user, source)
    source.enabled = enabled
    source.save(update_fields=["enabled", "updated_at"])
    return source


# --------------------------------------------------------------------------- identity


def own_site_prefixes() -> list[str]:
    base = settings.SITE_URL.rstrip("/")
    return [base + "/donnees/", base + "/catalog", base + "/api/"]


def _local_dataset_for(record: dict) -> Dataset | None:
    """One of Regio's own (local) datasets, harvested back through some portal."""
    for value in (record.get("identifier"), record.get("landing_page"), *(record.get("other_identifiers") or [])):
        value = str(value or "")
        if any(value.startswith(p) for p in own_site_prefixes()):
            slug = value.split("/donnees/", 1)[-1].split("/", 1)[0].split("?", 1)[0]
            found = Dataset.objects.filter(Q(slug=slug) | Q(uid__in=_uuids([slug]))).first()
            if found is not None:
                return found
        uuids = _uuids([value.rstrip("/").rsplit("/", 1)[-1]])
        if uuids:
            found = Dataset.objects.filter(uid__in=uuids, origin=Dataset.Origin.LOCAL).first()
            if found is not None:
                return found
    return None


def _uuids(values) -> list:
    import uuid

    out = []
    for v in values:
        try:
            out.append(uuid.UUID(str(v)))
        except ValueError:
            pass
    return out


SERVICE_MARKERS = ("service=", "/ows", "/wms", "/wfs", "/wmts", "/wxs", "/csw", "/geoserver/", "request=getcapabilities")


def is_distinctive_url(url: str) -> bool:
    """A download URL that names one dataset (not a shared web service endpoint or a portal page)."""
    lowered = url.lower()
    return not any(m in lowered for m in SERVICE_MARKERS)


def find_existing(source, record: dict, remote_id: str, resource_urls: list[str]) -> Dataset | None:
    keys = [str(k)[:500] for k in (record.get("identifier"), record.get("landing_page"), *(record.get("other_identifiers") or [])) if k]
    # One query: origins sharing an identifier or landing page (first), or this source's remote id (last resort).
    condition = Q(source=source, remote_id=remote_id)
    if keys:
        condition |= Q(identifier__in=keys) | Q(landing_key__in=[url_key(k) for k in keys])
    candidates = list(DatasetOrigin.objects.filter(condition).select_related("dataset").order_by("id")[:20])
    by_identity = [o for o in candidates if o.identifier in keys or (o.landing_key and o.landing_key in {url_key(k) for k in keys})]
    if by_identity:
        return by_identity[0].dataset
    by_remote_id = next((o for o in candidates if o.source_id == source.pk and o.remote_id == remote_id), None)
    distinctive = {url_key(u) for u in resource_urls if is_distinctive_url(u)}
    if distinctive:
        # Same files: the candidate's distinctive URLs and the record's overlap for at least half of their
        # union (portals share documentation or service links between datasets: one common URL is no identity).
        ids = set(ResourceKey.objects.filter(key__in=list(distinctive)[:50]).values_list("dataset_id", flat=True)[:20])
        best = []
        for dataset_id in ids:
            urls = set(ResourceKey.objects.filter(dataset_id=dataset_id).values_list("key", flat=True))
            score = len(urls & distinctive) / len(urls | distinctive)
            if score >= 0.5:
                best.append((score, dataset_id))
        best.sort(reverse=True)
        if best and (len(best) == 1 or best[0][0] > best[1][0]):
            return Dataset.objects.get(pk=best[0][1])
    return by_remote_id.dataset if by_remote_id else None


_org_cache: dict = {}


def resolve_publisher(source, record: dict, warnings: list[str]) -> Organisation:
    """The record's own publisher when it is a known organisation (SIREN, then name), else the source's owner."""
    siren = str(record.get("publisher_siren") or "").strip()[:9]
    name = str(record.get("publisher") or "").strip()
    key = (siren, name)
    if key in _org_cache:
        org = _org_cache[key]
    else:
        org = None
        if len(siren) == 9 and siren.isdigit():
            org = Organisation.objects.filter(siren=siren).first()
        if org is None and name:
            org = Organisation.objects.filter(name__iexact=name).first()
            if org is None:
                folded = normalize_text(name)
                org = Organisation.objects.filter(slug=slugify(name)[:120]).first() or (
                    Organisation.objects.filter(name__icontains=name[:60]).first() if len(folded) > 12 else None
                )
        if len(_org_cache) > 5000:
            _org_cache.clear()
        _org_cache[key] = org
    if org is not None:
        return org
    if source.owner is None:
        raise IngestItemError("Producteur inconnu et source sans organisation propriétaire.", field="publisher")
    if name and normalize_text(name) != normalize_text(source.owner.name):
        warnings.append(f"Producteur « {name[:120]} » inconnu de la plateforme : rattaché à « {source.owner.name} ».")
    return source.owner


# --------------------------------------------------------------------------- upsert / archive


_territory_cache: dict = {}


def clear_caches() -> None:
    _org_cache.clear()
    _territory_cache.clear()


def default_territory(publisher: Organisation) -> list:
    key = (publisher.pk, publisher.kind, publisher.territory_code)
    if key not in _territory_cache:
        if len(_territory_cache) > 5000:
            _territory_cache.clear()
        _territory_cache[key] = catalog_services._default_territory(publisher)
    return _territory_cache[key]


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "jeu-de-donnees"
    slug, n = base, 2
    while slug in catalog_services.RESERVED_SLUGS or Dataset.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _sync_resources(dataset: Dataset, resources: list[dict], *, new: bool = False) -> bool:
    existing = {} if new else {r.url: r for r in dataset.resources.all()}
    changed, keep, to_create = False, set(), []
    for position, res in enumerate(resources):
        keep.add(res["url"])
        media = MEDIA_TYPES.get(res["format"], "")
        current = existing.get(res["url"])
        values = {"title": res["title"], "format": res["format"], "description": res["description"], "position": position, "media_type": media}
        if current is None:
            to_create.append(Resource(dataset=dataset, url=res["url"], **values))
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            current.save()
            changed = True
    if to_create:
        Resource.objects.bulk_create(to_create)
        changed = True
    gone = [r.pk for url, r in existing.items() if url not in keep and not r.file]
    if gone:
        Resource.objects.filter(pk__in=gone).delete()
        changed = True
    if changed or new:
        if not new:
            ResourceKey.objects.filter(dataset=dataset).delete()
        ResourceKey.objects.bulk_create(
            [ResourceKey(dataset=dataset, key=url_key(u)) for u in dict.fromkeys(r["url"] for r in resources) if is_distinctive_url(u)]
        )
    return changed


def stored_identifier(record: dict) -> str:
    """The identifier kept for matching: a ``dct:identifier`` (stable across portals) before the record's URI."""
    others = [str(i) for i in record.get("other_identifiers") or [] if str(i).strip()]
    return (others[0] if others else str(record.get("identifier") or ""))[:500]


def upsert_record(source, remote_id: str, record: dict) -> Dataset:
    """Create or update the catalogue dataset for one harvested record (inside the engine's transaction)."""
    warnings: list[str] = []
    local = _local_dataset_for(record)
    if local is not None:  # loop: our own catalogue came back through a portal
        origin, _ = DatasetOrigin.objects.update_or_create(
            source=source, dataset=local,
            defaults={"remote_id": remote_id, "identifier": stored_identifier(record),
                      "landing_page": str(record.get("landing_page") or "")[:1000],
                      "landing_key": url_key(str(record.get("landing_page") or "")[:1000]), "loop": True, "primary": False,
                      "warnings": ["Boucle de moissonnage : ce jeu de données est publié sur la plateforme elle-même ; il n'est pas importé une seconde fois."],
                      "last_seen_at": timezone.now(), "archived_at": None},
        )
        return local
    publisher = resolve_publisher(source, record, warnings)
    mapped = map_record(record, default_territory=default_territory(publisher))
    warnings = warnings + mapped.warnings
    urls = [r["url"] for r in mapped.resources]
    dataset = find_existing(source, record, remote_id, urls)
    now = timezone.now()
    other_primary = None
    if dataset is not None:
        other_primary = dataset.harvest_origins.filter(primary=True, archived_at__isnull=True).exclude(source=source).select_related("source").first()
    is_primary = dataset is None or other_primary is None or (
        # the original publisher's own portal takes over from a portal that re-exposes it
        source.owner_id == dataset.publisher_id and other_primary.source.owner_id != dataset.publisher_id
    )
    if dataset is None:
        dataset = Dataset(
            slug=_unique_slug(mapped.fields["title"]), publisher=publisher, origin=Dataset.Origin.HARVESTED,
            status=PublicationStatus.PUBLISHED, published_at=now, harvest_source=str(source.pk),
            remote_id=remote_id[:200], **mapped.fields,
        )
        dataset.facet_terms = catalog_services.facet_terms_for(
            dataset.themes, dataset.keywords, [r["format"] for r in mapped.resources], mapped.territories
        )
        dataset.clean_fields(exclude=["publisher", "slug"])
        dataset.save()
        action = ActivityLog.Action.CREATE
    elif is_primary:
        if other_primary is not None:
            DatasetOrigin.objects.filter(pk=other_primary.pk).update(primary=False)
        for name, value in mapped.fields.items():
            setattr(dataset, name, value)
        if dataset.origin == Dataset.Origin.HARVESTED:
            dataset.publisher = publisher
        dataset.harvest_source, dataset.remote_id = str(source.pk), remote_id[:200]
        if dataset.status == PublicationStatus.ARCHIVED:
            dataset.status = PublicationStatus.PUBLISHED
        dataset.metadata_modified_at = now
        dataset.clean_fields(exclude=["publisher", "slug"])
        Dataset.objects.filter(harvest_source=str(source.pk), remote_id=remote_id[:200]).exclude(pk=dataset.pk).update(remote_id="")
        dataset.save()
        action = ActivityLog.Action.UPDATE
    else:
        action = None
    origin_values = {"remote_id": remote_id, "identifier": stored_identifier(record),
                     "landing_page": str(record.get("landing_page") or "")[:1000],
                     "landing_key": url_key(str(record.get("landing_page") or "")[:1000]), "primary": is_primary,
                     "loop": False, "warnings": warnings, "last_seen_at": now, "archived_at": None}
    if action == ActivityLog.Action.CREATE:  # find_existing found no origin with this remote id
        DatasetOrigin.objects.create(source=source, dataset=dataset, **origin_values)
    else:
        origin, _ = DatasetOrigin.objects.update_or_create(source=source, dataset=dataset, defaults=origin_values)
        DatasetOrigin.objects.filter(source=source, remote_id=remote_id).exclude(pk=origin.pk).delete()
    if action is not None:
        new = action == ActivityLog.Action.CREATE
        if not new:
            catalog_services._set_territories(dataset, mapped.territories)
            catalog_services._sync_terms(dataset)
        else:
            DatasetTerritory.objects.bulk_create([DatasetTerritory(dataset=dataset, level=lv, code=c, name=n) for lv, c, n in mapped.territories])
            DatasetTerm.objects.bulk_create(
                [DatasetTerm(dataset=dataset, kind="theme", value=t) for t in dataset.themes]
                + [DatasetTerm(dataset=dataset, kind="keyword", value=k[:100]) for k in dataset.keywords]
            )
        _sync_resources(dataset, mapped.resources, new=new)
        ActivityLog.objects.create(dataset=dataset, action=action, changes={"moissonnage": [None, source.name]})
        terms = catalog_services.facet_terms_for(dataset.themes, dataset.keywords, [r["format"] for r in mapped.resources], mapped.territories)
        if terms != dataset.facet_terms:
            Dataset.objects.filter(pk=dataset.pk).update(facet_terms=terms)
            dataset.facet_terms = terms
        # the search document needs the territories: give them without a query
        dataset._prefetched_objects_cache = {"territories": [DatasetTerritory(dataset=dataset, level=lv, code=c, name=n) for lv, c, n in mapped.territories]}
        search.index_datasets([dataset])
        dataset._prefetched_objects_cache = {}
        search.bump_version()
    return dataset


def archive_origin(source, remote_id: str) -> None:
    """The record vanished from a complete run: archive (with the date) unless another source still has it."""
    origin = DatasetOrigin.objects.filter(source=source, remote_id=remote_id, archived_at__isnull=True).select_related("dataset").first()
    if origin is None:
        return
    now = timezone.now()
    DatasetOrigin.objects.filter(pk=origin.pk).update(archived_at=now, primary=False)
    dataset = origin.dataset
    if origin.loop or dataset.origin != Dataset.Origin.HARVESTED:
        return
    others = dataset.harvest_origins.filter(archived_at__isnull=True, loop=False).exclude(pk=origin.pk).select_related("source")
    heir = others.first()
    if heir is not None:
        if origin.primary:
            DatasetOrigin.objects.filter(pk=heir.pk).update(primary=True)
            Dataset.objects.filter(pk=dataset.pk).update(harvest_source=str(heir.source_id), remote_id=heir.remote_id[:200])
        return
    before = dataset.status
    dataset.archive()
    dataset.metadata_modified_at = now
    dataset.save()
    ActivityLog.objects.create(
        dataset=dataset, action=ActivityLog.Action.ARCHIVE,
        changes={"status": [before, dataset.status], "supprimé à la source le": [None, now.date().isoformat()]},
    )
    catalog_services.search.bump_version()


# --------------------------------------------------------------------------- preview (dry run)


def preview(source, *, limit: int = 100) -> dict:
    """What a run would create or update, with the mapping warnings, without writing anything."""
    from regio.core import http
    from regio.core.ingest import registry

    backend = registry.get(source.kind)
    items, errors, pages = [], [], 0
    error = ""
    fetcher = Fetcher(source)
    try:
        for page in backend.pages(source, "", fetcher):
            pages += 1
            for err in page.errors:
                errors.append({"page": pages, "remote_id": err.remote_id, "field": err.field, "message": err.message})
            for rec in page.records:
                if len(items) >= limit:
                    break
                payload = rec.payload
                try:
                    warnings: list[str] = []
                    if _local_dataset_for(payload) is not None:
                        items.append({"remote_id": rec.remote_id, "title": payload.get("title"), "action": "boucle",
                                      "warnings": ["Boucle : jeu de données de la plateforme elle-même, ignoré."]})
                        continue
                    publisher = resolve_publisher(source, payload, warnings)
                    mapped = map_record(payload, default_territory=default_territory(publisher))
                    existing = find_existing(source, payload, rec.remote_id, [r["url"] for r in mapped.resources])
                    items.append({
                        "remote_id": rec.remote_id, "title": mapped.fields["title"], "publisher": publisher.name,
                        "licence": mapped.fields["licence"], "themes": mapped.fields["themes"],
                        "frequency": mapped.fields["frequency"], "territories": [t[2] for t in mapped.territories][:10],
                        "resources": len(mapped.resources),
                        "action": "création" if existing is None else "mise à jour",
                        "warnings": warnings + mapped.warnings,
                    })
                except (IngestItemError, ValueError, ValidationError) as exc:
                    errors.append({"page": pages, "remote_id": rec.remote_id, "field": getattr(exc, "field", ""),
                                   "message": " ; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)})
            if len(items) >= limit:
                break
    except (http.FetchError, registry.IngestError) as exc:
        error = str(exc)
    return {"items": items, "errors": errors, "pages": pages, "error": error, "limited": len(items) >= limit,
            "at": dt.datetime.now(dt.UTC).isoformat()}
