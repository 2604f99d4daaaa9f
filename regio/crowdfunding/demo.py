"""Demo: a match-funding programme and projects in real communes of the région, in every state.

Every pledge goes through the real path: pledge → bank transfer reference → bank statement CSV
reconciled by an agent → ledger; campaigns are closed by the all-or-nothing service. Idempotent:
a project that exists is left as it is.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from regio.accounts.models import Organisation, User
from regio.territory.models import Commune

from . import services
from .models import Category, Pledge, Programme, Project
from .payments.bank import import_statement

DEMO_PASSWORD = "demo-regio-2026"
RURAL = [5, 6, 7]

PROJECTS = [
    # slug, title, category, commune, goal €, organisation name or None, pledges (€), final state
    (
        "fromagerie-paysanne-wormhout",
        "Fromagerie paysanne à Wormhout",
        Category.FARMING,
        "59663",
        6000,
        None,
        [50, 120, 80, 30, 200, 60],
        "open",
    ),
    (
        "cafe-associatif-le-quesnoy",
        "Un café associatif au Quesnoy",
        Category.SOLIDARITY,
        "59481",
        1800,
        "Les Amis du Bocage de l'Avesnois",
        [300, 250, 400, 150, 500, 100, 200],
        "funded",
    ),
    (
        "atelier-vannerie-anor",
        "Atelier de vannerie à Anor",
        Category.CRAFTS,
        "59012",
        8000,
        None,
        [40, 60, 100, 25],
        "failed",
    ),
    (
        "festival-contes-floyon",
        "Festival de contes en Thiérache à Floyon",
        Category.CULTURE,
        "59241",
        4000,
        None,
        [20, 35],
        "open",
    ),
    (
        "recyclerie-solidaire-amiens",
        "Recyclerie solidaire à Amiens",
        Category.ENTREPRENEURSHIP,
        "80021",
        5000,
        "Coopérative Picarde des Données",
        [100, 75],
        "open",
    ),
]

DESCRIPTION = """## Le projet

{title} : un projet porté par des habitants du territoire, présenté pour la démonstration de la
plateforme.

## À quoi servira l'argent

- l'achat du matériel ;
- les premiers mois de fonctionnement ;
- l'accueil des bénévoles.
"""


def _user(email: str, name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, is_active=True, email_confirmed_at=timezone.now())
    return user


def _programme() -> Programme:
    found = Programme.objects.filter(slug="un-euro-citoyen-un-euro-region-ruralite").first()
    if found:
        return found
    now = timezone.now()
    return services.create_programme(
        name="1 € citoyen, 1 € Région : projets des communes rurales",
        slug="un-euro-citoyen-un-euro-region-ruralite",
        description=(
            "Pour chaque euro donné par un citoyen à un projet d'une commune rurale (grille de densité de l'INSEE, "
            "classes 5 à 7), la Région ajoute un euro, dans la limite de 100 € par don, 200 € par contributeur et "
            "5 000 € par projet, dès que le projet réunit au moins 3 contributeurs. Les aides publiques cumulées "
            "ne dépassent pas 80 % du coût du projet."
        ),
        ratio_numerator=1,
        ratio_denominator=1,
        cap_per_pledge_cents=10_000,
        cap_per_backer_cents=20_000,
        cap_per_project_cents=500_000,
        envelope_cents=5_000_000,
        density_classes=RURAL,
        organisation_kinds=["particulier", Organisation.Kind.ASSOCIATION, Organisation.Kind.COMPANY],
        starts_at=now - timedelta(days=60),
        ends_at=now + timedelta(days=365),
        min_backers=3,
        public_aid_ceiling_pct=80,
    )


def load_demo(out) -> None:
    if not Commune.objects.filter(region_id=settings.REGION_CODE).exists():
        out.write("  référentiel territorial absent : démo du financement participatif ignorée")
        return
    programme = _programme()
    agent = User.objects.filter(email="agd@demo.regio.localhost").first() or _user("agd@demo.regio.localhost", "Agente de la Région")
    if not agent.is_cdo:
        agent.is_cdo = True
        agent.save(update_fields=["is_cdo"])
    owner = _user("asso@demo.regio.localhost", "Marc Petit (Les Amis du Bocage)")
    backers = [_user(f"donateur{i}@demo.regio.localhost", f"Donateur {i}") for i in range(1, 9)]
    created = 0
    for slug, title, category, commune_code, goal, org_name, amounts, final in PROJECTS:
        if Project.objects.filter(slug=slug).exists():
            continue
        commune = Commune.objects.get(code=commune_code)
        organisation = Organisation.objects.filter(name=org_name).first() if org_name else None
        if organisation is not None and not services.can_edit_for(owner, organisation):
            organisation = None
        project = services.create_project(
            owner,
            title=title,
            category=category,
            commune=commune,
            goal_cents=goal * 100,
            deadline=timezone.now() + timedelta(days=45),
            description=DESCRIPTION.format(title=title),
            summary=f"{title} : financez-le avec la Région.",
            organisation=organisation,
            programme=programme,
            budget_lines=[("Matériel", goal * 60), ("Travaux", goal * 50), ("Fonctionnement (6 mois)", goal * 40)],
            counterparts=[(2000, "Un grand merci sur notre site", ""), (5000, "Une invitation à l'inauguration", "")],
            other_public_funding_cents=goal * 20,
        )
        Project.objects.filter(pk=project.pk).update(slug=slug)
        project.refresh_from_db()
        services.submit_project(owner, project)
        services.moderate_project(agent, project, approve=True, note="Projet conforme au règlement.")
        pledges = []
        for i, amount in enumerate(amounts):
            pledge, _ = services.create_pledge(
                backers[i % len(backers)],
                project,
                amount * 100,
                idempotency_key=f"demo-{slug}-{i}",
                show_name=i % 2 == 0,
                message="Bravo pour ce projet !" if i == 0 else "",
            )
            pledges.append(pledge)
        statement = ["Date;Libellé;Montant"] + [
            f"{timezone.localdate():%d/%m/%Y};VIR SEPA DONATEUR {i} {p.payment_reference};{p.amount_cents // 100},{p.amount_cents % 100:02d}"
            for i, p in enumerate(pledges)
        ]
        import_statement(agent, f"releve-demo-{slug}.csv", "\n".join(statement).encode("cp1252"))
        if final in ("funded", "failed"):
            Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(days=1))
            project.refresh_from_db()
            services.close_campaign(project)
        created += 1
    held = Pledge.objects.filter(status=Pledge.Status.AUTHORISED).count()
    from .opendata import publish_funded_projects

    dataset = publish_funded_projects()
    if dataset is not None:
        out.write(f"  jeu de données ouvert « {dataset.title} » publié dans le catalogue")
    out.write(f"  {created} projet(s) créé(s), programme « {programme.name} », {held} don(s) en attente de fin de collecte")
