"""A resource file converted to Parquet. The resource itself belongs to the catalogue: it is
referred to only by an opaque key (e.g. ``catalog.resource:42``)."""

from django.db import models

from regio.core.models import TimeStampedModel


class Status(models.TextChoices):
    QUEUED = "queued", "En attente"
    PROCESSING = "processing", "Conversion en cours"
    READY = "ready", "Prêt"
    FAILED = "failed", "Échec"


class TabularResource(TimeStampedModel):
    resource_key = models.CharField("clé de la ressource", max_length=200, unique=True)
    title = models.CharField("titre", max_length=300, blank=True)
    source = models.CharField("fichier ou URL d'origine", max_length=2000)
    source_name = models.CharField("nom du fichier", max_length=300, blank=True)
    status = models.CharField("statut", max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField("raison de l'échec", blank=True)
    format = models.CharField("format détecté", max_length=16, blank=True)
    size_bytes = models.BigIntegerField("taille du fichier (octets)", null=True, blank=True)
    parquet_path = models.CharField("fichier Parquet", max_length=1000, blank=True)
    row_count = models.BigIntegerField("nombre de lignes", null=True, blank=True)
    columns = models.JSONField("profil des colonnes", default=list, blank=True)
    dialect = models.JSONField("dialecte détecté", default=dict, blank=True)
    converted_at = models.DateTimeField("converti le", null=True, blank=True)

    class Meta:
        verbose_name = "ressource tabulaire"
        verbose_name_plural = "ressources tabulaires"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or self.source_name or self.resource_key

    @property
    def has_data(self) -> bool:
        return bool(self.parquet_path)

    @property
    def numeric_columns(self) -> list[dict]:
        return [c for c in self.columns if c.get("numeric")]
