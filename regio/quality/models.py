"""Table Schema registry, validation reports (by resource key) and link availability history."""

from django.db import models

from regio.core.models import TimeStampedModel


class TableSchema(TimeStampedModel):
    slug = models.SlugField("identifiant", max_length=200, unique=True)
    name = models.CharField("nom", max_length=200)
    title = models.CharField("titre", max_length=300)
    version = models.CharField("version", max_length=50, blank=True)
    description = models.TextField("description", blank=True)
    source_url = models.CharField("adresse d'origine", max_length=2000, blank=True)
    descriptor = models.JSONField("descripteur Table Schema")
    field_names = models.JSONField("noms des colonnes", default=list)

    class Meta:
        verbose_name = "schéma de données"
        verbose_name_plural = "schémas de données"
        ordering = ["title", "version"]

    def __str__(self) -> str:
        return f"{self.title} ({self.version})" if self.version else self.title


class ValidationReport(TimeStampedModel):
    resource_key = models.CharField("clé de la ressource", max_length=200, db_index=True)
    schema = models.ForeignKey(TableSchema, on_delete=models.CASCADE, related_name="reports", verbose_name="schéma")
    valid = models.BooleanField("conforme", default=False)
    error_count = models.PositiveIntegerField("nombre d'erreurs", default=0)
    row_count = models.PositiveIntegerField("lignes lues", null=True, blank=True)
    errors = models.JSONField("erreurs", default=list)
    truncated = models.BooleanField("liste d'erreurs tronquée", default=False)

    class Meta:
        verbose_name = "rapport de validation"
        verbose_name_plural = "rapports de validation"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.resource_key} / {self.schema}"


class CheckedLink(TimeStampedModel):
    url = models.URLField("adresse", max_length=2000, unique=True)
    available = models.BooleanField("disponible", null=True)
    last_status = models.PositiveIntegerField("dernier code HTTP", null=True, blank=True)
    last_error = models.TextField("dernière erreur", blank=True)
    last_checked_at = models.DateTimeField("dernière vérification", null=True, blank=True)
    next_check_at = models.DateTimeField("prochaine vérification", null=True, blank=True, db_index=True)
    consecutive_failures = models.PositiveIntegerField("échecs consécutifs", default=0)

    class Meta:
        verbose_name = "lien vérifié"
        verbose_name_plural = "liens vérifiés"

    def __str__(self) -> str:
        return self.url


class LinkCheck(models.Model):
    link = models.ForeignKey(CheckedLink, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField("vérifié le", db_index=True)
    ok = models.BooleanField("disponible")
    status_code = models.PositiveIntegerField("code HTTP", null=True, blank=True)
    error = models.TextField("erreur", blank=True)
    duration_ms = models.PositiveIntegerField("durée (ms)", default=0)

    class Meta:
        verbose_name = "vérification de lien"
        ordering = ["-checked_at"]


class DatasetQuality(models.Model):
    """The quality score of a catalogue dataset, stored so the catalogue can filter and sort on it."""

    dataset = models.OneToOneField("catalog.Dataset", on_delete=models.CASCADE, related_name="quality", verbose_name="jeu de données")
    score = models.PositiveSmallIntegerField("score de qualité", db_index=True)
    criteria = models.JSONField("critères", default=list)
    computed_at = models.DateTimeField("calculé le")

    class Meta:
        verbose_name = "qualité d'un jeu de données"
        verbose_name_plural = "qualité des jeux de données"

    def __str__(self) -> str:
        return f"{self.dataset_id} : {self.score}/100"
