"""The open-data obligations monitor (Loi pour une République numérique, art. 6; CRPA L312-1-1).

Collectivités of 3,500 inhabitants or more with 50 agents or more must publish their public
information. For every collectivité organisation: subject or not (population from the territory
data, agents entered by the CDO or imported; unknown → « à vérifier », never guessed), whether it
publishes (local and harvested datasets), how many datasets, freshness, the average quality score
of its datasets (``regio.quality``, 0–100, stored per dataset), which priority datasets of the socle commun des données locales (SCDL) it publishes, and what it
should publish next. Stored as a snapshot (:class:`ObligationStatus`) recomputed in bulk.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from regio.accounts.models import Organisation
from regio.core.text import normalize_text

from .models import AgentCount, ObligationRun, ObligationStatus, Subject

POPULATION_THRESHOLD = 3500
AGENTS_THRESHOLD = 50
FRESH_DAYS = 365
# Filters of the table whose row counts are stored with each run (ObligationRun.filter_counts).
COUNTED_FILTERS = ("kind", "subject", "status", "departement")
# Sort key of a collectivité that never published: after every real freshness, i.e. the stalest.
NEVER_PUBLISHED = 1_000_000


@dataclass(frozen=True)
class Priority:
    key: str
    label: str
    schema_dir: str  # folder in ../shared/standards/schemas
    url_markers: tuple[str, ...]  # substrings of a conforms_to URL that mean this schema
    keywords: tuple[str, ...]  # folded words/phrases of a title that mean this dataset
    kinds: tuple[str, ...] = ("region", "departement", "epci", "commune")


# In the order a collectivité should publish them (the socle commun's priority datasets).
PRIORITIES = (
    Priority("budget", "Budget", "scdl-budget", ("scdl/budget",), ("budget primitif", "compte administratif", "budget")),
    Priority("deliberations", "Délibérations", "scdl-deliberations", ("scdl/deliberations",), ("deliberation", "deliberations")),
    Priority("subventions", "Subventions", "scdl-subventions", ("scdl/subventions",), ("subvention", "subventions")),
    Priority(
        "marches_publics", "Marchés publics (données essentielles)", "scdl-marches-publics-legacy",
        ("scdl/marches-publics", "marche_public_scdl", "decp", "donnees-essentielles-commande-publique"),
        ("marches publics", "marche public", "commande publique", "decp"),
    ),
    Priority("equipements", "Équipements publics", "scdl-equipements", ("scdl/equipements",), ("equipements publics", "equipement")),
    Priority("catalogue", "Catalogue des données", "scdl-catalogue", ("scdl/catalogue",), ("catalogue des donnees", "catalogue")),
)
PRIORITY_LABELS = {p.key: p.label for p in PRIORITIES}


@lru_cache(maxsize=1)
def schema_urls() -> dict[str, tuple[str, ...]]:
    """Schema URLs per priority, read from the real SCDL schemas (``path``, ``homepage``, ``uri``)."""
    base = Path(settings.SHARED_DIR) / "standards" / "schemas"
    urls: dict[str, tuple[str, ...]] = {}
    for p in PRIORITIES:
        found = []
        for path in sorted((base / p.schema_dir).glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                found += [data[k].lower().rstrip("/") for k in ("path", "homepage", "uri") if isinstance(data.get(k), str) and data[k]]
        urls[p.key] = tuple(found)
    return urls


def match_schema(url: str) -> str | None:
    url = (url or "").lower().rstrip("/")
    if not url:
        return None
    for p in PRIORITIES:
        if any(url == u or url.startswith(u + "/") for u in schema_urls()[p.key]) or any(m in url for m in p.url_markers):
            return p.key
    return None


def match_title(title: str) -> str | None:
    text = " " + normalize_text(title) + " "
    for p in PRIORITIES:
        if any(f" {k} " in text for k in p.keywords):
            return p.key
    return None


def subject_to_obligation(population: int | None, agents: int | None) -> tuple[str, str]:
    if population is None:
        return Subject.UNKNOWN, "population inconnue dans le référentiel territorial"
    if population < POPULATION_THRESHOLD:
        return Subject.NO, f"moins de {POPULATION_THRESHOLD:,} habitants".replace(",", "\u202f")
    if agents is None:
        return Subject.UNKNOWN, "nombre d'agents non renseigné"
    if agents < AGENTS_THRESHOLD:
        return Subject.NO, f"moins de {AGENTS_THRESHOLD} agents"
    return Subject.YES, f"{POPULATION_THRESHOLD:,} habitants et {AGENTS_THRESHOLD} agents ou plus".replace(",", "\u202f")


def row_status(subject: str, publishes: bool) -> str:
    if subject == Subject.YES:
        return "conforme" if publishes else "en_defaut"
    if subject == Subject.NO:
        return "volontaire" if publishes else "non_soumise"
    return "a_verifier_publie" if publishes else "a_verifier"


STATUS_LABELS = {
    "conforme": "Soumise, publie des données",
    "en_defaut": "Soumise, ne publie pas",
    "volontaire": "Non soumise, publie volontairement",
    "non_soumise": "Non soumise, ne publie pas",
    "a_verifier_publie": "À vérifier (publie des données)",
    "a_verifier": "À vérifier (ne publie pas)",
}


def _populations() -> dict[tuple[str, str], int | None]:
    from regio.territory.models import EPCI, Commune, Departement, Region

    pops: dict[tuple[str, str], int | None] = {}
    for kind, model, key in (("commune", Commune, "code"), ("epci", EPCI, "siren"), ("departement", Departement, "code"), ("region", Region, "code")):
        for code, pop in model.objects.values_list(key, "population").iterator(chunk_size=5000):
            pops[(kind, code)] = pop
    return pops


def compute(now=None) -> ObligationRun:
    """Recompute the whole snapshot (a handful of queries, whatever the number of collectivités)."""
    from regio.catalog.selectors import public_datasets

    started = time.perf_counter()
    now = now or timezone.now()
    orgs = list(
        Organisation.objects.filter(kind__in=Organisation.COLLECTIVITE_KINDS).values_list(
            "id", "name", "kind", "region_id", "departement_id", "epci_id", "commune_id", "commune__departement_id", "slug"
        )
    )
    pops = _populations()
    agents = dict(AgentCount.objects.values_list("organisation_id", "agents"))
    datasets = public_datasets().filter(publisher__kind__in=Organisation.COLLECTIVITE_KINDS)
    stats: dict[int, dict] = {}
    # The quality score of regio.quality (quality.DatasetQuality.score, reached through the
    # catalogue's ``Dataset.quality`` relation, as the catalogue's own filters and sorts do):
    # summed and counted per publisher in SQL, datasets not scored yet left out of the average.
    for publisher_id, origin, count, last, score_sum, scored in (
        datasets.order_by().values_list("publisher_id", "origin").annotate(
            n=Count("id"), last=Max("metadata_modified_at"), score_sum=Sum("quality__score"), scored=Count("quality__score"),
        )
    ):
        s = stats.setdefault(publisher_id, {"local": 0, "harvested": 0, "last": None, "score_sum": 0, "scored": 0})
        s["harvested" if origin == "harvested" else "local"] += count
        s["score_sum"] += score_sum or 0
        s["scored"] += scored or 0
        if last and (s["last"] is None or last > s["last"]):
            s["last"] = last
    scdl: dict[int, set[str]] = {}
    for publisher_id, conforms_to, title in datasets.order_by().values_list("publisher_id", "conforms_to", "title").iterator(chunk_size=5000):
        key = match_schema(conforms_to) or match_title(title)
        if key:
            scdl.setdefault(publisher_id, set()).add(key)
    rows = []
    totals = {"subject": 0, "subject_publishing": 0, "to_check": 0, "publishing": 0, "datasets": 0}
    run = ObligationRun(computed_at=now)
    filter_counts: dict[str, int] = {}
    for org_id, name, kind, region, departement, epci, commune, commune_dep, slug in orgs:
        code = {"region": region, "departement": departement, "epci": epci}.get(kind, commune) or ""
        population = pops.get((kind, code)) if code else None
        n_agents = agents.get(org_id)
        subject, reason = subject_to_obligation(population, n_agents)
        s = stats.get(org_id)
        count = (s["local"] + s["harvested"]) if s else 0
        publishes = count > 0
        published = scdl.get(org_id, set())
        scdl_keys = [p.key for p in PRIORITIES if p.key in published]
        missing = [p.key for p in PRIORITIES if p.key not in published and kind in p.kinds]
        freshness = max((now - s["last"]).days, 0) if s and s["last"] else None
        quality = round(s["score_sum"] / s["scored"], 1) if s and s["scored"] else None
        rows.append({
            "organisation_id": org_id, "name": name, "kind": kind, "code": code,
            "departement": (departement if kind == "departement" else commune_dep or "") or "",
            "population": population, "agents": n_agents, "subject": subject, "subject_reason": reason, "publishes": publishes,
            "datasets_count": count, "local_count": s["local"] if s else 0, "harvested_count": s["harvested"] if s else 0,
            "last_modified_at": s["last"] if s else None,
            "freshness_days": freshness, "quality_avg": quality, "quality_scored": s["scored"] if s else 0,
            "scdl": scdl_keys, "next_to_publish": missing[:3], "status": row_status(subject, publishes),
            # Precomputed for the table page: link without a join, name filter, non-null sort keys.
            "slug": slug, "name_folded": normalize_text(name)[:200],
            "population_sort": population if population is not None else -1,
            "freshness_sort": freshness if freshness is not None else NEVER_PUBLISHED,
            "quality_sort": quality if quality is not None else -1,
        })
        totals["subject"] += subject == Subject.YES
        totals["subject_publishing"] += subject == Subject.YES and publishes
        totals["to_check"] += subject == Subject.UNKNOWN
        totals["publishing"] += publishes
        totals["datasets"] += count
        row = rows[-1]
        for field in COUNTED_FILTERS:
            filter_counts[f"{field}:{row[field]}"] = filter_counts.get(f"{field}:{row[field]}", 0) + 1
    with transaction.atomic():
        for key, value in totals.items():
            setattr(run, key, value)
        run.collectivites = len(rows)
        run.filter_counts = filter_counts
        run.save()
        ObligationStatus.objects.all().delete()
        _insert_rows(run, rows)
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.save(update_fields=["duration_ms"])
    _tidy_snapshot()
    return run


def _tidy_snapshot() -> None:
    """PostgreSQL: the replaced snapshot leaves ~36,000 dead rows and stale planner statistics
    until autovacuum passes; reclaim them at once (VACUUM cannot run inside a transaction: only
    ANALYZE then)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(ObligationStatus._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}" if connection.in_atomic_block else f"VACUUM (ANALYZE) {table}")


def _insert_rows(run: ObligationRun, rows: list[dict]) -> None:
    """Plain ``executemany`` of prepared tuples: ``bulk_create`` spends most of a 35,000-row
    recompute building model instances and SQL for each value."""
    from django.db import connection

    if not rows:
        return
    names = ["run_id", *rows[0].keys()]
    fields = {f.attname: f for f in ObligationStatus._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(fields[n].column) for n in names)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(ObligationStatus._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    adapt_dt = connection.ops.adapt_datetimefield_value
    values = []
    for row in rows:
        values.append((
            run.pk, *(
                json.dumps(v) if isinstance(v, list) else adapt_dt(v) if k == "last_modified_at" and v is not None else v
                for k, v in row.items()
            ),
        ))
    with connection.cursor() as cursor:
        for start in range(0, len(values), 2000):
            cursor.executemany(sql, values[start : start + 2000])


# --------------------------------------------------------------------------- agents


def set_agents(user, organisation: Organisation, agents: int | None, source: str = "saisie") -> None:
    from django.core.exceptions import PermissionDenied, ValidationError

    from .permissions import is_cdo

    if not is_cdo(user):
        raise PermissionDenied("Seul l'administrateur général des données peut renseigner le nombre d'agents.")
    if not organisation.is_collectivite:
        raise ValidationError("Le nombre d'agents ne se renseigne que pour une collectivité.")
    if agents is None:
        AgentCount.objects.filter(organisation=organisation).delete()
        return
    if agents < 0:
        raise ValidationError("Le nombre d'agents doit être positif.")
    AgentCount.objects.update_or_create(organisation=organisation, defaults={"agents": agents, "source": source, "updated_by": user})


def import_agents_csv(user, text: str, source: str = "import CSV") -> dict:
    """CSV with a ``code`` (INSEE code, SIREN of an EPCI, or organisation SIREN) and an ``agents`` column.

    Returns ``{"imported": n, "errors": ["ligne 3 : …"]}``; good lines are kept, bad ones reported.
    """
    from django.core.exceptions import PermissionDenied

    from .permissions import is_cdo

    if not is_cdo(user):
        raise PermissionDenied("Seul l'administrateur général des données peut importer le nombre d'agents.")
    sample = text[:2000]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
    code_col = next((fields[k] for k in ("code", "code_insee", "siren", "insee") if k in fields), None)
    agents_col = next((fields[k] for k in ("agents", "nombre_agents", "effectif", "effectifs") if k in fields), None)
    if not code_col or not agents_col:
        return {"imported": 0, "errors": ["Colonnes attendues : « code » (INSEE ou SIREN) et « agents »."]}
    by_code = {}
    for org in Organisation.objects.filter(kind__in=Organisation.COLLECTIVITE_KINDS):
        if org.territory_code:
            by_code.setdefault(org.territory_code, org)
        if org.siren:
            by_code.setdefault(org.siren, org)
    imported, errors = 0, []
    for line, row in enumerate(reader, start=2):
        code = (row.get(code_col) or "").strip()
        raw = (row.get(agents_col) or "").strip().replace("\u202f", "").replace(" ", "")
        org = by_code.get(code)
        if org is None:
            errors.append(f"ligne {line} : collectivité inconnue pour le code « {code} »")
            continue
        if not raw:
            errors.append(f"ligne {line} : nombre d'agents vide pour {org.name} (laissé « à vérifier »)")
            continue
        if not raw.isdigit():
            errors.append(f"ligne {line} : nombre d'agents invalide « {raw} » pour {org.name}")
            continue
        AgentCount.objects.update_or_create(organisation=org, defaults={"agents": int(raw), "source": source, "updated_by": user})
        imported += 1
    return {"imported": imported, "errors": errors}


# --------------------------------------------------------------------------- exports

CSV_COLUMNS = (
    ("nom", "name"), ("type", "kind"), ("code", "code"), ("departement", "departement"), ("population", "population"),
    ("agents", "agents"), ("soumise", "subject"), ("statut", "status"), ("publie", "publishes"),
    ("jeux_de_donnees", "datasets_count"), ("jeux_locaux", "local_count"), ("jeux_moissonnes", "harvested_count"),
    ("derniere_mise_a_jour", "last_modified_at"), ("fraicheur_jours", "freshness_days"),
    ("qualite_moyenne_sur_100", "quality_avg"), ("jeux_notes", "quality_scored"), ("socle_commun_publie", "scdl"), ("a_publier_ensuite", "next_to_publish"),
)


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return "|".join(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def write_csv(out, rows) -> None:
    writer = csv.writer(out)
    writer.writerow([c for c, _ in CSV_COLUMNS])
    for row in rows:
        writer.writerow([csv_value(row[f] if isinstance(row, dict) else getattr(row, f)) for _, f in CSV_COLUMNS])


def publish_open_dataset(run: ObligationRun):
    """The monitor as an open dataset of the catalogue, published by the région (refreshed at each run).

    Written through the catalogue's services, in the name of the platform's service account (an
    inactive user, editor of the région organisation: it cannot sign in).
    """
    from regio.catalog import services as catalog_services
    from regio.catalog.models import Dataset

    region = Organisation.objects.filter(kind="region", region_id=settings.REGION_CODE).first()
    if region is None:
        return None
    robot = catalog_services.service_account(region)
    slug = "obligations-ouverture-donnees-collectivites"
    description = (
        "Pour chaque collectivité du territoire : soumission à l'obligation d'ouverture des données (3 500 habitants "
        "et 50 agents ou plus, loi pour une République numérique), publication de données (jeux locaux et moissonnés), "
        "nombre de jeux, fraîcheur, score de qualité moyen des jeux (0 à 100) et jeux prioritaires du socle commun (SCDL) publiés.\n\n"
        f"Dernier calcul : {timezone.localtime(run.computed_at):%d/%m/%Y %H:%M} — {run.collectivites} collectivités, "
        f"{run.subject} soumises, dont {run.subject_publishing} publient ; {run.to_check} à vérifier."
    )
    dataset = Dataset.objects.filter(slug=slug).first()
    data = {
        "title": "Respect des obligations d'ouverture des données des collectivités", "description": description,
        "licence": "lov2", "themes": ["GOVE"], "keywords": ["open data", "obligations", "collectivités", "loi république numérique"],
        "frequency": "CONT",
    }
    if dataset is None:
        dataset = catalog_services.create_dataset(robot, region, {**data, "slug": slug}, publish=True)
        catalog_services.add_resource(
            robot, dataset, title="Tableau des obligations (CSV)", format="csv", media_type="text/csv",
            url=settings.SITE_URL.rstrip("/") + "/api/1/obligations?format=csv",
        )
    else:
        catalog_services.update_dataset(robot, dataset, {"description": description})
    return dataset
