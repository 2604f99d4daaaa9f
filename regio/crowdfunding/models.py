"""Crowdfunding: projects, pledges, the région's match-funding programmes and a double-entry ledger.

Money is always an integer number of euro cents.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from regio.core.models import TimeStampedModel

PLEDGE_MIN_CENTS = 500  # 5 €
PLEDGE_MAX_CENTS = 300_000  # 3 000 € per pledge
CITIZEN_KIND = "particulier"  # organisation "kind" of a project carried by a private person


class Category(models.TextChoices):
    ENTREPRENEURSHIP = "entrepreneuriat", "Entrepreneuriat"
    CULTURE = "culture", "Culture"
    CRAFTS = "artisanat", "Artisanat"
    SOLIDARITY = "solidarite", "Solidarité"
    FARMING = "agriculture", "Agriculture locale"


class Programme(TimeStampedModel):
    """A match-funding scheme of the région ("1 € from a citizen, 1 € from the région")."""

    class Mode(models.TextChoices):
        RATIO = "ratio", "Abondement proportionnel"
        TOP_UP = "top_up", "Forfait une fois un seuil atteint"

    name = models.CharField("nom", max_length=200)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    description = models.TextField("présentation", blank=True)
    mode = models.CharField("mode", max_length=8, choices=Mode.choices, default=Mode.RATIO)
    # Ratio mode: the région adds numerator/denominator of each pledge (1:1, 1:2 …).
    ratio_numerator = models.PositiveIntegerField("ratio : part de la Région", default=1)
    ratio_denominator = models.PositiveIntegerField("ratio : part du citoyen", default=1)
    # Top-up mode: a fixed amount once the citizens' pledges reach a threshold.
    top_up_cents = models.PositiveBigIntegerField("forfait (centimes)", default=0)
    top_up_threshold_cents = models.PositiveBigIntegerField("seuil du forfait (centimes)", default=0)
    cap_per_pledge_cents = models.PositiveBigIntegerField("plafond d'abondement par don (centimes)", null=True, blank=True)
    cap_per_backer_cents = models.PositiveBigIntegerField("plafond d'abondement par contributeur et projet (centimes)", null=True, blank=True)
    cap_per_project_cents = models.PositiveBigIntegerField("plafond d'abondement par projet (centimes)", null=True, blank=True)
    envelope_cents = models.PositiveBigIntegerField("enveloppe totale (centimes)")
    # Reserved + released match, kept on the row locked by every reservation (never > envelope).
    committed_cents = models.PositiveBigIntegerField("montant engagé (centimes)", default=0, editable=False)
    # Eligibility; an empty list means "no restriction".
    categories = models.JSONField("catégories éligibles", default=list, blank=True)
    density_classes = models.JSONField("classes de densité éligibles (grille INSEE)", default=list, blank=True)
    organisation_kinds = models.JSONField("porteurs éligibles", default=list, blank=True)
    starts_at = models.DateTimeField("début")
    ends_at = models.DateTimeField("fin")
    min_backers = models.PositiveIntegerField("nombre minimal de contributeurs distincts", default=0)
    public_aid_ceiling_pct = models.PositiveSmallIntegerField("plafond des aides publiques (% du coût)", default=80)
    is_active = models.BooleanField("actif", default=True)

    class Meta:
        ordering = ["-starts_at", "name"]
        verbose_name = "programme d'abondement"
        constraints = [
            models.CheckConstraint(condition=models.Q(committed_cents__lte=models.F("envelope_cents")), name="programme_not_overspent"),
            models.CheckConstraint(condition=models.Q(ratio_denominator__gt=0), name="programme_ratio_denominator_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def available_cents(self) -> int:
        return self.envelope_cents - self.committed_cents

    @property
    def ratio_label(self) -> str:
        if self.mode == self.Mode.TOP_UP:
            return "forfait"
        return f"{self.ratio_denominator} € du citoyen : {self.ratio_numerator} € de la Région"


class Project(TimeStampedModel):
    class Moderation(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        SUBMITTED = "submitted", "Soumis à la modération"
        PUBLISHED = "published", "Publié"
        REJECTED = "rejected", "Refusé"

    class Campaign(models.TextChoices):
        OPEN = "open", "Collecte en cours"
        FUNDED = "funded", "Financé"
        FAILED = "failed", "Objectif non atteint"
        CLOSED = "closed", "Clos"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crowdfunding_projects")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="crowdfunding_projects"
    )
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, null=True, blank=True, related_name="projects")
    title = models.CharField("titre", max_length=200)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    category = models.CharField("catégorie", max_length=20, choices=Category.choices, db_index=True)
    commune = models.ForeignKey("territory.Commune", on_delete=models.PROTECT, related_name="crowdfunding_projects")
    summary = models.CharField("résumé", max_length=300, blank=True)
    description = models.TextField("description (Markdown)")
    description_html = models.TextField(editable=False, blank=True)
    image = models.FileField("image", upload_to="crowdfunding/", blank=True)
    image_alt = models.CharField("texte alternatif de l'image", max_length=200, blank=True)
    goal_cents = models.PositiveBigIntegerField("objectif (centimes)")
    deadline = models.DateTimeField("fin de la collecte")
    # Declared public funding other than this programme's match (for the 80 % public-aid ceiling).
    other_public_funding_cents = models.PositiveBigIntegerField("autres aides publiques déclarées (centimes)", default=0)
    moderation_status = models.CharField(
        "modération", max_length=10, choices=Moderation.choices, default=Moderation.DRAFT, db_index=True
    )
    moderation_note = models.TextField("motif de la décision", blank=True)
    campaign_state = models.CharField("collecte", max_length=8, choices=Campaign.choices, default=Campaign.OPEN, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = "projet"

    def __str__(self) -> str:
        return self.title

    @property
    def cost_cents(self) -> int:
        """The project's total cost: the sum of its budget lines (the goal when none is given)."""
        total = sum(line.amount_cents for line in self.budget_lines.all())
        return total or self.goal_cents

    @property
    def owner_kind(self) -> str:
        return self.organisation.kind if self.organisation_id else CITIZEN_KIND

    @property
    def is_published(self) -> bool:
        return self.moderation_status == self.Moderation.PUBLISHED

    @property
    def is_open(self) -> bool:
        return self.is_published and self.campaign_state == self.Campaign.OPEN and self.deadline > timezone.now()


class BudgetLine(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget_lines")
    label = models.CharField("poste", max_length=200)
    amount_cents = models.PositiveBigIntegerField("montant (centimes)")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class Counterpart(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="counterparts")
    min_amount_cents = models.PositiveBigIntegerField("à partir de (centimes)")
    title = models.CharField("contrepartie", max_length=200)
    description = models.TextField("description", blank=True)

    class Meta:
        ordering = ["min_amount_cents", "id"]


def new_payment_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
    return "RGCF" + "".join(secrets.choice(alphabet) for _ in range(8))


class Pledge(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "En attente du paiement"
        AUTHORISED = "authorised", "Paiement reçu (en attente de la fin de la collecte)"
        CAPTURED = "captured", "Encaissé"
        REFUNDED = "refunded", "Remboursé"
        CANCELLED = "cancelled", "Annulé"

    class Provider(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Virement bancaire"
        CARD = "card", "Carte bancaire"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="pledges")
    backer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crowdfunding_pledges")
    amount_cents = models.PositiveBigIntegerField("montant (centimes)")
    idempotency_key = models.CharField(max_length=80, unique=True)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    provider = models.CharField("moyen de paiement", max_length=16, choices=Provider.choices, default=Provider.BANK_TRANSFER)
    payment_reference = models.CharField("référence de paiement", max_length=20, unique=True, default=new_payment_reference)
    provider_session_id = models.CharField(max_length=120, blank=True, db_index=True)
    provider_payment_id = models.CharField(max_length=120, blank=True)
    checkout_url = models.URLField(max_length=1000, blank=True)
    show_name = models.BooleanField("accepte que son nom soit montré au porteur de projet", default=False)
    message = models.CharField("message au porteur", max_length=500, blank=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "don"

    def __str__(self) -> str:
        return f"{self.payment_reference} — {self.amount_cents / 100:.2f} €"

    @property
    def is_confirmed(self) -> bool:
        return self.status in (self.Status.AUTHORISED, self.Status.CAPTURED)


class MatchReservation(TimeStampedModel):
    """Part of the région's match reserved for a project, triggered by a confirmed pledge."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Réservé"
        RELEASED = "released", "Versé (collecte réussie)"
        CANCELLED = "cancelled", "Annulé (collecte échouée)"

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="reservations")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="reservations")
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, null=True, blank=True, related_name="reservations")
    amount_cents = models.PositiveBigIntegerField("montant (centimes)")
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.RESERVED, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "réservation d'abondement"


class Update(TimeStampedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField("titre", max_length=200)
    body = models.TextField("texte (Markdown)")
    body_html = models.TextField(editable=False, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "actualité"


# ---- double-entry ledger ------------------------------------------------------------------


class Account(models.Model):
    """A ledger account. Balance = debits − credits (assets positive, liabilities negative)."""

    class Kind(models.TextChoices):
        ASSET = "asset", "Actif"
        LIABILITY = "liability", "Passif"
        EQUITY = "equity", "Fonds"

    code = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = "compte"

    def __str__(self) -> str:
        return self.code


class Transaction(models.Model):
    class Kind(models.TextChoices):
        ENVELOPE_ALLOTTED = "envelope_allotted", "Enveloppe allouée"
        PLEDGE_AUTHORISED = "pledge_authorised", "Don reçu"
        PLEDGE_CAPTURED = "pledge_captured", "Don encaissé"
        PLEDGE_REFUNDED = "pledge_refunded", "Don remboursé"
        MATCH_RESERVED = "match_reserved", "Abondement réservé"
        MATCH_RELEASED = "match_released", "Abondement versé"
        MATCH_CANCELLED = "match_cancelled", "Abondement annulé"
        PAYOUT = "payout", "Versement au porteur"

    # One transaction per movement: the unique key makes every posting idempotent.
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions")
    reservation = models.ForeignKey(MatchReservation, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions")

    class Meta:
        ordering = ["created_at", "id"]


class Entry(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    debit_cents = models.PositiveBigIntegerField(default=0)
    credit_cents = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit_cents=0) & models.Q(credit_cents__gt=0))
                | (models.Q(debit_cents__gt=0) & models.Q(credit_cents=0)),
                name="entry_one_sided",
            )
        ]


class Payout(TimeStampedModel):
    project = models.OneToOneField(Project, on_delete=models.PROTECT, related_name="payout")
    amount_cents = models.PositiveBigIntegerField()
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")


# ---- payments ----------------------------------------------------------------------------------


class WebhookEvent(TimeStampedModel):
    """A payment provider callback already processed (replays are ignored)."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=80)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="uniq_webhook_event")]


class StatementImport(TimeStampedModel):
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20)
    lines_total = models.PositiveIntegerField(default=0)
    lines_matched = models.PositiveIntegerField(default=0)
    lines_queued = models.PositiveIntegerField(default=0)
    lines_replayed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]


class StatementLine(TimeStampedModel):
    class Status(models.TextChoices):
        MATCHED = "matched", "Rapprochée"
        QUEUED = "queued", "À traiter par un agent"
        RESOLVED = "resolved", "Traitée par un agent"

    statement = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="lines")
    # SHA-256 of the line's date, label, amount and its rank among identical lines: a statement
    # uploaded twice (or overlapping statements) never counts a line twice.
    fingerprint = models.CharField(max_length=64, unique=True)
    line_number = models.PositiveIntegerField()
    booked_on = models.DateField(null=True, blank=True)
    label = models.CharField(max_length=500)
    amount_cents = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    reason = models.CharField("motif", max_length=300, blank=True)
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, null=True, blank=True, related_name="statement_lines")

    class Meta:
        ordering = ["statement", "line_number"]
