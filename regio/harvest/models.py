"""Harvest sources (a view on core ingest sources) and where each harvested dataset comes from."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from regio.core.ingest.models import Run, Source

KINDS = {
    "ckan": "CKAN (API Action, compatible DKAN)",
    "udata": "udata (API v1, data.gouv.fr et ses clones)",
    "ods": "OpenDataSoft (API Explore v2.1 ou v1)",
    "dcat": "DCAT (RDF/XML, Turtle, JSON-LD ; DCAT-AP 2/3, GeoDCAT-AP)",
    "csw": "CSW (GetRecords ISO 19139, GeoNetwork)",
    "scdl-catalog": "Fichier catalogue (schéma SCDL « catalogue »)",
}


class HarvestSourceManager(models.Manager):
    """Harvest sources that were not deleted (``HarvestSource.all_objects`` includes the deleted ones)."""

    def get_queryset(self):
        return super().get_queryset().filter(kind__in=list(KINDS), deleted_at__isnull=True)


class AllHarvestSourceManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind__in=list(KINDS))


class HarvestSource(Source):
    """A core ingest :class:`Source` whose kind is one of the harvest backends."""

    objects = HarvestSourceManager()
    all_objects = AllHarvestSourceManager()

    class Meta:
        proxy = True
        verbose_name = "source moissonnée"
        verbose_name_plural = "sources moissonnées"

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def last_real_run(self):
        return self.runs.filter(dry_run=False).exclude(status=Run.Status.QUEUED).order_by("-id").first()

    @property
    def is_stale(self) -> bool:
        """Deleted, or its last real run failed or died: its datasets are kept but may be out of date."""
        if self.deleted_at is not None:
            return True
        last = self.last_real_run()
        return last is not None and last.status in (Run.Status.FAILED, Run.Status.DEAD)


class DatasetOrigin(models.Model):
    """One source through which a catalogue dataset was reached (a dataset may have several)."""

    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="harvest_origins")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="harvest_origins")
    remote_id = models.CharField("identifiant distant", max_length=500)
    identifier = models.CharField("URI / dct:identifier", max_length=500, blank=True, db_index=True)
    landing_page = models.CharField("page d'origine", max_length=1000, blank=True)
    landing_key = models.CharField(max_length=40, blank=True, db_index=True)  # SHA-1 of landing_page
    # The source whose metadata the dataset shows (its original publisher's portal when known).
    primary = models.BooleanField("source principale", default=False)
    # Reached again through a portal that re-exposes Regio's own catalogue (or another loop).
    loop = models.BooleanField("boucle de moissonnage", default=False)
    warnings = models.JSONField("avertissements de correspondance", default=list, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField("supprimé à la source le", null=True, blank=True)

    class Meta:
        ordering = ["-primary", "id"]
        verbose_name = "origine moissonnée"
        constraints = [
            models.UniqueConstraint(fields=["source", "remote_id"], name="uniq_harvest_origin_remote"),
            models.UniqueConstraint(fields=["source", "dataset"], name="uniq_harvest_origin_dataset"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.remote_id} → {self.dataset_id}"

    @property
    def is_stale(self) -> bool:
        return HarvestSource(pk=self.source_id, deleted_at=self.source.deleted_at).is_stale

    @property
    def orphaned(self) -> bool:
        """Its source was deleted: the dataset is kept as it was last harvested, no longer updated."""
        return self.source.deleted_at is not None


class ResourceKey(models.Model):
    """SHA-1 of each distinctive resource URL of a harvested dataset: identity by files, looked up by index."""

    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40, db_index=True)

    class Meta:
        verbose_name = "empreinte d'adresse de ressource"


def url_key(url: str) -> str:
    import hashlib

    return hashlib.sha1(url.encode()).hexdigest() if url else ""
