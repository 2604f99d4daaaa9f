"""Plugging the quality app into the catalogue (connected in ``QualityConfig.ready``):

* after a catalogue resource is converted by ``tabular``, it is validated against the schema it
  (or its dataset, ``conforms_to``) declares;
* resource URLs are registered with the link checker;
* the dataset quality score is recomputed and stored (``DatasetQuality``) when a dataset, a
  resource, a validation or a link check changes — the catalogue filters and sorts on it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import DatasetQuality, TableSchema, ValidationReport
from .scoring import DatasetMeta, ResourceMeta, quality_score

log = logging.getLogger(__name__)
KEY_PREFIX = "catalog.resource:"
# Catalogue frequency codes (EU vocabulary) → the scoring's periods.
FREQUENCIES = {
    "CONT": "continuous", "DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "QUARTERLY": "quarterly",
    "ANNUAL_2": "semiannual", "ANNUAL": "annual", "BIENNIAL": "biennial", "IRREG": "irregular", "NEVER": "punctual",
    "UNKNOWN": "unknown",
}
BUCKETS = {"80-100": (80, 100), "50-79": (50, 79), "0-49": (0, 49)}
BUCKET_LABELS = {"80-100": "Bonne (80 à 100)", "50-79": "Moyenne (50 à 79)", "0-49": "À améliorer (0 à 49)"}


def resource_key(resource) -> str:
    return f"{KEY_PREFIX}{resource.pk}"


def bucket(score: int | None) -> str:
    if score is None:
        return ""
    return next(name for name, (low, high) in BUCKETS.items() if low <= score <= high)


# --------------------------------------------------------------------------- schemas


def schema_for_url(url: str) -> TableSchema | None:
    """The registered schema a declared URL designates: its source URL, its descriptor's ``path``,
    or this platform's schema page."""
    url = (url or "").strip()
    if not url:
        return None
    found = TableSchema.objects.filter(source_url=url).order_by("-version").first()
    if found:
        return found
    for schema in TableSchema.objects.all():
        if schema.descriptor.get("path") == url or url.rstrip("/").endswith(f"/donnees/schemas/{schema.slug}"):
            return schema
    return None


def schema_url(schema: TableSchema) -> str:
    """The URL written in ``Resource.schema`` when a publisher declares a registered schema."""
    from django.conf import settings
    from django.urls import reverse

    path = schema.descriptor.get("path") or ""
    if isinstance(path, str) and path.startswith(("http://", "https://")):
        return path
    if schema.source_url.startswith(("http://", "https://")):
        return schema.source_url
    return settings.SITE_URL.rstrip("/") + reverse("quality:schema", args=[schema.slug])


def declared_schema_url(resource) -> str:
    return resource.schema or resource.dataset.conforms_to or ""


def validation_state(resource, tab=None) -> dict:
    """What the dataset page says about a tabular resource's validation: the report, or why there is none."""
    from regio.tabular.models import Status, TabularResource

    from .selectors import latest_report

    key = resource_key(resource)
    tab = tab or TabularResource.objects.filter(resource_key=key).first()
    declared = declared_schema_url(resource)
    state = {"declared": declared, "schema": None, "report": None, "reason": "", "suggestion": None}
    if declared:
        schema = schema_for_url(declared)
        state["schema"] = schema
        report = ValidationReport.objects.filter(resource_key=key, schema=schema).first() if schema else None
        state["report"] = report
        if report is None:
            if schema is None:
                state["reason"] = (
                    f"Validation impossible : le schéma déclaré ({declared}) n'est pas dans le registre des schémas "
                    "de la plateforme. L'équipe données de la région peut l'y enregistrer."
                )
            elif tab is None or tab.status in (Status.QUEUED, Status.PROCESSING):
                state["reason"] = "Validation en attente : elle sera faite dès que le fichier aura été converti."
            elif tab.status == Status.FAILED and not tab.has_data:
                state["reason"] = "Validation impossible : le fichier n'a pas pu être lu (voir la raison ci-dessus)."
            else:
                state["reason"] = "Validation en cours : le rapport apparaîtra ici dès qu'elle sera terminée."
    else:
        state["report"] = latest_report(key)
        if tab is not None and tab.columns:
            from .services import match_schemas

            matches = match_schemas([c["name"] for c in tab.columns])
            state["suggestion"] = matches[0] if matches else None
        if state["report"] is None:
            state["reason"] = "Pas de validation : aucun schéma de données n'est déclaré pour cette ressource."
    return state


def validate_catalog_resource(resource) -> ValidationReport | None:
    """Validate a catalogue resource's file (its local copy) against its declared schema, if any."""
    from regio.tabular.models import TabularResource
    from regio.tabular.services import local_source

    from .services import validate_resource

    schema = schema_for_url(declared_schema_url(resource))
    tab = TabularResource.objects.filter(resource_key=resource_key(resource)).first()
    if schema is None or tab is None:
        return None
    path = local_source(tab)
    if path is None:
        return None
    return validate_resource(resource_key(resource), path, schema)


def on_resource_converted(sender, resource, **kwargs):
    """tabular finished a conversion: validate (if a schema is declared), then rescore the dataset."""
    if not resource.resource_key.startswith(KEY_PREFIX):
        return
    from regio.catalog.models import Resource

    catalog_resource = Resource.objects.select_related("dataset").filter(pk=resource.resource_key[len(KEY_PREFIX):]).first()
    if catalog_resource is None:
        return
    if resource.status == "ready":
        try:
            validate_catalog_resource(catalog_resource)
        except Exception:  # a validation crash must not affect the conversion or the other resources
            log.exception("validation de %s", resource.resource_key)
    refresh_dataset_quality(catalog_resource.dataset)


# --------------------------------------------------------------------------- score


def dataset_meta(dataset) -> DatasetMeta:
    from .models import CheckedLink

    resources = list(dataset.resources.all())
    keys = [resource_key(r) for r in resources]
    urls = [r.url for r in resources if r.url and not r.file]
    links = {link.url: link.available for link in CheckedLink.objects.filter(url__in=urls)}
    reports = {(rep.resource_key, rep.schema_id): rep.valid for rep in ValidationReport.objects.filter(resource_key__in=keys)}
    from regio.tabular.catalog_link import is_tabular

    metas = []
    for r in resources:
        declared = declared_schema_url(r)
        schema = schema_for_url(declared) if declared else None
        valid = reports.get((resource_key(r), schema.pk)) if schema is not None else None
        metas.append(
            ResourceMeta(
                url=r.url or r.public_url(),
                format=r.format,
                available=True if r.file else links.get(r.url),
                tabular=is_tabular(r),
                schema_declared=bool(declared),
                schema_valid=valid,
            )
        )
    territories = [t.name for t in dataset.territories.all()]
    return DatasetMeta(
        title=dataset.title,
        description=dataset.description,
        license=dataset.licence,
        frequency=FREQUENCIES.get(dataset.frequency, dataset.frequency),
        last_update=_last_update(dataset, keys),
        resources=metas,
        temporal_start=dataset.temporal_start,
        temporal_end=dataset.temporal_end,
        spatial=territories,
    )


def _last_update(dataset, keys: list[str]):
    """The later of the last metadata change and the last new version of a remote file that the
    tabular change check found (the data was updated even though nobody edited the dataset)."""
    from regio.tabular.models import TabularResource

    changed = (
        TabularResource.objects.filter(resource_key__in=keys, source_changed_at__isnull=False)
        .order_by("-source_changed_at").values_list("source_changed_at", flat=True).first()
    )
    return max(dataset.metadata_modified_at, changed) if changed else dataset.metadata_modified_at


def refresh_dataset_quality(dataset) -> DatasetQuality:
    from regio.catalog.models import Dataset

    dataset = Dataset.objects.get(pk=dataset.pk)
    result = quality_score(dataset_meta(dataset))
    quality, _ = DatasetQuality.objects.update_or_create(
        dataset=dataset,
        defaults={"score": result.score, "criteria": result.as_json()["criteria"], "computed_at": timezone.now()},
    )
    try:
        from regio.catalog import search

        search.bump_version(scores_only=True)  # facet counts and index are keyed by catalogue version
    except Exception:  # pragma: no cover - the catalogue's cache is optional
        pass
    return quality


def recompute_scores(*, batch: int = 500, now=None) -> dict[str, int]:
    """Recompute the score of every catalogue dataset, in batches of ``batch`` (ordered by id), and
    store only those whose result changed. Run daily (``recompute_scores_task``): the "update
    frequency respected" criterion goes stale as time passes, without any change to the dataset.
    Returns ``{"examined", "changed", "created"}``."""
    from regio.catalog.models import Dataset

    now = now or timezone.now()
    counts = {"examined": 0, "changed": 0, "created": 0}
    last_id = 0
    while True:
        datasets = list(
            Dataset.objects.filter(pk__gt=last_id).order_by("pk").prefetch_related("resources", "territories")[:batch]
        )
        if not datasets:
            break
        last_id = datasets[-1].pk
        stored = {q.dataset_id: q for q in DatasetQuality.objects.filter(dataset_id__in=[d.pk for d in datasets])}
        changed, created = [], []
        for dataset in datasets:
            result = quality_score(dataset_meta(dataset), now=now)
            criteria = result.as_json()["criteria"]
            quality = stored.get(dataset.pk)
            if quality is None:
                created.append(DatasetQuality(dataset=dataset, score=result.score, criteria=criteria, computed_at=now))
            elif quality.score != result.score or quality.criteria != criteria:
                quality.score, quality.criteria, quality.computed_at = result.score, criteria, now
                changed.append(quality)
        with transaction.atomic():
            DatasetQuality.objects.bulk_create(created)
            DatasetQuality.objects.bulk_update(changed, ["score", "criteria", "computed_at"])
        counts["examined"] += len(datasets)
        counts["changed"] += len(changed)
        counts["created"] += len(created)
    if counts["changed"] or counts["created"]:
        try:
            from regio.catalog import search

            search.bump_version(scores_only=True)  # facet counts and index are keyed by catalogue version
        except Exception:  # pragma: no cover - the catalogue's cache is optional
            pass
    return counts


def _refresh_later(dataset_id: int) -> None:
    def run():
        from regio.catalog.models import Dataset

        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is not None:
            refresh_dataset_quality(dataset)

    transaction.on_commit(run)


def on_datasets_bulk_saved(sender, dataset_ids, **kwargs):
    """Datasets written in bulk (harvesting): rescored by one background task after the commit."""
    if not dataset_ids:
        return
    ids = list(dataset_ids)

    def enqueue():
        from .tasks import refresh_datasets_quality_task

        refresh_datasets_quality_task.enqueue(ids)

    transaction.on_commit(enqueue)


def on_dataset_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        _refresh_later(instance.pk)


def on_resource_saved(sender, instance, raw=False, **kwargs):
    if raw:
        return
    if instance.url and not instance.file:
        from .services import watch_link

        watch_link(instance.url)
    _refresh_later(instance.dataset_id)


def on_resource_deleted(sender, instance, **kwargs):
    ValidationReport.objects.filter(resource_key=resource_key(instance)).delete()
    _refresh_later(instance.dataset_id)


def on_link_checked(sender, link, **kwargs):
    from regio.catalog.models import Dataset, Resource

    for dataset in Dataset.objects.filter(pk__in=Resource.objects.filter(url=link.url).values("dataset_id")):
        refresh_dataset_quality(dataset)


def connect():
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    from regio.tabular.signals import resource_converted

    from .signals import link_checked

    Dataset = apps.get_model("catalog", "Dataset")
    Resource = apps.get_model("catalog", "Resource")
    post_save.connect(on_dataset_saved, sender=Dataset, dispatch_uid="quality.catalog_dataset_saved")
    post_save.connect(on_resource_saved, sender=Resource, dispatch_uid="quality.catalog_resource_saved")
    post_delete.connect(on_resource_deleted, sender=Resource, dispatch_uid="quality.catalog_resource_deleted")
    resource_converted.connect(on_resource_converted, dispatch_uid="quality.catalog_resource_converted")
    from regio.catalog.signals import datasets_bulk_saved

    datasets_bulk_saved.connect(on_datasets_bulk_saved, dispatch_uid="quality.catalog_datasets_bulk_saved")
    link_checked.connect(on_link_checked, dispatch_uid="quality.catalog_link_checked")


def declare_schema(user, resource, schema: TableSchema):
    """The publisher declares a registered schema for one resource (one click on the dataset page);
    the resource is then validated in the background and the dataset rescored."""
    from regio.catalog.models import ActivityLog, Resource
    from regio.catalog.permissions import require_edit

    from .tasks import validate_catalog_resource_task

    require_edit(user, resource.dataset)
    url = schema_url(schema)
    before = resource.schema
    # A queryset update: the file itself did not change, so no new conversion.
    Resource.objects.filter(pk=resource.pk).update(schema=url)
    resource.schema = url
    ActivityLog.objects.create(
        dataset=resource.dataset, actor=user if user.is_authenticated else None, action=ActivityLog.Action.UPDATE,
        changes={"resource_schema": [before, url], "resource": [resource.title, resource.title]},
    )
    transaction.on_commit(lambda: validate_catalog_resource_task.enqueue(resource.pk))
    return resource
