"""Data requests (public tracker with a mediation workflow) and the open-data obligations monitor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Status(models.TextChoices):
    SUBMITTED = "submitted", "Déposée"
    QUALIFIED = "qualified", "Qualifiée"
    ASSIGNED = "assigned", "Transmise au producteur"
    IN_PROGRESS = "in_progress", "En cours de préparation"
    RELEASED = "released", "Données publiées"
    REFUSED = "refused", "Refusée"
    WITHDRAWN = "withdrawn", "Retirée"


OPEN_STATUSES = (Status.SUBMITTED, Status.QUALIFIED, Status.ASSIGNED, Status.IN_PROGRESS)
CLOSED_STATUSES = (Status.RELEASED, Status.REFUSED, Status.WITHDRAWN)


class LegalGround(models.TextChoices):
    """Grounds for refusing communication (Code des relations entre le public et l'administration, L311-5 / L311-6)."""

    PERSONAL_DATA = "personal_data", "Protection de la vie privée / données personnelles"
    TRADE_SECRET = "trade_secret", "Secret des affaires"
    IN_PREPARATION = "in_preparation", "Document en cours d'élaboration (inachevé)"
    NATIONAL_SECURITY = "security", "Sécurité publique ou des systèmes d'information"
    NOT_HELD = "not_held", "Données non détenues par l'administration"
    ALREADY_PUBLIC = "already_public", "Données déjà publiées"
    ABUSIVE = "abusive", "Demande abusive (nombre, caractère répétitif ou systématique)"
    INTELLECTUAL_PROPERTY = "third_party_ip", "Droits de propriété intellectuelle de tiers"


class Moderation(models.TextChoices):
    NOT_REQUIRED = "not_required", "Sans modération"
    PENDING = "pending", "En attente de modération"
    APPROVED = "approved", "Approuvée"
    REJECTED = "rejected", "Rejetée"


class DataRequest(models.Model):
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    title = models.CharField("données demandées", max_length=250)
    description = models.TextField("description")
    purpose = models.TextField("usage prévu", blank=True)
    holder = models.ForeignKey(
        "accounts.Organisation", on_delete=models.SET_NULL, null=True, blank=True, related_name="data_requests",
        verbose_name="organisation qui détient les données",
    )
    territory_codes = models.JSONField("territoires (codes INSEE)", default=list, blank=True)
    # Private: never shown on public pages or in the API.
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    requester_email = models.EmailField("courriel du demandeur", blank=True)
    status = models.CharField("statut", max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    moderation = models.CharField("modération", max_length=16, choices=Moderation.choices, default=Moderation.NOT_REQUIRED, db_index=True)
    moderation_reason = models.CharField("motif de mise en modération", max_length=300, blank=True)
    assigned_to = models.ForeignKey(
        "accounts.Organisation", on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_data_requests",
        verbose_name="organisation productrice",
    )
    released_dataset = models.ForeignKey(
        "catalog.Dataset", on_delete=models.SET_NULL, null=True, blank=True, related_name="answered_requests",
        verbose_name="jeu de données publié",
    )
    refusal_ground = models.CharField("motif légal du refus", max_length=20, choices=LegalGround.choices, blank=True)
    submitted_at = models.DateTimeField("déposée le", default=timezone.now, db_index=True)
    legal_deadline = models.DateField("échéance légale")
    internal_deadline = models.DateField("échéance interne")
    answered_at = models.DateTimeField("répondue le", null=True, blank=True)
    supporters_count = models.PositiveIntegerField("soutiens", default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = "demande de données"
        verbose_name_plural = "demandes de données"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("datarequests:detail", args=[self.slug])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_public(self) -> bool:
        return self.moderation in (Moderation.NOT_REQUIRED, Moderation.APPROVED)

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.is_open and self.legal_deadline < today

    def is_internal_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.is_open and self.internal_deadline < today

    @property
    def delay_days(self) -> int | None:
        if not self.answered_at:
            return None
        return (self.answered_at - self.submitted_at).days


class Support(models.Model):
    """A "+1": one per person (account, or confirmed email for anonymous visitors)."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    email = models.EmailField("courriel", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], condition=models.Q(user__isnull=False), name="uniq_support_user"),
            models.UniqueConstraint(fields=["request", "email"], condition=~models.Q(email=""), name="uniq_support_email"),
        ]


class Comment(models.Model):
    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_name = models.CharField("signature", max_length=150, blank=True)
    body = models.TextField("commentaire")
    created_at = models.DateTimeField(default=timezone.now)
    # Abusive or spammy comments wait for a moderator (or the CDO) instead of being refused.
    moderation = models.CharField("modération", max_length=16, choices=Moderation.choices, default=Moderation.NOT_REQUIRED, db_index=True)
    moderation_reason = models.CharField("motif de mise en modération", max_length=300, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def is_public(self) -> bool:
        return self.moderation in (Moderation.NOT_REQUIRED, Moderation.APPROVED)


class Transition(models.Model):
    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField("note", blank=True)
    legal_ground = models.CharField(max_length=20, choices=LegalGround.choices, blank=True)

    class Meta:
        ordering = ["at", "id"]


# --------------------------------------------------------------------------- obligations monitor


class AgentCount(models.Model):
    """Number of agents of a collectivité, entered by the CDO or imported from CSV (never guessed)."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="agent_count")
    agents = models.PositiveIntegerField("nombre d'agents")
    source = models.CharField("source", max_length=100, default="saisie")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)


class Subject(models.TextChoices):
    YES = "oui", "Soumise à l'obligation"
    NO = "non", "Non soumise"
    UNKNOWN = "a_verifier", "À vérifier"


class ObligationRun(models.Model):
    """One recomputation of the monitor, with its totals (the coverage's evolution over time)."""

    computed_at = models.DateTimeField(default=timezone.now, db_index=True)
    collectivites = models.PositiveIntegerField(default=0)
    subject = models.PositiveIntegerField(default=0)
    subject_publishing = models.PositiveIntegerField(default=0)
    to_check = models.PositiveIntegerField(default=0)
    publishing = models.PositiveIntegerField(default=0)
    datasets = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    # Rows per value of each single filter of the table ("kind:commune", "status:en_defaut",
    # "departement:80"…): the table page's count without a query.
    filter_counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-computed_at", "-id"]

    @property
    def coverage_pct(self) -> float | None:
        return round(100 * self.subject_publishing / self.subject, 1) if self.subject else None


class ObligationStatus(models.Model):
    """The latest snapshot row for one collectivité (replaced as a whole at each recomputation).

    Everything the table page shows is stored here (the organisation's slug included), so the
    page reads one narrow, indexed table: no join, no per-row computation. The ``*_sort`` columns
    are non-null sort keys (unknown values last in both directions would need NULLS LAST, which
    SQLite indexes cannot express): one composite index per sortable column serves both orders.
    """

    run = models.ForeignKey(ObligationRun, on_delete=models.CASCADE, related_name="rows")
    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="obligation")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)
    code = models.CharField("code INSEE / SIREN", max_length=9, blank=True, db_index=True)
    departement = models.CharField(max_length=3, blank=True, db_index=True)
    population = models.PositiveIntegerField(null=True, blank=True)
    agents = models.PositiveIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=12, choices=Subject.choices, db_index=True)
    subject_reason = models.CharField(max_length=200, blank=True)
    publishes = models.BooleanField(default=False, db_index=True)
    datasets_count = models.PositiveIntegerField(default=0, db_index=True)
    local_count = models.PositiveIntegerField(default=0)
    harvested_count = models.PositiveIntegerField(default=0)
    last_modified_at = models.DateTimeField(null=True, blank=True)
    freshness_days = models.PositiveIntegerField(null=True, blank=True)
    # Average quality score (0–100, regio.quality) of its scored datasets, and how many were scored.
    quality_avg = models.FloatField("score de qualité moyen", null=True, blank=True)
    quality_scored = models.PositiveIntegerField("jeux notés", default=0)
    scdl = models.JSONField(default=list, blank=True)
    next_to_publish = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, db_index=True)
    slug = models.CharField("identifiant de l'organisation", max_length=120, blank=True)
    name_folded = models.CharField(max_length=200, blank=True)  # lower case, no accents: the name filter
    population_sort = models.BigIntegerField(default=-1)
    freshness_sort = models.BigIntegerField(default=-1)
    quality_sort = models.FloatField(default=-1)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="dr_ob_name"),
            *(
                models.Index(fields=[f"{sign}{column}", "name", "id"], name=f"dr_ob_{short}_{'desc' if sign else 'asc'}")
                for column, short in (
                    ("population_sort", "pop"), ("datasets_count", "datasets"), ("freshness_sort", "fresh"),
                    ("quality_sort", "quality"), ("status", "status"),
                )
                for sign in ("", "-")
            ),
        ]
