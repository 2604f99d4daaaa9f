"""Dataset quality score, 0–100, every criterion explained with the fix to make.

Pure function over plain dataclasses, so the catalogue (or anything else) can call it with the
metadata it owns: :func:`quality_score(DatasetMeta(...))`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

OPEN_LICENCES = {
    "lov2", "etalab-2.0", "licence-ouverte", "licence ouverte", "lo-2.0", "lo-1.0", "fr-lo",
    "odc-odbl", "odbl", "odc-by", "odc-pddl", "cc-by", "cc-by-4.0", "cc-by-sa", "cc-by-sa-4.0", "cc0", "cc0-1.0",
    "cc-zero", "notspecified-open",
}
OPEN_FORMATS = {"csv", "json", "geojson", "xml", "ods", "odt", "parquet", "txt", "gtfs", "zip", "shp", "gpkg", "kml", "rdf", "ttl", "jsonld", "ndjson", "tsv", "pdf-a"}
FREQUENCY_DAYS = {
    "continuous": 1, "hourly": 1, "daily": 1, "weekly": 7, "biweekly": 14, "monthly": 31, "bimonthly": 62,
    "quarterly": 92, "semiannual": 183, "annual": 366, "biennial": 731, "triennial": 1096, "quinquennial": 1827,
    "quotidienne": 1, "hebdomadaire": 7, "mensuelle": 31, "trimestrielle": 92, "semestrielle": 183, "annuelle": 366,
}
NO_FREQUENCY = {"", "unknown", "inconnue", "irregular", "irrégulière", "punctual", "ponctuelle"}


@dataclass
class ResourceMeta:
    url: str = ""
    format: str = ""
    available: bool | None = None  # None: not checked yet
    tabular: bool = False
    schema_declared: bool = False
    schema_valid: bool | None = None


@dataclass
class DatasetMeta:
    title: str = ""
    description: str = ""
    license: str = ""
    frequency: str = ""
    last_update: datetime | date | None = None
    resources: list[ResourceMeta] = field(default_factory=list)
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str | list | None = None


@dataclass
class Criterion:
    key: str
    label: str
    points: float
    max_points: int
    explanation: str
    fix: str = ""
    applicable: bool = True

    @property
    def ok(self) -> bool:
        return self.points >= self.max_points


@dataclass
class QualityScore:
    score: int
    criteria: list[Criterion]

    def as_json(self) -> dict:
        return {"score": self.score, "criteria": [{**asdict(c), "ok": c.ok} for c in self.criteria]}


def _description(meta: DatasetMeta) -> Criterion:
    length = len((meta.description or "").strip())
    points = 15 if length >= 200 else 7.5 if length >= 50 else 0
    fix = "" if points == 15 else (
        f"Complétez la description ({length} caractères aujourd'hui, 200 au moins) : contenu, producteur, méthode "
        "de collecte, fréquence de mise à jour et limites connues."
    )
    return Criterion("description", "Description", points, 15, f"La description fait {length} caractères.", fix)


def _licence(meta: DatasetMeta) -> Criterion:
    licence = (meta.license or "").strip().lower()
    if licence in OPEN_LICENCES:
        return Criterion("licence", "Licence ouverte", 15, 15, f"Licence « {meta.license} » : ouverte.")
    explanation = "Aucune licence n'est indiquée." if not licence else f"La licence « {meta.license} » n'est pas une licence ouverte reconnue."
    if licence == "non-precisee":  # a harvested dataset whose source states no licence
        explanation = "Licence non précisée par le portail d'origine : rien ne garantit que la réutilisation soit libre."
    return Criterion("licence", "Licence ouverte", 0, 15, explanation, "Publiez sous Licence Ouverte 2.0 (Etalab) ou ODbL, les deux licences du décret n° 2017-638.")


def _frequency(meta: DatasetMeta, now: datetime) -> Criterion:
    frequency = (meta.frequency or "").strip().lower()
    label = "Fréquence de mise à jour respectée"
    if frequency in NO_FREQUENCY or frequency not in FREQUENCY_DAYS:
        return Criterion("frequency", label, 0, 15, "Aucune fréquence de mise à jour régulière n'est déclarée.",
                         "Indiquez la fréquence de mise à jour (quotidienne, mensuelle, annuelle…) et respectez-la.")
    if meta.last_update is None:
        return Criterion("frequency", label, 0, 15, "La date de dernière mise à jour est inconnue.", "Renseignez la date de dernière mise à jour.")
    last = meta.last_update if isinstance(meta.last_update, datetime) else datetime.combine(meta.last_update, datetime.min.time())
    if timezone.is_naive(last):
        last = timezone.make_aware(last)
    allowed = timedelta(days=FREQUENCY_DAYS[frequency] * 1.5)
    late = now - last
    if late <= allowed:
        return Criterion("frequency", label, 15, 15, f"Fréquence « {meta.frequency} » respectée (dernière mise à jour il y a {late.days} jours).")
    return Criterion("frequency", label, 0, 15,
                     f"Fréquence « {meta.frequency} » déclarée mais dernière mise à jour il y a {late.days} jours.",
                     "Publiez la version à jour des données, ou corrigez la fréquence déclarée.")


def _reachable(meta: DatasetMeta) -> Criterion:
    label = "Ressources accessibles"
    if not meta.resources:
        return Criterion("reachable", label, 0, 15, "Le jeu de données n'a aucune ressource.", "Ajoutez au moins un fichier ou un lien vers les données.")
    checked = [r for r in meta.resources if r.available is not None]
    if not checked:
        return Criterion("reachable", label, 0, 15, "Les liens n'ont pas encore été vérifiés.", "Attendez la prochaine vérification automatique des liens.")
    broken = [r for r in meta.resources if r.available is False]
    points = round(15 * sum(1 for r in meta.resources if r.available) / len(meta.resources), 1)
    if not broken and len(checked) == len(meta.resources):
        return Criterion("reachable", label, 15, 15, f"Les {len(meta.resources)} ressources répondent.")
    return Criterion("reachable", label, points, 15, f"{len(broken)} ressource(s) sur {len(meta.resources)} ne répondent pas.",
                     "Corrigez ou remplacez les liens cassés : " + ", ".join(r.url for r in broken[:5]))


def _formats(meta: DatasetMeta) -> Criterion:
    label = "Formats ouverts"
    if not meta.resources:
        return Criterion("formats", label, 0, 15, "Aucune ressource.", "Publiez les données dans un format ouvert (CSV, JSON, GeoJSON…).")
    closed = [r for r in meta.resources if (r.format or "").lower().lstrip(".") not in OPEN_FORMATS]
    points = round(15 * (len(meta.resources) - len(closed)) / len(meta.resources), 1)
    if not closed:
        return Criterion("formats", label, 15, 15, "Toutes les ressources sont dans un format ouvert.")
    names = ", ".join(sorted({(r.format or "inconnu").upper() for r in closed}))
    return Criterion("formats", label, points, 15, f"{len(closed)} ressource(s) dans un format fermé ou inconnu ({names}).",
                     "Publiez aussi ces données en CSV (tableaux) ou GeoJSON (données géographiques).")


def _schema(meta: DatasetMeta) -> Criterion:
    label = "Conformité à un schéma"
    tabular = [r for r in meta.resources if r.tabular]
    if not tabular:
        return Criterion("schema", label, 0, 15, "Aucune ressource tabulaire : critère non applicable.", applicable=False)
    declared = [r for r in tabular if r.schema_declared]
    valid = [r for r in declared if r.schema_valid]
    points = round(15 * (len(declared) + len(valid)) / (2 * len(tabular)), 1)
    if len(valid) == len(tabular):
        return Criterion("schema", label, 15, 15, "Chaque ressource tabulaire déclare un schéma et le respecte.")
    if not declared:
        return Criterion("schema", label, 0, 15, "Aucune ressource tabulaire ne déclare de schéma.",
                         "Déclarez le schéma correspondant (par exemple un schéma SCDL) : la plateforme propose le plus proche d'après les en-têtes.")
    return Criterion("schema", label, points, 15, f"{len(valid)} ressource(s) conforme(s) sur {len(tabular)} ressource(s) tabulaire(s).",
                     "Corrigez les erreurs listées dans le rapport de validation de chaque ressource.")


def _temporal(meta: DatasetMeta) -> Criterion:
    if meta.temporal_start or meta.temporal_end:
        return Criterion("temporal", "Couverture temporelle", 5, 5, "La période couverte est renseignée.")
    return Criterion("temporal", "Couverture temporelle", 0, 5, "La période couverte n'est pas renseignée.", "Indiquez les dates de début et de fin des données.")


def _spatial(meta: DatasetMeta) -> Criterion:
    if meta.spatial:
        return Criterion("spatial", "Couverture géographique", 5, 5, "Le territoire couvert est renseigné.")
    return Criterion("spatial", "Couverture géographique", 0, 5, "Le territoire couvert n'est pas renseigné.", "Indiquez le territoire couvert (commune, EPCI, département, région).")


def quality_score(meta: DatasetMeta, *, now: datetime | None = None) -> QualityScore:
    now = now or timezone.now()
    criteria = [_description(meta), _licence(meta), _frequency(meta, now), _reachable(meta), _formats(meta), _schema(meta), _temporal(meta), _spatial(meta)]
    applicable = [c for c in criteria if c.applicable]
    total = sum(c.max_points for c in applicable)
    score = round(100 * sum(c.points for c in applicable) / total) if total else 0
    return QualityScore(score=score, criteria=criteria)
