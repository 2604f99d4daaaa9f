"""Writes of the catalogue: one function per user action. Every change is logged (who, when, what).

Functions raise ``django.core.exceptions.ValidationError`` (French messages, per field) for bad
input and ``PermissionDenied`` when the user may not act on that organisation / dataset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from regio.accounts.models import Organisation
from regio.core.ingest.bulk import insert_objects, insert_rows
from regio.core.models import PublicationStatus

from . import search
from .models import (
    ActivityLog,
    Dataset,
    DatasetTerm,
    DatasetTerritory,
    Discussion,
    Message,
    RegionalTheme,
    Resource,
    Reuse,
)
from .permissions import require_edit, require_moderator, require_publish_for
from .signals import datasets_bulk_saved
from .vocabularies import FREQUENCIES, LICENCES, MEDIA_TYPES, THEMES, UNSPECIFIED_LICENCE, licence_for

# Paths under /donnees/ that a dataset slug must not shadow.
RESERVED_SLUGS = {"nouveau", "moderation", "producteurs", "ressources", "discussions", "flux-atom", "reutilisations", "themes"}
MODERATED_KINDS = (Organisation.Kind.ASSOCIATION, Organisation.Kind.COMPANY)
# Fields a user edits; their before/after values go to the activity log.
EDITABLE_FIELDS = (
    "title", "slug", "description", "contact_name", "contact_email", "keywords", "themes",
    "temporal_start", "temporal_end", "frequency", "licence", "conforms_to",
)
TRACKED_FIELDS = (*EDITABLE_FIELDS, "territory_codes", "status", "moderation")


# --------------------------------------------------------------------------- validation helpers


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def _as_date(value, field: str, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = "Date invalide : utilisez le format AAAA-MM-JJ."
        return None


def parse_territories(values) -> list[tuple[str, str, str]]:
    """Territory codes → [(level, code, name)]. Accepts ``"level:code"`` or a bare INSEE/SIREN code."""
    from regio.territory.models import EPCI, Commune, Departement, Region

    models_by_level = {"region": Region, "departement": Departement, "epci": EPCI, "commune": Commune}
    found, unknown = [], []
    for raw in _as_list(values):
        level, _, code = raw.rpartition(":")
        code = code.strip().upper()
        if not level:
            level = {9: "epci", 5: "commune"}.get(len(code), "")
            if not level:
                level = "departement" if Departement.objects.filter(pk=code).exists() else "region"
        model = models_by_level.get(level)
        obj = model.objects.filter(pk=code).first() if model else None
        if obj is None:
            unknown.append(raw)
        else:
            found.append((level, code, obj.name))
    if unknown:
        raise ValidationError({"territories": f"Territoire inconnu : {', '.join(unknown)} (code INSEE de commune, SIREN d'EPCI, code de département ou de région)."})
    return list(dict.fromkeys(found))


def _clean(data: dict[str, Any], *, partial: bool, instance: Dataset | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}

    def given(name):
        return name in data or not partial

    if given("title"):
        title = (data.get("title") or "").strip()
        if not title:
            errors["title"] = "Le titre est obligatoire."
        cleaned["title"] = title
    if given("licence"):
        raw = (data.get("licence") or "").strip()
        if not raw:
            errors["licence"] = "La licence est obligatoire : choisissez par exemple la Licence Ouverte 2.0 ou l'ODbL."
        elif raw.lower() == UNSPECIFIED_LICENCE:
            errors["licence"] = ("La licence « non précisée » est réservée aux jeux de données moissonnés : "
                                 "choisissez une licence, par exemple la Licence Ouverte 2.0 ou l'ODbL.")
        else:
            lic = licence_for(raw)
            if lic is None:
                accepted = ", ".join(LICENCES)
                errors["licence"] = f"Licence inconnue : « {raw} ». Licences acceptées : {accepted}."
            else:
                cleaned["licence"] = lic.id
    if "slug" in data and (data.get("slug") or "").strip():
        slug = slugify(data["slug"])[:120]
        if not slug:
            errors["slug"] = "L'identifiant ne peut contenir que des lettres, chiffres et tirets."
        elif slug in RESERVED_SLUGS:
            errors["slug"] = f"L'identifiant « {slug} » est réservé par la plateforme : choisissez-en un autre."
        else:
            clash = Dataset.objects.filter(slug=slug)
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                errors["slug"] = f"L'identifiant « {slug} » est déjà utilisé par un autre jeu de données : choisissez-en un autre."
            cleaned["slug"] = slug
    for name in ("description", "contact_name"):
        if name in data:
            cleaned[name] = (data.get(name) or "").strip()
    if "contact_email" in data:
        cleaned["contact_email"] = (data.get("contact_email") or "").strip()
    if "conforms_to" in data:
        cleaned["conforms_to"] = (data.get("conforms_to") or "").strip()
    if "keywords" in data:
        cleaned["keywords"] = list(dict.fromkeys(k.lower()[:100] for k in _as_list(data.get("keywords"))))
    if "themes" in data:
        themes = [t.upper() for t in _as_list(data.get("themes"))]
        regional = set(RegionalTheme.objects.values_list("code", flat=True)) if any(t not in THEMES for t in themes) else set()
        bad = [t for t in themes if t not in THEMES and t not in regional]
        if bad:
            accepted = ", ".join([*THEMES, *sorted(RegionalTheme.objects.values_list("code", flat=True))])
            errors["themes"] = f"Thème inconnu : {', '.join(bad)}. Thèmes acceptés (européens et régionaux) : {accepted}."
        cleaned["themes"] = list(dict.fromkeys(themes))
    if "frequency" in data and data.get("frequency"):
        freq = str(data["frequency"]).upper()
        if freq not in FREQUENCIES:
            errors["frequency"] = f"Fréquence inconnue : « {data['frequency']} »."
        cleaned["frequency"] = freq
    for name in ("temporal_start", "temporal_end"):
        if name in data:
            cleaned[name] = _as_date(data.get(name), name, errors)
    start = cleaned.get("temporal_start", instance.temporal_start if instance else None)
    end = cleaned.get("temporal_end", instance.temporal_end if instance else None)
    if start and end and start > end:
        errors["temporal_end"] = "La fin de la période couverte doit être postérieure à son début."
    if "territories" in data:
        try:
            cleaned["territories"] = parse_territories(data.get("territories"))
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "jeu-de-donnees"
    slug, n = base, 2
    while slug in RESERVED_SLUGS or Dataset.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _snapshot(dataset: Dataset) -> dict:
    snap = {f: getattr(dataset, f) for f in EDITABLE_FIELDS + ("status", "moderation")}
    snap["territory_codes"] = sorted(f"{t.level}:{t.code}" for t in dataset.territories.all()) if dataset.pk else []
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in snap.items()}


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in TRACKED_FIELDS if before.get(k) != after.get(k)}


def _log(dataset, user, action, changes=None) -> ActivityLog:
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    return ActivityLog.objects.create(dataset=dataset, actor=actor, action=action, changes=changes or {})


def terms_of(dataset: Dataset) -> list[DatasetTerm]:
    """The theme and keyword rows of a dataset (not saved)."""
    return [DatasetTerm(dataset=dataset, kind="theme", value=t) for t in dict.fromkeys(dataset.themes)] + [
        DatasetTerm(dataset=dataset, kind="keyword", value=k) for k in dict.fromkeys(k[:100] for k in dataset.keywords)
    ]


def sync_terms(dataset: Dataset) -> None:
    """Rewrite the theme and keyword rows (``DatasetTerm``) of a dataset from its fields."""
    DatasetTerm.objects.filter(dataset=dataset).delete()
    DatasetTerm.objects.bulk_create(terms_of(dataset))


def set_territories(dataset: Dataset, territories: list[tuple[str, str, str]]) -> None:
    """Replace the spatial coverage of a dataset by ``[(level, code, name)]``."""
    DatasetTerritory.objects.filter(dataset=dataset).delete()
    DatasetTerritory.objects.bulk_create(
        [DatasetTerritory(dataset=dataset, level=level, code=code, name=name) for level, code, name in dict.fromkeys(territories)]
    )


_sync_terms, _set_territories = sync_terms, set_territories  # former private names


def facet_terms_for(themes, keywords, formats, territories) -> str:
    """The denormalised facet lines of a dataset (see ``Dataset.facet_terms``)."""
    lines = [f"theme:{t}" for t in themes]
    lines += [f"format:{f}" for f in dict.fromkeys(formats) if f]
    lines += [f"territory:{level}:{code}:{name}" for level, code, name in territories]
    lines += [f"keyword:{k}" for k in keywords]
    # Framed by newlines so that a filter can look for "\nformat:csv\n" exactly.
    return "\n" + "\n".join(line.replace("\n", " ") for line in lines) + "\n" if lines else ""


def refresh_facet_terms(dataset: Dataset) -> None:
    terms = facet_terms_for(
        dataset.themes,
        dataset.keywords,
        dataset.resources.values_list("format", flat=True),
        dataset.territories.values_list("level", "code", "name"),
    )
    Dataset.objects.filter(pk=dataset.pk).update(facet_terms=terms)
    dataset.facet_terms = terms
    search.bump_version()


def reindex(dataset: Dataset) -> None:
    refresh_facet_terms(dataset)
    search.index_datasets([Dataset.objects.select_related("publisher").prefetch_related("territories").get(pk=dataset.pk)])


# --------------------------------------------------------------------------- datasets


def needs_moderation(organisation: Organisation) -> bool:
    """Associations and companies: their datasets wait for a moderator until one has been approved."""
    if organisation.kind not in MODERATED_KINDS:
        return False
    return not Dataset.objects.filter(publisher=organisation, moderation=Dataset.Moderation.APPROVED).exists()


@transaction.atomic
def create_dataset(user, organisation: Organisation, data: dict[str, Any], *, publish: bool = False) -> Dataset:
    require_publish_for(user, organisation)
    cleaned = _clean(data, partial=False, instance=None)
    territories = cleaned.pop("territories", None)
    if territories is None:
        territories = _default_territory(organisation)
    dataset = Dataset(publisher=organisation, created_by=user if user and user.is_authenticated else None, **cleaned)
    if not dataset.slug:
        dataset.slug = _unique_slug(dataset.title)
    dataset.full_clean(validate_unique=False, validate_constraints=False)
    dataset.save()
    _set_territories(dataset, territories)
    _sync_terms(dataset)
    _log(dataset, user, ActivityLog.Action.CREATE, _diff({}, _snapshot(dataset)))
    if publish:
        publish_dataset(user, dataset)
    reindex(dataset)
    return dataset


def default_territory(organisation: Organisation) -> list[tuple[str, str, str]]:
    """A collectivité's datasets cover its own territory unless said otherwise: ``[(level, code, name)]``."""
    if not organisation.is_collectivite or not organisation.territory_code:
        return []
    try:
        return parse_territories([f"{organisation.territory_level}:{organisation.territory_code}"])
    except ValidationError:
        return []


_default_territory = default_territory  # former private name


@transaction.atomic
def update_dataset(user, dataset: Dataset, data: dict[str, Any]) -> Dataset:
    require_edit(user, dataset)
    before = _snapshot(dataset)
    cleaned = _clean(data, partial=True, instance=dataset)
    territories = cleaned.pop("territories", None)
    for name, value in cleaned.items():
        setattr(dataset, name, value)
    dataset.metadata_modified_at = timezone.now()
    dataset.full_clean(validate_unique=False, validate_constraints=False)
    dataset.save()
    if territories is not None:
        _set_territories(dataset, territories)
    _sync_terms(dataset)
    changes = _diff(before, _snapshot(dataset))
    if changes:
        _log(dataset, user, ActivityLog.Action.UPDATE, changes)
    reindex(dataset)
    return dataset


@transaction.atomic
def publish_dataset(user, dataset: Dataset) -> Dataset:
    require_edit(user, dataset)
    before = _snapshot(dataset)
    dataset.publish()
    if dataset.moderation in (Dataset.Moderation.NOT_REQUIRED, Dataset.Moderation.REJECTED) and needs_moderation(dataset.publisher):
        dataset.moderation = Dataset.Moderation.PENDING
    dataset.metadata_modified_at = timezone.now()
    dataset.save()
    _log(dataset, user, ActivityLog.Action.PUBLISH, _diff(before, _snapshot(dataset)))
    search.bump_version()
    return dataset


@transaction.atomic
def archive_dataset(user, dataset: Dataset) -> Dataset:
    """"Delete" a dataset: it is archived (hidden from search and listings), nothing is erased."""
    require_edit(user, dataset)
    before = _snapshot(dataset)
    dataset.archive()
    dataset.metadata_modified_at = timezone.now()
    dataset.save()
    _log(dataset, user, ActivityLog.Action.ARCHIVE, _diff(before, _snapshot(dataset)))
    search.bump_version()
    return dataset


@transaction.atomic
def moderate_dataset(user, dataset: Dataset, *, approve: bool, reason: str = "") -> Dataset:
    require_moderator(user)
    if dataset.moderation != Dataset.Moderation.PENDING:
        raise ValidationError("Ce jeu de données n'est pas en attente de modération.")
    before = _snapshot(dataset)
    dataset.moderation = Dataset.Moderation.APPROVED if approve else Dataset.Moderation.REJECTED
    if not approve:
        dataset.status = PublicationStatus.DRAFT
    dataset.save()
    changes = _diff(before, _snapshot(dataset))
    if reason:
        changes["reason"] = reason
    _log(dataset, user, ActivityLog.Action.MODERATION, changes)
    search.bump_version()
    return dataset


def moderation_queue():
    return Dataset.objects.filter(moderation=Dataset.Moderation.PENDING, status=PublicationStatus.PUBLISHED).select_related("publisher")


# --------------------------------------------------------------------------- resources


SERVICE_ACCOUNT_EMAIL = "plateforme@regio.invalid"


def service_account(organisation: Organisation):
    """The platform's service account, editor of ``organisation``: apps publish the datasets they
    generate (consolidated subsidies, obligations monitor, funded projects…) through these services in
    its name. It is inactive and has no usable password, so nobody can sign in with it."""
    from regio.accounts.models import Membership, User

    user, created = User.objects.get_or_create(
        email=SERVICE_ACCOUNT_EMAIL, defaults={"full_name": "Plateforme Regio (compte de service)", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.update_or_create(
        user=user, organisation=organisation, defaults={"role": Membership.Role.EDITOR, "status": Membership.Status.ACTIVE}
    )
    return user


def max_upload_bytes() -> int:
    return int(getattr(settings, "REGIO_MAX_UPLOAD_MB", getattr(settings, "MAX_UPLOAD_MB", 100))) * 1024 * 1024


def _guess_format(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix[:20]


@transaction.atomic
def add_resource(
    user, dataset: Dataset, *, title: str, url: str = "", upload=None, format: str = "", schema: str = "",
    description: str = "", media_type: str = "", size: int | None = None, checksum_sha256: str = "",
) -> Resource:
    require_edit(user, dataset)
    errors = {}
    title = (title or "").strip() or (upload.name if upload is not None else "")
    if not title:
        errors["title"] = "Le titre de la ressource est obligatoire."
    if upload is None and not url:
        errors["url"] = "Indiquez l'adresse de la ressource ou déposez un fichier."
    if upload is not None and url:
        errors["url"] = "Indiquez une adresse ou un fichier, pas les deux."
    if upload is not None and upload.size > max_upload_bytes():
        limit = max_upload_bytes() // (1024 * 1024)
        errors["file"] = (
            f"Le fichier « {upload.name} » dépasse la taille maximale autorisée de {limit} Mo "
            f"({upload.size / 1024 / 1024:.1f} Mo) : déposez-le ailleurs et indiquez son adresse."
        )
    if errors:
        raise ValidationError(errors)
    resource = Resource(
        dataset=dataset, title=title[:250], description=description, url=url, schema=schema,
        format=(format or _guess_format(upload.name if upload is not None else url)).lower(),
        position=dataset.resources.count(), size=size, checksum_sha256=checksum_sha256, media_type=media_type,
    )
    if upload is not None:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        resource.checksum_sha256 = digest.hexdigest()
        resource.size = upload.size
        resource.media_type = getattr(upload, "content_type", "") or ""
        resource.file.save(upload.name, upload, save=False)
    if not resource.media_type or resource.media_type == "application/octet-stream":
        resource.media_type = MEDIA_TYPES.get(resource.format) or mimetypes.guess_type(f"x.{resource.format}")[0] or ""
    resource.full_clean(validate_unique=False)
    resource.save()
    Dataset.objects.filter(pk=dataset.pk).update(metadata_modified_at=timezone.now())
    refresh_facet_terms(dataset)
    _log(dataset, user, ActivityLog.Action.RESOURCE_ADD, {"resource": [None, resource.title], "format": [None, resource.format]})
    return resource


def record_view(dataset: Dataset) -> None:
    Dataset.objects.filter(pk=dataset.pk).update(views_count=F("views_count") + 1, popularity=F("popularity") + 1)


def record_download(resource: Resource) -> None:
    Resource.objects.filter(pk=resource.pk).update(downloads_count=F("downloads_count") + 1)
    Dataset.objects.filter(pk=resource.dataset_id).update(
        downloads_count=F("downloads_count") + 1, popularity=F("popularity") + 5
    )


# --------------------------------------------------------------------------- discussions, reuses


@transaction.atomic
def open_discussion(user, dataset: Dataset, *, title: str, body: str) -> Discussion:
    if not user or not user.is_authenticated:
        raise ValidationError("Connectez-vous pour signaler un problème.")
    errors = {}
    if not (title or "").strip():
        errors["title"] = "Le sujet est obligatoire."
    if not (body or "").strip():
        errors["body"] = "Le message est obligatoire."
    if errors:
        raise ValidationError(errors)
    discussion = Discussion.objects.create(dataset=dataset, title=title.strip()[:200], author=user)
    Message.objects.create(discussion=discussion, author=user, body=body.strip())
    _log(dataset, user, ActivityLog.Action.DISCUSSION, {"discussion": [None, discussion.title]})
    _notify_publisher(dataset, discussion, body.strip())
    return discussion


def _notify_publisher(dataset: Dataset, discussion: Discussion, body: str) -> None:
    """Email the publisher's editors and admins about a new thread on one of its datasets."""
    from django.core.mail import send_mail

    from regio.accounts.models import Membership
    from regio.accounts.permissions import EDIT_ROLES

    recipients = sorted(
        Membership.objects.filter(organisation=dataset.publisher, status=Membership.Status.ACTIVE, role__in=EDIT_ROLES)
        .exclude(user=discussion.author).values_list("user__email", flat=True)
    )
    if not recipients:
        return
    url = settings.SITE_URL.rstrip("/") + dataset.get_absolute_url() + "#discussions"
    send_mail(
        f"[Regio] Signalement sur « {dataset.title} » : {discussion.title}",
        f"Un utilisateur a ouvert une discussion sur le jeu de données « {dataset.title} » :\n\n{body}\n\nRépondre : {url}\n",
        None,
        recipients,
    )


def reply(user, discussion: Discussion, body: str) -> Message:
    if not user or not user.is_authenticated:
        raise ValidationError("Connectez-vous pour répondre.")
    if not (body or "").strip():
        raise ValidationError({"body": "Le message est obligatoire."})
    return Message.objects.create(discussion=discussion, author=user, body=body.strip())


def resolve_reuse_datasets(values) -> list[Dataset]:
    """Public datasets named by slug (or by their page address) for a reuse; unknown ones refused."""
    slugs = []
    for raw in _as_list(values):
        slug = raw.rstrip("/").rsplit("/", 1)[-1] if "/" in raw else raw
        slugs.append(slug)
    slugs = list(dict.fromkeys(slugs))
    from .selectors import public_datasets

    found = {d.slug: d for d in public_datasets().filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise ValidationError({"datasets": f"Jeu de données inconnu : {', '.join(missing)}. Indiquez l'identifiant d'un jeu publié (la fin de l'adresse de sa page)."})
    return [found[s] for s in slugs]


@transaction.atomic
def create_reuse(user, data: dict[str, Any], datasets: list[Dataset], owner: Organisation | None = None) -> Reuse:
    if not user or not user.is_authenticated:
        raise ValidationError("Connectez-vous pour déclarer une réutilisation.")
    if owner is not None:
        require_publish_for(user, owner)
    errors = {}
    title = (data.get("title") or "").strip()
    url = (data.get("url") or "").strip()
    if not title:
        errors["title"] = "Le titre est obligatoire."
    if not url:
        errors["url"] = "L'adresse de la réutilisation est obligatoire."
    if not datasets:
        errors["datasets"] = "Indiquez au moins un jeu de données réutilisé."
    kind = data.get("kind") or Reuse.Kind.APPLICATION
    if kind not in Reuse.Kind.values:
        errors["kind"] = f"Type inconnu : « {kind} »."
    if errors:
        raise ValidationError(errors)
    base = slugify(title)[:100] or "reutilisation"
    slug, n = base, 2
    while Reuse.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    reuse = Reuse(title=title, slug=slug, kind=kind, url=url, description=(data.get("description") or "").strip(), owner=owner, created_by=user)
    reuse.full_clean(validate_unique=False)
    reuse.publish()
    reuse.save()
    reuse.datasets.set(datasets)
    return reuse


# --------------------------------------------------------------------------- personal data (RGPD)


def export_user(user) -> dict:
    return {
        "discussions": [
            {"dataset": m.discussion.dataset.slug, "sujet": m.discussion.title, "message": m.body, "le": m.created_at.isoformat()}
            for m in Message.objects.filter(author=user).select_related("discussion__dataset")
        ],
        "activite": [
            {"dataset": a.dataset.slug, "action": a.action, "le": a.at.isoformat()}
            for a in ActivityLog.objects.filter(actor=user).select_related("dataset")
        ],
    }


def erase_user(user) -> None:
    """Messages stay (they belong to the dataset's history) but lose their author."""
    Message.objects.filter(author=user).update(author=None)
    Discussion.objects.filter(author=user).update(author=None)
    ActivityLog.objects.filter(actor=user).update(actor=None)


# --------------------------------------------------------------------------- maintenance


def reindex_all(batch: int = 1000) -> int:
    """Rebuild ``facet_terms`` and the full-text index of every dataset (backfill, repairs).

    Rows created before migration 0003 have no facet terms and may be missing from the index.
    """
    from django.db.models import Prefetch

    qs = Dataset.objects.order_by("pk").prefetch_related(
        Prefetch("resources", queryset=Resource.objects.only("id", "dataset_id", "format")), "territories"
    )
    last, count = 0, 0
    while True:
        chunk = list(qs.filter(pk__gt=last)[:batch])
        if not chunk:
            break
        for d in chunk:
            d.facet_terms = facet_terms_for(
                d.themes, d.keywords, [r.format for r in d.resources.all()],
                [(t.level, t.code, t.name) for t in d.territories.all()],
            )
        with transaction.atomic():
            Dataset.objects.bulk_update(chunk, ["facet_terms"])
        count += len(chunk)
        last = chunk[-1].pk
    search.rebuild_index(batch)
    search.bump_version()
    return count


# --------------------------------------------------------------------------- harvested datasets (bulk)
#
# The harvester (regio.harvest) decides *which* dataset a remote record is (identity, origins, loops);
# these functions write the catalogue side of many records at once, in a constant number of queries:
# ``prepare_harvested_dataset`` per record (validation, no query), then ``save_harvested_datasets`` for
# the whole page (datasets, resources, territories, terms, facet terms, activity log, search index).


@dataclass
class HarvestedDataset:
    """One harvested record mapped onto the catalogue, to create (``dataset=None``) or update ``dataset``."""

    fields: dict[str, Any]  # Dataset fields: title, description, licence, themes, keywords, frequency, …
    publisher: Organisation
    territories: list[tuple[str, str, str]] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)  # [{title, url, format, description, schema}]
    harvest_source: str = ""  # the primary source's id
    remote_id: str = ""  # the record's id at that source
    dataset: Dataset | None = None
    # Set by save_harvested_datasets: whether the dataset's resources were created or changed.
    resources_changed: bool = False


def prepare_harvested_dataset(entry: HarvestedDataset) -> Dataset:
    """Build (or update in memory) the dataset of ``entry`` and validate it; nothing is written.

    Raises ``ValidationError`` (French, per field) when the record cannot be catalogued. A local
    dataset reached by harvesting keeps its publisher; an archived one is published again.
    """
    now = timezone.now()
    if entry.dataset is None or entry.dataset.pk is None:
        dataset = entry.dataset or Dataset(
            slug="", publisher=entry.publisher, origin=Dataset.Origin.HARVESTED, status=PublicationStatus.PUBLISHED,
            published_at=now, **entry.fields,
        )
    else:
        dataset = entry.dataset
        for name, value in entry.fields.items():
            setattr(dataset, name, value)
        if dataset.origin == Dataset.Origin.HARVESTED:
            dataset.publisher = entry.publisher
        if dataset.status == PublicationStatus.ARCHIVED:
            dataset.status = PublicationStatus.PUBLISHED
        dataset.metadata_modified_at = now
    dataset.harvest_source, dataset.remote_id = entry.harvest_source, entry.remote_id[:200]
    if dataset.licence == UNSPECIFIED_LICENCE and dataset.origin != Dataset.Origin.HARVESTED:
        raise ValidationError({"licence": "La licence « non précisée » est réservée aux jeux de données moissonnés."})
    # Only the fields a harvest sets and that can be wrong are validated (lengths, choices, e-mail, URL).
    dataset.clean_fields(exclude=[f.name for f in Dataset._meta.fields if f.name not in VALIDATED_HARVESTED_FIELDS])
    entry.dataset = dataset
    return dataset


def unique_slugs(titles: list[str]) -> list[str]:
    """A free slug for each title (distinct from each other and from every dataset), in two queries at most."""
    bases = [slugify(t)[:100] or "jeu-de-donnees" for t in titles]
    taken: set[str] = set()
    distinct = list(dict.fromkeys(bases))
    for start in range(0, len(distinct), 500):
        taken.update(Dataset.objects.filter(slug__in=distinct[start:start + 500]).values_list("slug", flat=True))
    clashing = [b for b in distinct if b in taken]
    for start in range(0, len(clashing), 100):
        condition = Q()
        for base in clashing[start:start + 100]:
            condition |= Q(slug__startswith=base + "-")
        taken.update(Dataset.objects.filter(condition).values_list("slug", flat=True))
    out = []
    for base in bases:
        slug, n = base, 2
        while slug in RESERVED_SLUGS or slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        out.append(slug)
    return out


def save_harvested_datasets(entries: list[HarvestedDataset], *, source_name: str = "") -> list[Dataset]:
    """Write the prepared datasets of ``entries`` (see :func:`prepare_harvested_dataset`) at once.

    Creates the new ones and updates the others with their resources (kept by URL; uploaded files
    are never removed), spatial coverage, theme/keyword rows, facet terms, an activity-log entry
    each ("moissonnage": ``source_name``) and their search documents — a constant number of queries
    whatever the number of entries. Call it inside a transaction: a database error leaves the caller
    to retry record by record.
    """
    if not entries:
        return []
    now = timezone.now()
    new = [e for e in entries if e.dataset.pk is None]
    old = [e for e in entries if e.dataset.pk is not None]
    for e, slug in zip(new, unique_slugs([e.dataset.title for e in new]), strict=True):
        e.dataset.slug = slug
    for e in entries:
        d = e.dataset
        d.facet_terms = facet_terms_for(d.themes, d.keywords, [r["format"] for r in e.resources], e.territories)
    # (harvest_source, remote_id) is unique: another dataset holding one of these pairs lets it go.
    wanted = {(e.dataset.harvest_source, e.dataset.remote_id): e.dataset.pk for e in entries if e.dataset.remote_id}
    if wanted:
        clash = [  # looked up by remote id only (selective; every dataset of a source shares harvest_source)
            pk for pk, src, rid in Dataset.objects.filter(remote_id__in={k[1] for k in wanted}).values_list("pk", "harvest_source", "remote_id")
            if (src, rid) in wanted and wanted[(src, rid)] != pk
        ]
        if clash:
            Dataset.objects.filter(pk__in=clash).update(remote_id="")
    # One prepared INSERT (bulk_create of this ~30-column table is cut into ~30-row batches on SQLite),
    # ids read back by slug (unique_slugs gave each one).
    insert_objects([e.dataset for e in new], key=["slug"])
    if old:
        for e in old:
            e.dataset.updated_at = now
        Dataset.objects.bulk_update(
            [e.dataset for e in old],
            [*HARVESTED_FIELDS, "publisher", "status", "harvest_source", "remote_id", "metadata_modified_at", "facet_terms", "updated_at"],
            batch_size=200,
        )
    old_ids = [e.dataset.pk for e in old]
    if old_ids:
        DatasetTerritory.objects.filter(dataset_id__in=old_ids).delete()
        DatasetTerm.objects.filter(dataset_id__in=old_ids).delete()
    # Many small rows: one prepared INSERT each (regio.core.ingest.bulk.insert_rows), no model instances.
    insert_rows(DatasetTerritory, ["dataset", "level", "code", "name"],
                [(e.dataset.pk, lv, c, n) for e in entries for lv, c, n in dict.fromkeys(e.territories)])
    insert_rows(DatasetTerm, ["dataset", "kind", "value"], [
        (e.dataset.pk, kind, value) for e in entries
        for kind, values in (("theme", e.dataset.themes), ("keyword", [k[:100] for k in e.dataset.keywords]))
        for value in dict.fromkeys(values)
    ])
    _save_harvested_resources(entries, old_ids, now)
    old_set = set(old_ids)
    insert_rows(ActivityLog, ["dataset", "action", "changes", "at"], [
        (e.dataset.pk, ActivityLog.Action.UPDATE if e.dataset.pk in old_set else ActivityLog.Action.CREATE,
         {"moissonnage": [None, source_name]}, now) for e in entries
    ])
    search.index_dataset_ids([e.dataset.pk for e in entries])
    search.bump_version()
    datasets_bulk_saved.send(sender=Dataset, dataset_ids=[e.dataset.pk for e in entries])
    return [e.dataset for e in entries]


VALIDATED_HARVESTED_FIELDS = ("title", "licence", "frequency", "contact_name", "contact_email", "source_url")
# Dataset fields a harvested record sets (see regio.harvest.mapping).
HARVESTED_FIELDS = (
    "title", "description", "licence", "themes", "keywords", "frequency", "contact_name", "contact_email",
    "temporal_start", "temporal_end", "source_url",
)


def _save_harvested_resources(entries: list[HarvestedDataset], old_ids: list[int], now) -> None:
    existing: dict[int, dict[str, Resource]] = {}
    if old_ids:
        for r in Resource.objects.filter(dataset_id__in=old_ids).order_by("id"):
            existing.setdefault(r.dataset_id, {}).setdefault(r.url, r)
    to_create, to_update, gone = [], [], []
    old_set = set(old_ids)
    for e in entries:
        current_by_url = existing.get(e.dataset.pk, {})
        changed, keep = False, set()
        for position, res in enumerate(e.resources):
            keep.add(res["url"])
            values = {"title": res["title"], "format": res["format"], "description": res["description"],
                      "position": position, "media_type": MEDIA_TYPES.get(res["format"], ""), "schema": res.get("schema") or ""}
            current = current_by_url.get(res["url"])
            if current is None:
                to_create.append((e.dataset.pk, res["url"], values["title"], values["format"], values["description"],
                                  position, values["media_type"], values["schema"]))
                changed = True
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                current.updated_at = now
                to_update.append(current)
                changed = True
        removed = [r.pk for url, r in current_by_url.items() if url not in keep and not r.file]
        gone += removed
        e.resources_changed = changed or bool(removed) or e.dataset.pk not in old_set
    if gone:
        Resource.objects.filter(pk__in=gone).delete()
    insert_rows(Resource, ["dataset", "url", "title", "format", "description", "position", "media_type", "schema"], to_create)
    Resource.objects.bulk_update(
        to_update, ["title", "format", "description", "position", "media_type", "schema", "updated_at"], batch_size=200
    )
