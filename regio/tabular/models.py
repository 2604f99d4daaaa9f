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
    # A file given by URL: what identifies the version converted, for the periodic change check.
    remote_etag = models.CharField("ETag de la version convertie", max_length=500, blank=True)
    remote_last_modified = models.CharField("Last-Modified de la version convertie", max_length=100, blank=True)
    source_sha256 = models.CharField("empreinte SHA-256 du fichier converti", max_length=64, blank=True)
    source_changed_at = models.DateTimeField("nouvelle version du fichier distant convertie le", null=True, blank=True)
    next_remote_check_at = models.DateTimeField("prochaine vérification du fichier distant", null=True, blank=True, db_index=True)

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


class RemoteCheck(models.Model):
    """One periodic check of a resource's remote file (history kept): unchanged, changed (a new
    version converted, or not readable: the previous Parquet stays served) or failed."""

    class Outcome(models.TextChoices):
        UNCHANGED = "unchanged", "Inchangé"
        CHANGED = "changed", "Nouvelle version convertie"
        CONVERSION_FAILED = "conversion_failed", "Nouvelle version illisible (version précédente conservée)"
        FAILED = "failed", "Téléchargement impossible (version précédente conservée)"

    resource = models.ForeignKey(TabularResource, on_delete=models.CASCADE, related_name="remote_checks")
    checked_at = models.DateTimeField("vérifié le", db_index=True)
    outcome = models.CharField("résultat", max_length=20, choices=Outcome.choices)
    status_code = models.PositiveIntegerField("code HTTP", null=True, blank=True)
    etag = models.CharField("ETag", max_length=500, blank=True)
    last_modified = models.CharField("Last-Modified", max_length=100, blank=True)
    size_bytes = models.BigIntegerField("taille (octets)", null=True, blank=True)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    row_count = models.BigIntegerField("lignes de la nouvelle version", null=True, blank=True)
    error = models.TextField("erreur", blank=True)

    class Meta:
        verbose_name = "vérification du fichier distant"
        verbose_name_plural = "vérifications des fichiers distants"
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.checked_at:%Y-%m-%d %H:%M} {self.outcome}"
