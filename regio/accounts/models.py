"""People, organisations (collectivités, associations, companies, public bodies) and memberships."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from regio.core.models import TimeStampedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, is_active=True)
        extra.setdefault("email_confirmed_at", timezone.now())
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("adresse électronique", unique=True)
    full_name = models.CharField("nom", max_length=150, blank=True)
    # Inactive until the email address is confirmed.
    is_active = models.BooleanField("actif", default=False)
    is_staff = models.BooleanField("accès à l'administration", default=False)
    is_cdo = models.BooleanField("administrateur général des données (AGD)", default=False)
    is_moderator = models.BooleanField("modérateur", default=False)
    email_confirmed_at = models.DateTimeField("adresse confirmée le", null=True, blank=True)
    date_joined = models.DateTimeField("inscrit le", default=timezone.now)

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "utilisateur"

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_platform_staff(self) -> bool:
        return self.is_active and (self.is_superuser or self.is_cdo or self.is_moderator)


class Organisation(TimeStampedModel):
    class Kind(models.TextChoices):
        REGION = "region", "Région"
        DEPARTEMENT = "departement", "Département"
        EPCI = "epci", "Intercommunalité (EPCI)"
        COMMUNE = "commune", "Commune"
        ASSOCIATION = "association", "Association"
        COMPANY = "company", "Entreprise"
        PUBLIC_BODY = "public_body", "Organisme public"

    COLLECTIVITE_KINDS = (Kind.REGION, Kind.DEPARTEMENT, Kind.EPCI, Kind.COMMUNE)
    SELF_REGISTERED_KINDS = (Kind.ASSOCIATION, Kind.COMPANY, Kind.PUBLIC_BODY)

    name = models.CharField("nom", max_length=200)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    kind = models.CharField("type", max_length=16, choices=Kind.choices, db_index=True)
    siren = models.CharField("SIREN", max_length=9, blank=True, db_index=True)
    description = models.TextField("présentation", blank=True)
    website = models.URLField("site web", blank=True)
    # The territory the organisation is (a collectivité) or is based in (others), as INSEE codes.
    region = models.ForeignKey("territory.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    departement = models.ForeignKey("territory.Departement", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    epci = models.ForeignKey("territory.EPCI", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    commune = models.ForeignKey("territory.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["name"]
        verbose_name = "organisation"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "commune"], condition=models.Q(kind="commune"), name="uniq_commune_organisation"
            ),
            models.UniqueConstraint(fields=["kind", "epci"], condition=models.Q(kind="epci"), name="uniq_epci_organisation"),
            models.UniqueConstraint(
                fields=["kind", "departement"], condition=models.Q(kind="departement"), name="uniq_departement_organisation"
            ),
            models.UniqueConstraint(fields=["kind", "region"], condition=models.Q(kind="region"), name="uniq_region_organisation"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_collectivite(self) -> bool:
        return self.kind in self.COLLECTIVITE_KINDS

    @property
    def territory_level(self) -> str:
        return self.kind if self.is_collectivite else "commune"

    @property
    def territory_code(self) -> str | None:
        """INSEE code (SIREN for an EPCI) of the territory the organisation is or is based in."""
        return {
            self.Kind.REGION: self.region_id,
            self.Kind.DEPARTEMENT: self.departement_id,
            self.Kind.EPCI: self.epci_id,
        }.get(self.kind, self.commune_id)


class Membership(TimeStampedModel):
    class Role(models.TextChoices):
        ADMIN = "admin", "Administrateur"
        EDITOR = "editor", "Éditeur"
        MEMBER = "member", "Membre"

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        ACTIVE = "active", "Validée"
        REJECTED = "rejected", "Refusée"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("rôle", max_length=8, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField("statut", max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    message = models.TextField("message", blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="uniq_membership")]
        verbose_name = "adhésion"

    def __str__(self) -> str:
        return f"{self.user} — {self.organisation} ({self.get_role_display()}, {self.get_status_display()})"


class ApiToken(TimeStampedModel):
    """Personal API token; only its SHA-256 is stored, the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("nom", max_length=100)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        secret = "rg_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=secret[:8], digest=cls.hash(secret))
        return token, secret
