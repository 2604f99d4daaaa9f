"""Public debates of the territory (whatever the organiser's level), their meetings, and e-mail alerts."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from regio.core.models import TimeStampedModel
from regio.core.text import normalize_text

THEMES = {
    "amenagement": "Aménagement et urbanisme",
    "environnement": "Environnement et climat",
    "mobilite": "Mobilités et transports",
    "sante": "Santé et solidarités",
    "education": "Éducation et jeunesse",
    "culture": "Culture, sport et loisirs",
    "economie": "Économie et emploi",
    "numerique": "Numérique",
    "budget": "Budget et finances",
    "democratie": "Démocratie et citoyenneté",
    "logement": "Logement",
    "agriculture": "Agriculture et alimentation",
}


def pack(values) -> str:
    """``["a", "b"]`` → ``"|a|b|"``: a text column any database can filter with ``contains="|a|"``."""
    values = [v for v in dict.fromkeys(str(v).strip() for v in values) if v]
    return "|" + "|".join(values) + "|" if values else ""


def unpack(value: str) -> list[str]:
    return [v for v in (value or "").split("|") if v]


class Level(models.TextChoices):
    REGION = "region", "Région"
    DEPARTEMENT = "departement", "Département"
    EPCI = "epci", "Intercommunalité"
    COMMUNE = "commune", "Commune"
    OTHER = "autre", "Autre organisme"


class Debate(TimeStampedModel):
    class Kind(models.TextChoices):
        CONCERTATION = "concertation", "Concertation"
        CONSULTATION = "consultation", "Consultation"
        BUDGET = "budget", "Budget participatif"
        MEETING = "reunion", "Réunion publique"
        PANEL = "panel", "Panel citoyen"
        PETITION = "petition", "Pétition"

    class Status(models.TextChoices):
        UPCOMING = "upcoming", "À venir"
        OPEN = "open", "En cours"
        CLOSED = "closed", "Terminé"
        RESULTS = "results", "Résultats publiés"

    class Moderation(models.TextChoices):
        PENDING = "pending", "En attente de modération"
        APPROVED = "approved", "Publié"
        REJECTED = "rejected", "Refusé"

    title = models.CharField("titre", max_length=300)
    summary = models.TextField("résumé", blank=True)
    organiser = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="debates",
        verbose_name="organisateur",
    )
    organiser_name = models.CharField("nom de l'organisateur", max_length=300, blank=True)
    level = models.CharField("niveau", max_length=12, choices=Level.choices, default=Level.OTHER, db_index=True)
    kind = models.CharField("type", max_length=14, choices=Kind.choices, default=Kind.CONCERTATION)
    themes = models.CharField("thèmes", max_length=400, blank=True)  # packed slugs of THEMES
    territory_codes = models.CharField("territoire concerné (codes INSEE / SIREN)", max_length=2000, blank=True)
    online = models.BooleanField("en ligne", default=False)
    address = models.CharField("adresse", max_length=400, blank=True)
    commune = models.ForeignKey("territory.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lat = models.FloatField("latitude", null=True, blank=True)
    lon = models.FloatField("longitude", null=True, blank=True)
    # The address could not be resolved to a commune: kept as written, shown to the agent to fix.
    address_unresolved = models.BooleanField("adresse non reconnue", default=False)
    opens_on = models.DateField("ouverture", null=True, blank=True)
    closes_on = models.DateField("clôture", null=True, blank=True)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.UPCOMING)
    url = models.URLField("lien vers la plateforme", max_length=600, blank=True)
    results_url = models.URLField("lien vers les résultats", max_length=600, blank=True)
    origin_source = models.ForeignKey(
        "core.Source", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="source d'import"
    )
    origin_remote_id = models.CharField(max_length=500, blank=True)
    moderation = models.CharField(
        "modération", max_length=10, choices=Moderation.choices, default=Moderation.PENDING, db_index=True
    )
    moderation_note = models.TextField("motif", blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    archived_at = models.DateTimeField("retiré de la source le", null=True, blank=True)
    search_text = models.TextField(blank=True)
    dedup_key = models.CharField(max_length=64, blank=True, db_index=True)
    url_key = models.CharField(max_length=600, blank=True, db_index=True)

    class Meta:
        ordering = ["opens_on", "id"]
        verbose_name = "débat"
        indexes = [
            models.Index(fields=["status", "lat", "lon"], name="debate_status_latlon_idx"),
            models.Index(fields=["lat", "lon"], name="debate_latlon_idx"),
            models.Index(fields=["opens_on", "closes_on"], name="debate_dates_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def theme_list(self) -> list[str]:
        return unpack(self.themes)

    @property
    def theme_labels(self) -> list[str]:
        return [THEMES.get(t, t) for t in self.theme_list]

    @property
    def territory_list(self) -> list[str]:
        return unpack(self.territory_codes)

    @property
    def is_public(self) -> bool:
        return self.moderation == self.Moderation.APPROVED and self.archived_at is None

    def compute_status(self, today: date | None = None) -> str:
        today = today or timezone.localdate()
        if self.opens_on and today < self.opens_on:
            return self.Status.UPCOMING
        if self.closes_on and today > self.closes_on:
            return self.Status.RESULTS if self.results_url else self.Status.CLOSED
        if self.opens_on is None and self.closes_on is None:
            return self.Status.RESULTS if self.results_url else self.Status.OPEN
        return self.Status.OPEN

    def refresh_derived(self) -> None:
        from .services import dedup_key, url_key

        self.status = self.compute_status()
        self.search_text = normalize_text(" ".join([self.title, self.summary, self.organiser_name]))
        self.dedup_key = dedup_key(self.title, self.organiser_name, self.opens_on, self.closes_on)
        self.url_key = url_key(self.url)

    def save(self, *args, **kwargs):
        self.refresh_derived()
        if kwargs.get("update_fields"):
            kwargs["update_fields"] = {*kwargs["update_fields"], "status", "search_text", "dedup_key", "url_key"}
        super().save(*args, **kwargs)


class Meeting(models.Model):
    debate = models.ForeignKey(Debate, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField("intitulé", max_length=300, blank=True)
    starts_at = models.DateTimeField("début")
    ends_at = models.DateTimeField("fin", null=True, blank=True)
    online = models.BooleanField("en ligne", default=False)
    address = models.CharField("adresse", max_length=400, blank=True)
    commune = models.ForeignKey("territory.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lat = models.FloatField("latitude", null=True, blank=True)
    lon = models.FloatField("longitude", null=True, blank=True)
    url = models.URLField("lien", max_length=600, blank=True)
    remote_id = models.CharField(max_length=500, blank=True, db_index=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = "réunion"

    def __str__(self) -> str:
        return f"{self.title or self.debate.title} — {self.starts_at:%d/%m/%Y %H:%M}"


class Subscription(TimeStampedModel):
    """An e-mail alert without an account: themes and/or a commune with a radius."""

    class Frequency(models.TextChoices):
        DAILY = "daily", "Quotidienne"
        WEEKLY = "weekly", "Hebdomadaire"

    email = models.EmailField("adresse électronique", unique=True)
    themes = models.CharField("thèmes", max_length=400, blank=True)
    commune = models.ForeignKey("territory.Commune", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    radius_km = models.PositiveIntegerField("rayon (km)", default=10)
    frequency = models.CharField("fréquence", max_length=6, choices=Frequency.choices, default=Frequency.WEEKLY)
    confirmed_at = models.DateTimeField("confirmée le", null=True, blank=True, db_index=True)
    last_sent_at = models.DateTimeField("dernier envoi", null=True, blank=True)

    class Meta:
        verbose_name = "abonnement aux débats"

    def __str__(self) -> str:
        return self.email

    @property
    def theme_list(self) -> list[str]:
        return unpack(self.themes)
