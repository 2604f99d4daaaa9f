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
from regio.catalog import services as catalog_services
from regio.catalog.models import ActivityLog, Dataset
from regio.core.ingest.bulk import insert_rows
from regio.core.ingest.engine import Fetcher
from regio.core.ingest.models import Item, Run
from regio.core.ingest.registry import IngestItemError
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


CRON_RE = r"(\*|[0-5]?\d) (\*|[01]?\d|2[0-3])( \* \* \*)?"


@transaction.atomic
def update_source(user, source: HarvestSource, *, name: str, url: str, owner: Organisation | None,
                  schedule_minutes=None, schedule_cron: str = "", filters=None, enabled: bool) -> HarvestSource:
    """Edit a source (CDO, or an admin of its owner — and of the new owner when it changes hands)."""
    import re

    require_manage(user, source)
    errors = {}
    if not (name or "").strip():
        errors["name"] = "Le nom de la source est obligatoire."
    url = (url or "").strip()
    if not url and not source.file_path:
        errors["url"] = "Indiquez l'adresse du portail (ou de son catalogue)."
    elif url and not url.startswith(("http://", "https://", "file://")):
        errors["url"] = "L'adresse doit commencer par http:// ou https://."
    if owner is None:
        errors["owner"] = "Choisissez l'organisation propriétaire du portail."
    elif owner.pk != source.owner_id and not can_manage(user, owner=owner):
        errors["owner"] = f"Vous n'administrez pas « {owner.name} » : vous ne pouvez pas lui confier cette source."
    if schedule_minutes is not None and schedule_minutes < 15:
        errors["schedule_minutes"] = "L'intervalle entre deux passages est d'au moins 15 minutes."
    schedule_cron = (schedule_cron or "").strip()
    if schedule_cron and not re.fullmatch(CRON_RE, schedule_cron):
        errors["schedule_cron"] = "Planification invalide : indiquez « minute heure » (ex. « 30 2 * * * » pour 2 h 30 chaque jour)."
    if schedule_minutes and schedule_cron:
        errors["schedule_cron"] = "Choisissez un intervalle ou une planification horaire, pas les deux."
    if filters is not None and not isinstance(filters, dict):
        errors["filters"] = "Les filtres doivent être un objet JSON, par exemple {\"organization\": \"ville-d-amiens\"}."
    if errors:
        raise ValidationError(errors)
    if url != source.url:  # another portal: its validators say nothing about the new one
        source.etag = source.last_modified = ""
    source.name, source.url, source.owner = name.strip()[:200], url, owner
    source.schedule_minutes, source.schedule_cron = schedule_minutes or None, schedule_cron
    source.filters, source.enabled = filters or {}, bool(enabled)
    source.save()
    return source


@transaction.atomic
def delete_source(user, source: HarvestSource) -> int:
    """Delete a source: it is never run again and leaves the lists; its datasets are all kept (flagged as
    no longer updated), as are its runs and errors. Returns the number of datasets it leaves behind."""
    from regio.core.ingest.engine import request_cancel

    require_manage(user, source)
    now = timezone.now()
    for run in source.runs.filter(status__in=[Run.Status.QUEUED, Run.Status.RUNNING]):
        request_cancel(run)
    source.runs.filter(status=Run.Status.QUEUED).update(
        status=Run.Status.CANCELLED, finished_at=now, message="Source supprimée : passage annulé, rien n'a été archivé."
    )
    source.deleted_at, source.enabled = now, False
    source.save(update_fields=["deleted_at", "enabled", "updated_at"])
    # Datasets this source was the primary origin of: another live source takes over when there is one.
    for origin in DatasetOrigin.objects.filter(source=source, primary=True).select_related("dataset"):
        heir = (DatasetOrigin.objects.filter(dataset=origin.dataset, archived_at__isnull=True, loop=False, source__deleted_at__isnull=True)
                .exclude(pk=origin.pk).order_by("id").first())
        if heir is not None:
            DatasetOrigin.objects.filter(pk=origin.pk).update(primary=False)
            DatasetOrigin.objects.filter(pk=heir.pk).update(primary=True)
            Dataset.objects.filter(pk=origin.dataset_id).update(harvest_source=str(heir.source_id), remote_id=heir.remote_id[:200])
            # the heir's next run re-applies its record (its metadata now is the dataset's), even if unchanged
            Item.objects.filter(source_id=heir.source_id, remote_id=heir.remote_id).update(content_hash="")
    catalog_services.search.bump_version()
    return DatasetOrigin.objects.filter(source=source, archived_at__isnull=True, loop=False).count()


def set_enabled(user, source: HarvestSource, enabled: bool) -> HarvestSource:
    require_manage(user, source)
    source.enabled = enabled
    source.save(update_fields=["enabled", "updated_at"])
    return source


# --------------------------------------------------------------------------- identity


def own_site_prefixes() -> list[str]:
    base = settings.SITE_URL.rstrip("/")
    return [base + "/donnees/", base + "/catalog", base + "/api/"]


def _loop_values(record: dict) -> list[str]:
    return [str(v or "") for v in (record.get("identifier"), record.get("landing_page"), *(record.get("other_identifiers") or []))]


def _own_slug(value: str) -> str:
    return value.split("/donnees/", 1)[-1].split("/", 1)[0].split("?", 1)[0]


def local_datasets_for(records: list[dict]) -> list[Dataset | None]:
    """For each record, the Regio dataset it is (our own catalogue harvested back through some portal),
    or None; one query for all of them."""
    prefixes = own_site_prefixes()
    slugs, uids = set(), set()
    for record in records:
        for value in _loop_values(record):
            if any(value.startswith(p) for p in prefixes):
                slug = _own_slug(value)
                slugs.add(slug)
                uids.update(_uuids([slug]))
            uids.update(_uuids([value.rstrip("/").rsplit("/", 1)[-1]]))
    if not slugs and not uids:
        return [None] * len(records)
    by_slug, by_uid = {}, {}
    for d in Dataset.objects.filter(Q(slug__in=slugs) | Q(uid__in=uids)):
        by_slug[d.slug] = d
        by_uid[d.uid] = d
    out = []
    for record in records:
        found = None
        for value in _loop_values(record):
            if any(value.startswith(p) for p in prefixes):
                slug = _own_slug(value)
                found = by_slug.get(slug) or next((by_uid[u] for u in _uuids([slug]) if u in by_uid), None)
                if found is not None:
                    break
            found = next((by_uid[u] for u in _uuids([value.rstrip("/").rsplit("/", 1)[-1]])
                          if u in by_uid and by_uid[u].origin == Dataset.Origin.LOCAL), None)
            if found is not None:
                break
        out.append(found)
    return out


def _local_dataset_for(record: dict) -> Dataset | None:
    return local_datasets_for([record])[0]


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


def identity_keys(record: dict) -> list[str]:
    """URI / dct:identifier / landing page of a record (what identifies it across portals)."""
    return [str(k)[:500] for k in (record.get("identifier"), record.get("landing_page"), *(record.get("other_identifiers") or [])) if k]


def distinctive_keys(resource_urls: list[str]) -> set[str]:
    return {url_key(u) for u in resource_urls if is_distinctive_url(u)}


def find_existing_many(source, wanted: list[tuple[dict, str, list[str]]]) -> list[Dataset | None]:
    """The existing dataset of each ``(record, remote_id, resource_urls)``, in three queries for all of them.

    Order of identity: an origin (any source) with the same URI / identifier / landing page (oldest
    first); then the same files (distinctive resource URLs overlapping for at least half of their
    union, one best candidate); then this source's origin with the same remote id.
    """
    if not wanted:
        return []
    all_keys, all_lkeys, remote_ids, all_files = set(), set(), set(), set()
    prepared = []
    for record, remote_id, urls in wanted:
        keys = identity_keys(record)
        lkeys = {url_key(k) for k in keys}
        files = distinctive_keys(urls)
        prepared.append((set(keys), lkeys, remote_id, files))
        all_keys.update(keys)
        all_lkeys.update(lkeys)
        remote_ids.add(remote_id)
        all_files.update(files)
    # One query per key kind (each on its own index; an OR of the three would scan the table).
    found: dict[int, DatasetOrigin] = {}
    for condition, values in ((Q(source=source), ("remote_id__in", remote_ids)), (Q(), ("identifier__in", all_keys)),
                              (Q(), ("landing_key__in", all_lkeys))):
        values_list = sorted(values[1])
        for start in range(0, len(values_list), 1000):
            lookup = {values[0]: values_list[start:start + 1000]}
            found.update((o.pk, o) for o in DatasetOrigin.objects.filter(condition, **lookup).select_related("dataset"))
    origins = sorted(found.values(), key=lambda o: o.pk)
    by_identifier, by_landing, by_remote = {}, {}, {}
    for o in origins:
        if o.identifier:
            by_identifier.setdefault(o.identifier, []).append(o)
        if o.landing_key:
            by_landing.setdefault(o.landing_key, []).append(o)
        if o.source_id == source.pk:
            by_remote.setdefault(o.remote_id, o)
    # Files: which datasets hold each distinctive key, then every key of those datasets.
    holders: dict[str, set[int]] = {}
    dataset_files: dict[int, set[str]] = {}
    if all_files:
        files = list(all_files)
        for start in range(0, len(files), 1000):
            for dataset_id, key in ResourceKey.objects.filter(key__in=files[start:start + 1000]).values_list("dataset_id", "key"):
                holders.setdefault(key, set()).add(dataset_id)
        candidate_ids = sorted({i for ids in holders.values() for i in ids})
        for start in range(0, len(candidate_ids), 1000):
            for dataset_id, key in ResourceKey.objects.filter(dataset_id__in=candidate_ids[start:start + 1000]).values_list("dataset_id", "key"):
                dataset_files.setdefault(dataset_id, set()).add(key)
    results: list = []
    by_files_ids: dict[int, list[int]] = {}
    for index, (keys, lkeys, remote_id, files) in enumerate(prepared):
        matches = [o for k in keys for o in by_identifier.get(k, [])] + [o for k in lkeys for o in by_landing.get(k, [])]
        if matches:
            results.append(min(matches, key=lambda o: o.id).dataset)
            continue
        if files:
            ids = {i for k in files for i in holders.get(k, ())}
            best = []
            for dataset_id in ids:
                urls = dataset_files.get(dataset_id, set())
                score = len(urls & files) / len(urls | files)
                if score >= 0.5:
                    best.append((score, dataset_id))
            best.sort(reverse=True)
            if best and (len(best) == 1 or best[0][0] > best[1][0]):
                by_files_ids.setdefault(best[0][1], []).append(index)
                results.append(None)
                continue
        origin = by_remote.get(remote_id)
        results.append(origin.dataset if origin else None)
    if by_files_ids:
        for d in Dataset.objects.filter(pk__in=list(by_files_ids)):
            for index in by_files_ids[d.pk]:
                results[index] = d
    return results


def find_existing(source, record: dict, remote_id: str, resource_urls: list[str]) -> Dataset | None:
    return find_existing_many(source, [(record, remote_id, resource_urls)])[0]


_org_cache: dict = {}
_org_index: dict = {}


def _organisations() -> dict:
    """Every organisation, indexed by SIREN, folded name and slug: loaded once per run (one query)."""
    if not _org_index:
        by_siren, by_name, by_slug, names = {}, {}, {}, []
        for org in Organisation.objects.order_by("name", "pk"):  # the model's ordering, as .first() had it
            if org.siren:
                by_siren.setdefault(org.siren, org)
            by_name.setdefault(org.name.lower(), org)
            by_slug.setdefault(org.slug, org)
            names.append((org.name.lower(), org))
        _org_index.update(siren=by_siren, name=by_name, slug=by_slug, names=names)
    return _org_index


def resolve_publisher(source, record: dict, warnings: list[str]) -> Organisation:
    """The record's own publisher when it is a known organisation (SIREN, then name), else the source's owner."""
    siren = str(record.get("publisher_siren") or "").strip()[:9]
    name = str(record.get("publisher") or "").strip()
    key = (siren, name)
    if key in _org_cache:
        org = _org_cache[key]
    else:
        index = _organisations()
        org = None
        if len(siren) == 9 and siren.isdigit():
            org = index["siren"].get(siren)
        if org is None and name:
            lowered = name.lower()
            org = index["name"].get(lowered) or index["slug"].get(slugify(name)[:120])
            if org is None and len(normalize_text(name)) > 12:
                part = lowered[:60]
                org = next((o for n, o in index["names"] if part in n), None)
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
    """Forget the per-run caches (publishers, territories): called at the start of each run."""
    from .mapping import clear_caches as clear_mapping_caches

    _org_cache.clear()
    _org_index.clear()
    _territory_cache.clear()
    clear_mapping_caches()


def default_territory(publisher: Organisation) -> list:
    key = (publisher.pk, publisher.kind, publisher.territory_code)
    if key not in _territory_cache:
        if len(_territory_cache) > 5000:
            _territory_cache.clear()
        _territory_cache[key] = catalog_services.default_territory(publisher)
    return _territory_cache[key]


def stored_identifier(record: dict) -> str:
    """The identifier kept for matching: a ``dct:identifier`` (stable across portals) before the record's URI."""
    others = [str(i) for i in record.get("other_identifiers") or [] if str(i).strip()]
    return (others[0] if others else str(record.get("identifier") or ""))[:500]


ORIGIN_FIELDS = ["remote_id", "identifier", "landing_page", "landing_key", "last_seen_at", "archived_at", "primary", "loop", "warnings"]
LOOP_WARNING = "Boucle de moissonnage : ce jeu de données est publié sur la plateforme elle-même ; il n'est pas importé une seconde fois."


def _origin_values(record: dict, remote_id: str, now, **extra) -> dict:
    landing = str(record.get("landing_page") or "")[:1000]
    return {"remote_id": remote_id, "identifier": stored_identifier(record), "landing_page": landing,
            "landing_key": url_key(landing), "last_seen_at": now, "archived_at": None, **extra}


def _record_loop(source, remote_id: str, record: dict, local: Dataset) -> Dataset:
    """A record that is one of Regio's own datasets: a ``loop`` origin on it, nothing imported."""
    DatasetOrigin.objects.update_or_create(
        source=source, dataset=local,
        defaults=_origin_values(record, remote_id, timezone.now(), loop=True, primary=False, warnings=[LOOP_WARNING]),
    )
    return local


def upsert_records(source, records: list[tuple[str, dict]], *, defer: bool = True) -> list:
    """Create or update the catalogue datasets of many harvested records at once (one page).

    Returns one outcome per record: its :class:`Dataset`, an exception (the record is refused:
    ``IngestItemError`` / ``ValidationError`` with a French message, nothing written for it) or
    ``registry.DEFER`` for a record that must be written after the others, one at a time (a loop, or a
    record sharing an identifier, a landing page, files or a dataset with an earlier record of the
    page). Identity is resolved for the whole page in a few queries and the writes go through
    :func:`regio.catalog.services.save_harvested_datasets`; a database error propagates (the engine
    then retries the page's records one at a time).
    """
    from regio.core.ingest.registry import DEFER

    n = len(records)
    outcomes: list = [None] * n
    remote_ids = [str(rid)[:500] for rid, _p in records]
    locals_ = local_datasets_for([payload for _rid, payload in records])
    mapped_of: dict[int, tuple] = {}
    for i, (_rid, payload) in enumerate(records):
        if locals_[i] is not None:
            continue
        try:
            warnings: list[str] = []
            publisher = resolve_publisher(source, payload, warnings)
            mapped = map_record(payload, default_territory=default_territory(publisher))
        except (IngestItemError, ValidationError, ValueError, KeyError, TypeError) as exc:
            outcomes[i] = exc
            continue
        mapped_of[i] = (publisher, mapped, warnings + mapped.warnings)
    order = sorted(mapped_of)
    existing = dict(zip(order, find_existing_many(
        source, [(records[i][1], remote_ids[i], [r["url"] for r in mapped_of[i][1].resources]) for i in order]
    ), strict=True))
    # Records interacting with an earlier record of the page are deferred (written after, one at a time),
    # so that the result is the same as writing the page's records in order.
    claimed: set[str] = set()
    deferred: set[int] = set()
    for i in range(n):
        if isinstance(outcomes[i], BaseException):
            continue
        payload = records[i][1]
        keys = {"k:" + k for k in identity_keys(payload)} | {"l:" + url_key(k) for k in identity_keys(payload)}
        keys.add("r:" + remote_ids[i])
        if i in mapped_of:
            keys |= {"f:" + k for k in distinctive_keys([r["url"] for r in mapped_of[i][1].resources])}
            if existing[i] is not None:
                keys.add(f"d:{existing[i].pk}")
        else:
            keys.add(f"d:{locals_[i].pk}")
        if (defer and n > 1 and i not in mapped_of) or (keys & claimed):
            deferred.add(i)
        claimed |= keys
    if not defer:
        deferred = set()
    for i in range(n):
        if i in deferred:
            outcomes[i] = DEFER
        elif locals_[i] is not None:
            outcomes[i] = _record_loop(source, remote_ids[i], records[i][1], locals_[i])
    todo = [i for i in order if i not in deferred]
    # The primary origin of already known datasets (another source's).
    matched_ids = {existing[i].pk for i in todo if existing[i] is not None}
    other_primary: dict[int, DatasetOrigin] = {}
    if matched_ids:
        for o in (DatasetOrigin.objects.filter(dataset_id__in=matched_ids, primary=True, archived_at__isnull=True,
                                               source__deleted_at__isnull=True)
                  .exclude(source=source).select_related("source").order_by("id")):
            other_primary.setdefault(o.dataset_id, o)
    now = timezone.now()
    entries: dict[int, catalog_services.HarvestedDataset] = {}
    primary_of: dict[int, bool] = {}
    demote: list[int] = []
    for i in todo:
        publisher, mapped, _warnings = mapped_of[i]
        dataset = existing[i]
        other = other_primary.get(dataset.pk) if dataset is not None else None
        is_primary = dataset is None or other is None or (
            # the original publisher's own portal takes over from a portal that re-exposes it
            source.owner_id == dataset.publisher_id and other.source.owner_id != dataset.publisher_id
        )
        primary_of[i] = is_primary
        if not is_primary:
            outcomes[i] = dataset
            continue
        entry = catalog_services.HarvestedDataset(
            fields=mapped.fields, publisher=publisher, territories=mapped.territories, resources=mapped.resources,
            harvest_source=str(source.pk), remote_id=remote_ids[i], dataset=dataset,
        )
        try:
            catalog_services.prepare_harvested_dataset(entry)
        except ValidationError as exc:
            outcomes[i] = exc
            continue
        entries[i] = entry
        outcomes[i] = entry.dataset
        if other is not None:
            demote.append(other.pk)
    if demote:
        DatasetOrigin.objects.filter(pk__in=demote).update(primary=False)
    catalog_services.save_harvested_datasets(list(entries.values()), source_name=source.name)
    # Origins: this source's origin of each dataset, created or updated; an origin of this source holding
    # the same remote id for another dataset goes (the record now is that dataset).
    written = [i for i in todo if isinstance(outcomes[i], Dataset)]
    if written:
        dataset_ids = {outcomes[i].pk for i in written}
        rids = {remote_ids[i] for i in written}
        current = {o.pk: o for o in DatasetOrigin.objects.filter(source=source, dataset_id__in=dataset_ids)}
        current.update((o.pk, o) for o in DatasetOrigin.objects.filter(source=source, remote_id__in=rids))
        current = list(current.values())
        by_dataset = {o.dataset_id: o for o in current}
        target_of = {remote_ids[i]: outcomes[i].pk for i in written}
        stale = [o.pk for o in current if o.remote_id in target_of and target_of[o.remote_id] != o.dataset_id]
        if stale:
            DatasetOrigin.objects.filter(pk__in=stale).delete()
        to_create, to_update = [], []
        for i in written:
            values = _origin_values(records[i][1], remote_ids[i], now, primary=primary_of[i], loop=False, warnings=mapped_of[i][2])
            origin = by_dataset.get(outcomes[i].pk)
            if origin is None or origin.pk in stale:
                to_create.append((source.pk, outcomes[i].pk, now, *(values[f] for f in ORIGIN_FIELDS)))
            else:
                for name, value in values.items():
                    setattr(origin, name, value)
                to_update.append(origin)
        DatasetOrigin.objects.bulk_update(to_update, ORIGIN_FIELDS, batch_size=500)
        insert_rows(DatasetOrigin, ["source", "dataset", "first_seen_at", *ORIGIN_FIELDS], to_create)
    # Files of the written datasets, for identity by resource URLs.
    changed = [e for e in entries.values() if e.resources_changed]
    if changed:
        ResourceKey.objects.filter(dataset_id__in=[e.dataset.pk for e in changed]).delete()
        insert_rows(ResourceKey, ["dataset", "key"], [
            (e.dataset.pk, url_key(u)) for e in changed for u in dict.fromkeys(r["url"] for r in e.resources) if is_distinctive_url(u)
        ])
    return outcomes


def upsert_record(source, remote_id: str, record: dict) -> Dataset:
    """Create or update the catalogue dataset for one harvested record (inside the engine's transaction)."""
    outcome = upsert_records(source, [(remote_id, record)], defer=False)[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


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
