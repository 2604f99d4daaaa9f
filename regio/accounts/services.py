"""Account and organisation actions: one function per thing a person does."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from regio.core.tasks import send_email
from regio.territory.models import EPCI, Commune, Departement, Region

from . import permissions
from .models import Membership, Organisation, User

CONFIRM_SALT = "regio.accounts.confirm-email"
CONFIRM_MAX_AGE_S = 3 * 24 * 3600


class AccountError(Exception):
    """A French message explaining what to fix."""


# ---- people ------------------------------------------------------------------------------------

def sign_up(email: str, password: str, full_name: str = "") -> User:
    email = (email or "").strip().lower()
    if not email:
        raise AccountError("Indiquez votre adresse électronique.")
    if User.objects.filter(email=email).exists():
        raise AccountError("Un compte existe déjà avec cette adresse. Connectez-vous ou réinitialisez votre mot de passe.")
    candidate = User(email=email, full_name=full_name.strip())
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    try:
        user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
    except IntegrityError as exc:
        raise AccountError("Un compte existe déjà avec cette adresse.") from exc
    send_confirmation(user)
    return user


def confirmation_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=CONFIRM_SALT)


def send_confirmation(user: User) -> None:
    link = settings.SITE_URL.rstrip("/") + reverse("accounts:confirm", args=[confirmation_token(user)])
    send_email.enqueue(
        "Confirmez votre adresse électronique",
        "Bonjour,\n\nPour activer votre compte sur la plateforme numérique régionale, ouvrez ce lien "
        f"(valable 3 jours) :\n\n{link}\n\nSi vous n'avez pas demandé ce compte, ignorez ce message.",
        [user.email],
    )


def confirm_email(token: str) -> User:
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE_S)
    except signing.SignatureExpired as exc:
        raise AccountError("Ce lien de confirmation a expiré : inscrivez-vous à nouveau pour en recevoir un autre.") from exc
    except signing.BadSignature as exc:
        raise AccountError("Ce lien de confirmation n'est pas valide.") from exc
    user = User.objects.filter(pk=data["u"], email=data["e"]).first()
    if user is None:
        raise AccountError("Ce compte n'existe plus.")
    if not user.is_active:
        user.is_active = True
        user.email_confirmed_at = timezone.now()
        user.save(update_fields=["is_active", "email_confirmed_at"])
    return user


def export_user(user: User) -> dict:
    return {
        "email": user.email,
        "nom": user.full_name,
        "inscrit_le": user.date_joined.isoformat(),
        "adresse_confirmee_le": user.email_confirmed_at.isoformat() if user.email_confirmed_at else None,
        "adhesions": [
            {"organisation": m.organisation.name, "role": m.role, "statut": m.status, "demandee_le": m.created_at.isoformat()}
            for m in user.memberships.select_related("organisation")
        ],
        "jetons_api": [{"nom": t.name, "prefixe": t.prefix, "cree_le": t.created_at.isoformat()} for t in user.api_tokens.all()],
    }


def erase_user(user: User) -> None:
    """Delete personal data; keep an anonymous row so that what the person published stays attributed."""
    user.memberships.all().delete()
    user.api_tokens.all().delete()
    user.email = f"supprime-{user.pk}@invalid.regio"
    user.full_name = ""
    user.is_active = False
    user.is_staff = user.is_superuser = user.is_cdo = user.is_moderator = False
    user.set_unusable_password()
    user.save()


def export_personal_data(user: User) -> dict:
    from regio.core.registry import platform

    return {item.name: item.export(user) for item in platform.personal_data}


def erase_personal_data(user: User) -> None:
    from regio.core.registry import platform

    with transaction.atomic():
        # accounts erases last: other apps may still need the user row to find their data.
        for item in sorted(platform.personal_data, key=lambda p: p.name == "compte"):
            item.erase(user)


# ---- organisations -----------------------------------------------------------------------------

def unique_slug(name: str, model=Organisation) -> str:
    base = slugify(name)[:100] or "organisation"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def _valid_siren(siren: str) -> bool:
    if len(siren) != 9 or not siren.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(siren)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def register_organisation(user: User, *, name: str, kind: str, siren: str = "", commune_code: str = "",
                          description: str = "", website: str = "") -> Organisation:
    """An association, company or public body registers; its creator becomes its admin."""
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied("Connectez-vous avec un compte confirmé pour inscrire une organisation.")
    name = (name or "").strip()
    if not name:
        raise AccountError("Indiquez le nom de l'organisation.")
    if kind not in Organisation.SELF_REGISTERED_KINDS:
        raise AccountError(
            "Seules les associations, entreprises et organismes publics s'inscrivent ici : "
            "les collectivités existent déjà, demandez à rejoindre la vôtre."
        )
    siren = siren.replace(" ", "")
    if siren and not _valid_siren(siren):
        raise AccountError("Le SIREN doit comporter 9 chiffres et être valide (clé de contrôle).")
    commune = None
    if commune_code:
        commune = Commune.objects.filter(code=commune_code.strip(), is_active=True).first()
        if commune is None:
            raise AccountError(f"La commune « {commune_code} » est inconnue : indiquez son code INSEE.")
    with transaction.atomic():
        organisation = Organisation.objects.create(
            name=name,
            slug=unique_slug(name),
            kind=kind,
            siren=siren,
            description=description.strip(),
            website=website.strip(),
            commune=commune,
            epci_id=commune.epci_id if commune else None,
            departement_id=commune.departement_id if commune else None,
            region_id=commune.region_id if commune else None,
            created_by=user,
        )
        Membership.objects.create(
            user=user, organisation=organisation, role=Membership.Role.ADMIN, status=Membership.Status.ACTIVE,
            decided_by=user, decided_at=timezone.now(),
        )
    return organisation


def request_membership(user: User, organisation: Organisation, *, role: str = Membership.Role.MEMBER, message: str = "") -> Membership:
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied("Connectez-vous avec un compte confirmé pour rejoindre une organisation.")
    if role not in Membership.Role.values:
        raise AccountError("Rôle inconnu : choisissez administrateur, éditeur ou membre.")
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=organisation, defaults={"role": role, "message": message.strip()}
    )
    if not created:
        if membership.status == Membership.Status.ACTIVE:
            raise AccountError(f"Vous êtes déjà membre de {organisation.name}.")
        if membership.status == Membership.Status.PENDING:
            raise AccountError(f"Votre demande pour rejoindre {organisation.name} est déjà en attente.")
        membership.status = Membership.Status.PENDING
        membership.role = role
        membership.message = message.strip()
        membership.save(update_fields=["status", "role", "message", "updated_at"])
    return membership


def decide_membership(actor: User, membership: Membership, *, approve: bool, role: str | None = None) -> Membership:
    if not permissions.can_manage_members(actor, membership.organisation):
        raise PermissionDenied("Seuls les administrateurs de l'organisation (ou la région pour une collectivité non encore gérée) peuvent valider les demandes.")
    if role is not None:
        if role not in Membership.Role.values:
            raise AccountError("Rôle inconnu.")
        membership.role = role
    membership.status = Membership.Status.ACTIVE if approve else Membership.Status.REJECTED
    membership.decided_by = actor
    membership.decided_at = timezone.now()
    membership.save()
    if approve:
        send_email.enqueue(
            f"Vous avez rejoint {membership.organisation.name}",
            f"Votre demande pour rejoindre {membership.organisation.name} a été acceptée "
            f"(rôle : {membership.get_role_display()}).",
            [membership.user.email],
        )
    return membership


def pending_requests_for(user: User):
    """Membership requests that ``user`` may decide."""
    pending = Membership.objects.filter(status=Membership.Status.PENDING).select_related("user", "organisation")
    if user.is_superuser:
        return pending
    admin_of = Membership.objects.filter(user=user, role=Membership.Role.ADMIN, status=Membership.Status.ACTIVE).values("organisation")
    mine = pending.filter(organisation__in=admin_of)
    if not user.is_platform_staff:
        return mine
    claimed = Membership.objects.filter(role=Membership.Role.ADMIN, status=Membership.Status.ACTIVE).values("organisation")
    return (mine | pending.exclude(organisation__in=claimed)).distinct()


def sync_collectivites(region_code: str | None = None) -> dict:
    """Create (or rename) the organisation of every collectivité of the région. Idempotent."""
    region_code = region_code or settings.REGION_CODE
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        return {"created": 0, "updated": 0}
    counts = {"created": 0, "updated": 0}

    def upsert(kind, lookup: dict, name: str, territory: dict, siren: str = ""):
        org = Organisation.objects.filter(kind=kind, **lookup).first()
        if org is None:
            Organisation.objects.create(kind=kind, name=name, slug=unique_slug(name), siren=siren, **territory)
            counts["created"] += 1
        elif org.name != name or any(getattr(org, f"{k}_id") != (v.pk if v else None) for k, v in territory.items()):
            org.name = name
            for key, value in territory.items():
                setattr(org, key, value)
            org.save()
            counts["updated"] += 1

    with transaction.atomic():
        upsert(Organisation.Kind.REGION, {"region": region}, f"Région {region.name}", {"region": region})
        for dept in Departement.objects.filter(region=region):
            upsert(
                Organisation.Kind.DEPARTEMENT, {"departement": dept}, f"Département {dept.name}",
                {"departement": dept, "region": region},
            )
        for epci in EPCI.objects.filter(region=region, is_active=True).select_related("departement"):
            upsert(
                Organisation.Kind.EPCI, {"epci": epci}, epci.name,
                {"epci": epci, "departement": epci.departement, "region": region}, siren=epci.siren,
            )
        existing = dict(
            Organisation.objects.filter(kind=Organisation.Kind.COMMUNE, commune__region=region).values_list("commune_id", "name")
        )
        used_slugs = set(Organisation.objects.values_list("slug", flat=True))
        new = []
        for commune in Commune.objects.filter(region=region, is_active=True).order_by("code"):
            name = f"Commune de {commune.name}"
            if commune.code not in existing:
                slug = slugify(f"{commune.name}-{commune.code}")
                if slug in used_slugs:
                    slug = unique_slug(f"{commune.name}-{commune.code}")
                used_slugs.add(slug)
                new.append(
                    Organisation(
                        kind=Organisation.Kind.COMMUNE, name=name, slug=slug, commune=commune, epci_id=commune.epci_id,
                        departement_id=commune.departement_id, region=region,
                    )
                )
            elif existing[commune.code] != name:
                Organisation.objects.filter(kind=Organisation.Kind.COMMUNE, commune=commune).update(
                    name=name, epci_id=commune.epci_id, departement_id=commune.departement_id
                )
                counts["updated"] += 1
        Organisation.objects.bulk_create(new, batch_size=500)
        counts["created"] += len(new)
    return counts
