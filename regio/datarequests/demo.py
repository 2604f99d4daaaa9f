"""Demo: data requests in every workflow state on real collectivités of the demo région, and the obligations monitor."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from regio.accounts.models import Organisation, User

from . import obligations, services
from .models import DataRequest, LegalGround, Status
from .workflow import deadlines

# (title, description, purpose, holder (kind, code), path of states, days ago)
DEMO_REQUESTS = [
    ("Horaires d'ouverture des bibliothèques municipales", "Horaires d'ouverture, adresses et services (prêt, numérique) de chaque bibliothèque municipale, mis à jour à chaque changement d'horaires.",
     "Application mobile de l'association des usagers.", ("commune", "59350"), [], 3),
    ("Comptages vélos sur les pistes cyclables", "Données horaires des compteurs de vélos installés sur les pistes cyclables de la ville depuis 2020, avec la position des compteurs.",
     "Étude d'un collectif cycliste sur la fréquentation.", ("commune", "80021"), [Status.QUALIFIED], 10),
    ("Consommation d'énergie des bâtiments communaux", "Consommations annuelles d'électricité et de gaz de chaque bâtiment communal (écoles, gymnases, mairie annexe) depuis 2018.",
     "Article de presse locale sur la sobriété énergétique.", ("commune", "59512"), [Status.QUALIFIED, Status.ASSIGNED], 50),
    ("Liste des arbres d'alignement", "Inventaire des arbres d'alignement : essence, âge estimé, position GPS, état sanitaire.",
     "Cartographie participative des îlots de fraîcheur.", ("commune", "59183"), [Status.QUALIFIED, Status.ASSIGNED, Status.IN_PROGRESS], 20),
    ("Subventions versées aux associations", "Liste des subventions attribuées aux associations : bénéficiaire, montant, objet, date de la délibération.",
     "Transparence de la vie associative locale.", ("commune", "62193"), [Status.QUALIFIED, Status.ASSIGNED, Status.IN_PROGRESS, Status.RELEASED], 40),
    ("Liste nominative des bénéficiaires du RSA", "Nom, adresse et montant versé à chaque bénéficiaire du revenu de solidarité active dans le département.",
     "Étude sociologique.", ("departement", "59"), [Status.QUALIFIED, Status.REFUSED], 35),
    ("Fréquentation des piscines municipales", "Nombre d'entrées journalières par piscine municipale, par type de tarif, depuis 2019.",
     "Projet étudiant de visualisation de données.", ("commune", "60057"), [Status.WITHDRAWN], 15),
    ("Points d'eau potable et fontaines publiques", "Localisation des fontaines publiques et points d'eau potable accessibles gratuitement, avec leur période de fonctionnement.",
     "Carte pour les randonneurs et les personnes sans abri.", ("commune", "62041"), [], 45),
]


def _org(kind: str, code: str) -> Organisation | None:
    field = {"commune": "commune_id", "departement": "departement_id", "epci": "epci_id", "region": "region_id"}[kind]
    return Organisation.objects.filter(kind=kind, **{field: code}).first()


def load_demo(out) -> None:
    from regio.catalog.selectors import public_datasets

    cdo = User.objects.filter(is_cdo=True, is_active=True).order_by("id").first()
    if cdo is None:
        cdo, _ = User.objects.get_or_create(
            email="agd@demo.regio.localhost", defaults={"full_name": "AGD (démo)", "is_active": True, "is_cdo": True}
        )
    citizen, _ = User.objects.get_or_create(
        email="citoyen.donnees@demo.regio.localhost", defaults={"full_name": "Léa Citoyenne (démo)", "is_active": True}
    )
    created = 0
    for title, description, purpose, (kind, code), path, days_ago in DEMO_REQUESTS:
        holder = _org(kind, code)
        if holder is None or DataRequest.objects.filter(title=title).exists():
            continue
        r = services.submit_request(citizen, {"title": title, "description": description, "purpose": purpose}, confirm_new=True, holder=holder)
        # Demo history spread over the past weeks (some requests are overdue on purpose).
        submitted = timezone.now() - timedelta(days=days_ago)
        legal, internal = deadlines(timezone.localdate(submitted))
        DataRequest.objects.filter(pk=r.pk).update(submitted_at=submitted, legal_deadline=legal, internal_deadline=internal)
        r.transitions.update(at=submitted)
        for step in path:
            kwargs = {}
            if step == Status.REFUSED:
                kwargs = {"legal_ground": LegalGround.PERSONAL_DATA, "note": "Ces données nominatives relèvent de la vie privée (CRPA, art. L311-6) ; des statistiques agrégées par commune sont publiées."}
            if step == Status.RELEASED:
                dataset = public_datasets().filter(publisher=holder).first() or public_datasets().filter(conforms_to__contains="subventions").first()
                if dataset is None:
                    break
                kwargs = {"dataset": dataset, "note": "Le jeu de données est publié et mis à jour chaque année."}
            if step == Status.WITHDRAWN:
                services.transition(citizen, r, step, note="Données obtenues directement auprès de la piscine.")
                continue
            services.transition(cdo, r, step, **kwargs)
        created += 1
    r = DataRequest.objects.filter(title=DEMO_REQUESTS[0][0]).first()
    if r and not r.supports.exists():
        services.support(cdo, r)
    if not DataRequest.objects.filter(moderation="pending").exists():
        services.submit_request(None, {"title": "données", "description": "svp"}, email="anonyme@demo.regio.localhost", confirm_new=True)
    if r and not r.comments.exists():
        services.comment(cdo, r, "Nous avons pris contact avec la bibliothèque centrale : réponse attendue sous quinze jours.")
        # One spammy comment held in the moderation queue.
        services.comment(citizen, r, "Gagnez au casino en ligne : https://exemple.invalid/a https://exemple.invalid/b https://exemple.invalid/c")
    # A few agent counts so that the monitor shows subject collectivités (illustrative demo values, marked as such).
    for kind, code, agents in (("commune", "59350", 3000), ("commune", "80021", 1500), ("commune", "59512", 900), ("departement", "59", 8000), ("region", settings.REGION_CODE, 7000)):
        org = _org(kind, code)
        if org is not None:
            obligations.AgentCount.objects.get_or_create(organisation=org, defaults={"agents": agents, "source": "démo (valeur illustrative)"})
    run = obligations.compute()
    obligations.publish_open_dataset(run)
    out.write(
        f"demandes de données : {created} demande(s) créée(s) ; obligations : {run.collectivites} collectivités, "
        f"{run.subject} soumises, {run.subject_publishing} publient, {run.to_check} à vérifier.\n"
    )
