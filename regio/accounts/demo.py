"""Demo people and organisations of the demo région (documented in the README; local use only)."""

from django.conf import settings
from django.utils import timezone

from .models import Membership, Organisation, User
from .services import register_organisation, sync_collectivites

DEMO_PASSWORD = "demo-regio-2026"
DEMO_USERS = [
    ("agd@demo.regio.localhost", "Claire Martin (AGD de la région)", {"is_cdo": True, "is_staff": True}),
    ("moderation@demo.regio.localhost", "Karim Benali (modération)", {"is_moderator": True}),
    ("agent.lille@demo.regio.localhost", "Sophie Durand (Ville de Lille)", {}),
    ("asso@demo.regio.localhost", "Marc Petit (Les Amis du Bocage)", {}),
]


def _user(email, name, flags):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, is_active=True, email_confirmed_at=timezone.now(), **flags)
    return user


def load_demo(out) -> None:
    sync_collectivites(settings.REGION_CODE)
    users = {email: _user(email, name, flags) for email, name, flags in DEMO_USERS}
    lille = Organisation.objects.filter(kind=Organisation.Kind.COMMUNE, commune_id="59350").first()
    if lille:
        Membership.objects.get_or_create(
            user=users["agent.lille@demo.regio.localhost"], organisation=lille,
            defaults={"role": Membership.Role.ADMIN, "status": Membership.Status.ACTIVE, "decided_at": timezone.now()},
        )
    region_org = Organisation.objects.filter(kind=Organisation.Kind.REGION, region_id=settings.REGION_CODE).first()
    if region_org:
        Membership.objects.get_or_create(
            user=users["agd@demo.regio.localhost"], organisation=region_org,
            defaults={"role": Membership.Role.ADMIN, "status": Membership.Status.ACTIVE, "decided_at": timezone.now()},
        )
    asso_user = users["asso@demo.regio.localhost"]
    for name, kind, commune in [
        ("Les Amis du Bocage de l'Avesnois", Organisation.Kind.ASSOCIATION, "59036"),
        ("Tiers-lieu La Filature numérique", Organisation.Kind.ASSOCIATION, "59512"),
        ("Coopérative Picarde des Données", Organisation.Kind.COMPANY, "80021"),
    ]:
        if not Organisation.objects.filter(name=name).exists():
            register_organisation(asso_user, name=name, kind=kind, commune_code=commune)
    amiens = Organisation.objects.filter(kind=Organisation.Kind.COMMUNE, commune_id="80021").first()
    if amiens:
        Membership.objects.get_or_create(user=asso_user, organisation=amiens, defaults={"message": "Je suis agent au service numérique."})
    out.write(f"  {Organisation.objects.count()} organisations, {len(users)} comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
