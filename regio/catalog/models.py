"""The open data catalogue: datasets (DCAT-AP 3 aligned), resources, reuses, activity, discussions."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from regio.core.models import PublicationStatus, PublishableModel, TimeStampedModel

from .vocabularies import (
    ALL_LICENCE_CHOICES,
    ALL_LICENCES,
    FREQUENCY_CHOICES,
    TERRITORY_LEVELS,
    THEME_BASE,
    THEME_CHOICES,
    THEMES,
)


class RegionalTheme(models.Model):
    """A theme of the région's own, used next to the EU data-theme vocabulary.

    Stored in ``Dataset.themes`` by its code, like an EU theme; exported in DCAT-AP as a
    ``skos:Concept`` of the platform's own concept scheme (``/donnees/themes``), with a
    ``skos:broadMatch`` to the EU theme it maps to, if any.
    """

    code = models.CharField(
        "code", max_length=20, unique=True,
        help_text="Lettres majuscules, chiffres, tirets ou soulignés (ex. LITTORAL) ; distinct des codes européens.",
    )
    label = models.CharField("libellé", max_length=200)
    eu_theme = models.CharField("thème européen correspondant", max_length=4, choices=THEME_CHOICES, blank=True)

    class Meta:
        ordering = ["label"]
        verbose_name = "thème régional"
        verbose_name_plural = "thèmes régionaux"

    def __str__(self) -> str:
        return f"{self.label} ({self.code})"

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("catalog:theme", args=[self.code])

    def clean(self):
        from django.core.exceptions import ValidationError

        self.code = (self.code or "").strip().upper()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]*", self.code):
            raise ValidationError({"code": "Le code ne peut contenir que des lettres, chiffres, tirets et soulignés."})
        if self.code in THEMES:
            raise ValidationError({"code": f"« {self.code} » est déjà un code du vocabulaire européen des thèmes."})


def regional_theme_uri(code: str, base: str | None = None) -> str:
    return (base or settings.SITE_URL).rstrip("/") + reverse("catalog:theme", args=[code])


def regional_themes() -> dict[str, RegionalTheme]:
    return {t.code: t for t in RegionalTheme.objects.all()}


def theme_labels() -> dict[str, str]:
    """Every accepted theme code → its French label: the EU vocabulary, then the région's own."""
    return {**THEMES, **{code: t.label for code, t in regional_themes().items()}}


def theme_choices() -> list[tuple[str, str]]:
    regional = [(t.code, f"{t.label} (thème régional)") for t in RegionalTheme.objects.all()]
    return [*THEME_CHOICES, *regional]


class Dataset(PublishableModel):
    class Origin(models.TextChoices):
        LOCAL = "local", "Publié sur la plateforme"
        HARVESTED = "harvested", "Moissonné"

    class Moderation(models.TextChoices):
        NOT_REQUIRED = "not_required", "Sans modération"
        PENDING = "pending", "En attente de modération"
        APPROVED = "approved", "Approuvé"
        REJECTED = "rejected", "Refusé"

    uid = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField("titre", max_length=250)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    description = models.TextField("description (Markdown)", blank=True)
    publisher = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="datasets", verbose_name="producteur"
    )
    contact_name = models.CharField("point de contact", max_length=200, blank=True)
    contact_email = models.EmailField("courriel de contact", blank=True)
    keywords = models.JSONField("mots-clés", default=list, blank=True)
    themes = models.JSONField("thèmes", default=list, blank=True, help_text="codes du vocabulaire européen data-theme")
    temporal_start = models.DateField("début de la période couverte", null=True, blank=True)
    temporal_end = models.DateField("fin de la période couverte", null=True, blank=True)
    frequency = models.CharField("fréquence de mise à jour", max_length=16, choices=FREQUENCY_CHOICES, default="UNKNOWN")
    licence = models.CharField("licence", max_length=16, choices=ALL_LICENCE_CHOICES)
    conforms_to = models.URLField("schéma de données (Table Schema)", max_length=500, blank=True)
    origin = models.CharField("origine", max_length=16, choices=Origin.choices, default=Origin.LOCAL, db_index=True)
    # Filled by the harvester: where the record comes from and its id there.
    source_url = models.URLField("page source", max_length=500, blank=True)
    harvest_source = models.CharField("source moissonnée", max_length=200, blank=True, db_index=True)
    remote_id = models.CharField("identifiant distant", max_length=200, blank=True, db_index=True)
    moderation = models.CharField(
        "modération", max_length=16, choices=Moderation.choices, default=Moderation.NOT_REQUIRED, db_index=True
    )
    metadata_modified_at = models.DateTimeField("métadonnées modifiées le", default=timezone.now, db_index=True)
    views_count = models.PositiveIntegerField("vues", default=0)
    downloads_count = models.PositiveIntegerField("téléchargements", default=0)
    popularity = models.PositiveIntegerField("popularité", default=0, db_index=True)
    # Denormalised multi-valued facets ("theme:ECON", "format:csv", "territory:commune:80021:Amiens",
    # "keyword:…"), one per line, kept by services.refresh_facet_terms: lets a search count every
    # facet from the one query that fetches its hits.
    facet_terms = models.TextField(blank=True, default="", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-metadata_modified_at", "-id"]
        verbose_name = "jeu de données"
        verbose_name_plural = "jeux de données"
        indexes = [models.Index(fields=["status", "moderation"])]
        constraints = [
            models.UniqueConstraint(
                fields=["harvest_source", "remote_id"],
                condition=~models.Q(remote_id=""),
                name="uniq_dataset_harvest_remote_id",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:dataset", args=[self.slug])

    @property
    def is_public(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED and self.moderation != self.Moderation.PENDING

    @property
    def licence_info(self):
        return ALL_LICENCES.get(self.licence)

    @property
    def theme_items(self) -> list[dict]:
        regional = regional_themes() if any(t not in THEMES for t in self.themes) else {}
        items = []
        for t in self.themes:
            if t in THEMES:
                items.append({"code": t, "label": THEMES[t], "uri": THEME_BASE + t})
            elif t in regional:
                items.append({"code": t, "label": regional[t].label, "uri": regional_theme_uri(t)})
            else:
                items.append({"code": t, "label": t, "uri": ""})
        return items


class DatasetTerritory(models.Model):
    """Spatial coverage: one row per territory (INSEE code; SIREN for an EPCI) the dataset covers."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="territories")
    level = models.CharField("niveau", max_length=12, choices=list(TERRITORY_LEVELS.items()))
    code = models.CharField("code", max_length=9, db_index=True)
    name = models.CharField("nom", max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "level", "code"], name="uniq_dataset_territory")]
        verbose_name = "couverture territoriale"

    def __str__(self) -> str:
        return f"{self.name or self.code} ({self.level})"


class DatasetTerm(models.Model):
    """Themes and keywords of a dataset, one row each, for facets, filters and CKAN ``tag_list``."""

    class Kind(models.TextChoices):
        THEME = "theme", "Thème"
        KEYWORD = "keyword", "Mot-clé"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["kind", "value"])]
        constraints = [models.UniqueConstraint(fields=["dataset", "kind", "value"], name="uniq_dataset_term")]


def resource_upload_to(instance, filename: str) -> str:
    return f"catalog/{instance.dataset.uid}/{uuid.uuid4().hex[:8]}-{filename}"


class Resource(TimeStampedModel):
    uid = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField("titre", max_length=250)
    description = models.TextField("description", blank=True)
    url = models.URLField("adresse", max_length=1000, blank=True)
    file = models.FileField("fichier", upload_to=resource_upload_to, blank=True, max_length=300)
    format = models.CharField("format", max_length=20, blank=True, db_index=True)
    media_type = models.CharField("type de média", max_length=120, blank=True)
    size = models.BigIntegerField("taille (octets)", null=True, blank=True)
    checksum_sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    schema = models.URLField("schéma", max_length=500, blank=True)
    last_modified = models.DateTimeField("modifiée le", default=timezone.now)
    position = models.PositiveIntegerField(default=0)
    downloads_count = models.PositiveIntegerField("téléchargements", default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "ressource"
        # Covering index for the format facet: counted from the matched ids without reading rows.
        indexes = [models.Index(fields=["dataset", "format"], name="catalog_res_dataset_format")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_upload(self) -> bool:
        return bool(self.file)

    def download_path(self) -> str:
        return reverse("catalog:resource_download", args=[self.uid])

    def public_url(self, request=None) -> str:
        """The URL a client downloads: the remote URL, or our counting download view for uploads."""
        if self.url and not self.file:
            return self.url
        path = self.download_path()
        if request is not None:
            return request.build_absolute_uri(path)
        return settings.SITE_URL.rstrip("/") + path


class Reuse(PublishableModel):
    class Kind(models.TextChoices):
        APPLICATION = "application", "Application"
        ARTICLE = "article", "Article"
        VISUALISATION = "visualization", "Visualisation"
        API = "api", "API"
        OTHER = "other", "Autre"

    title = models.CharField("titre", max_length=250)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    kind = models.CharField("type", max_length=16, choices=Kind.choices, default=Kind.APPLICATION)
    description = models.TextField("description", blank=True)
    url = models.URLField("adresse", max_length=500)
    datasets = models.ManyToManyField(Dataset, related_name="reuses", blank=True)
    owner = models.ForeignKey(
        "accounts.Organisation", on_delete=models.SET_NULL, null=True, blank=True, related_name="reuses"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "réutilisation"

    def __str__(self) -> str:
        return self.title


class ActivityLog(models.Model):
    """Who changed what on a dataset (or its resources), when: a field-level diff."""

    class Action(models.TextChoices):
        CREATE = "create", "Création"
        UPDATE = "update", "Modification"
        PUBLISH = "publish", "Publication"
        ARCHIVE = "archive", "Archivage"
        RESOURCE_ADD = "resource_add", "Ajout d'une ressource"
        MODERATION = "moderation", "Modération"
        DISCUSSION = "discussion", "Discussion"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    changes = models.JSONField("modifications", default=dict, blank=True)  # {field: [before, after]}
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "journal d'activité"

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.dataset_id} — {self.at:%Y-%m-%d %H:%M}"


class Discussion(TimeStampedModel):
    """"Signaler un problème": a thread on a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="discussions")
    title = models.CharField("sujet", max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "discussion"

    def __str__(self) -> str:
        return self.title


class Message(TimeStampedModel):
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField("message")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "message"


class SearchGeneration(models.Model):
    """One row: a random token replaced on every write that can change search results or facets
    (``search.bump_version``), and ``scores``, replaced when only quality scores changed. Processes compare it with the token their in-memory facet index
    (``regio.catalog.facet_index``) and cached counts were built under: a write committed by
    another process is seen by the next search. Random rather than a counter so that a rolled back
    write can never make an old token current again."""

    token = models.CharField(max_length=32)
    scores = models.CharField(max_length=32, default="")

    class Meta:
        verbose_name = "génération du catalogue (recherche)"
