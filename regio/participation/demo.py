"""Demo content: a few debates registered by hand across the région, plus an iCalendar source and a
Decidim source imported through the ingest engine from local files (the demo starts no server).

No recorded Decidim answer or real iCalendar feed exists in ``../shared/standards/``: the two files
in ``demo_data/`` were written for Regio (Decidim's answer shape follows its GraphQL type
definitions; the agenda follows RFC 5545) and are labelled as such.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from regio.accounts.models import Organisation
from regio.core.ingest.engine import RunInProgress, run_source
from regio.core.ingest.models import Source

from . import services
from .models import Debate

DATA = Path(__file__).resolve().parent / "demo_data"


def _org(kind, **territory):
    return Organisation.objects.filter(kind=kind, **territory).first()


def _manual(out) -> int:
    today = timezone.localdate()
    d = lambda days: today + timedelta(days=days)  # noqa: E731
    rows = [
        (("region", {"region_id": settings.REGION_CODE}), {
            "title": "Concertation sur le schéma régional des mobilités", "kind": "concertation",
            "summary": "Comment se déplacer demain dans la région ? Trains, cars, vélo, covoiturage.",
            "themes": ["mobilite", "environnement"], "address": "151 avenue du Président Hoover, 59000 Lille",
            "opens_on": d(-20), "closes_on": d(40), "url": "https://participation.demo.regio.localhost/mobilites"}),
        (("departement", {"departement_id": "80"}), {
            "title": "Consultation sur les collèges de la Somme", "kind": "consultation",
            "summary": "Rénovation énergétique et restauration scolaire des collèges.", "themes": ["education"],
            "address": "53 rue de la République, 80000 Amiens", "opens_on": d(-5), "closes_on": d(25)}),
        (("commune", {"commune_id": "60057"}), {
            "title": "Réunion publique : réaménagement de la place Jeanne-Hachette", "kind": "reunion",
            "themes": ["amenagement"], "address": "Place Jeanne Hachette, 60000 Beauvais", "opens_on": d(10), "closes_on": d(10)}),
        (("commune", {"commune_id": "62041"}), {
            "title": "Panel citoyen sur l'alimentation locale", "kind": "panel", "themes": ["agriculture", "sante"],
            "commune_code": "62041", "opens_on": d(-90), "closes_on": d(-10),
            "results_url": "https://participation.demo.regio.localhost/arras/panel-resultats"}),
        (("commune", {"commune_id": "02408"}), {
            "title": "Pétition pour une maison de santé", "kind": "petition", "themes": ["sante"],
            "online": True, "commune_code": "02408", "opens_on": d(-3), "closes_on": d(60)}),
        (("commune", {"commune_id": "59183"}), {
            "title": "Budget participatif de Dunkerque", "kind": "budget", "themes": ["budget", "democratie"],
            "address": "Place Charles Valentin, 59140 Dunkerque", "opens_on": d(30), "closes_on": d(120)}),
        (("commune", {"commune_id": "59350"}), {
            "title": "Atelier sur le quartier de la gare (adresse à préciser)", "kind": "concertation",
            "themes": ["amenagement"], "address": "Salle polyvalente, quartier de la gare", "opens_on": d(5), "closes_on": d(50)}),
    ]
    created = 0
    for (kind, territory), data in rows:
        org = _org(kind, **territory)
        if org is None or Debate.objects.filter(title=data["title"]).exists():
            continue
        debate = Debate(organiser=org, moderation=Debate.Moderation.APPROVED)
        services._apply(debate, {**data, "organiser": org})
        debate.save()
        created += 1
    return created


def _source(name, kind, url, file_name, owner, filters) -> Source:
    source, _ = Source.objects.get_or_create(
        kind=kind, name=name,
        defaults={"url": url, "file_path": str(DATA / file_name), "owner": owner, "filters": filters, "schedule_minutes": 24 * 60},
    )
    if source.file_path != str(DATA / file_name):
        source.file_path = str(DATA / file_name)
        source.save(update_fields=["file_path"])
    return source


def load_demo(out) -> None:
    created = _manual(out)
    amiens_metro = _org("epci", epci__communes__code="80021")
    mel = _org("epci", epci__communes__code="59350")
    sources = [
        _source("Agenda du PLUi d'Amiens Métropole (démo)", "icalendar", "https://agenda.demo.regio.localhost/plui.ics",
                "agenda-amiens.ics", amiens_metro, {"debate": {"kind": "concertation", "themes": ["amenagement"], "commune": "80021"}}),
        _source("Decidim de démonstration", "decidim", "https://decidim.demo.regio.localhost/api", "decidim-demo.json", mel,
                {"base_url": "https://decidim.demo.regio.localhost"}),
    ]
    for source in sources:
        try:
            run = run_source(source)
            out.write(f"  {source.name} : {run.get_status_display()} ({run.created} créés, {run.unchanged} inchangés, {run.failed} en erreur)")
        except RunInProgress as exc:
            out.write(f"  {exc}")
    out.write(f"  {created} débat(s) déclaré(s) à la main, {Debate.objects.count()} débat(s) au total")
