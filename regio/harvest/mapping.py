"""Normalised harvest records → catalogue fields, with French mapping warnings.

Every backend turns a remote record into the same plain dict (``NormalisedRecord`` keys below);
:func:`map_record` maps its licence, themes, formats, frequency and spatial coverage onto the
catalogue's vocabularies and says in French what it could not map.

Record keys: ``title``, ``description``, ``identifier`` (URI or dct:identifier), ``landing_page``,
``publisher`` (name), ``publisher_siren``, ``licence`` (raw), ``themes`` (raw list), ``keywords``,
``frequency`` (raw), ``insee`` (codes found in the metadata), ``bbox`` ([west, south, east, north]),
``temporal_start`` / ``temporal_end`` (ISO dates), ``contact_name``, ``contact_email``,
``resources`` ([{title, url, format, description, schema}]; ``schema`` raw as the portal gives it, see
:func:`schema_url`), ``modified``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from regio.catalog.vocabularies import FREQUENCIES, LICENCES, THEMES, UNSPECIFIED_LICENCE

MAX_BBOX_COMMUNES = 150


def fold(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or "")).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9.]+", " ", text).strip()


def per_value(fn):
    """Memoise a pure mapping of one raw string: a portal's records repeat the same few licences,
    themes, frequencies and formats (other types are mapped each time)."""
    cached = functools.lru_cache(maxsize=4096)(fn)

    @functools.wraps(fn)
    def mapped(raw):
        return cached(raw) if isinstance(raw, str) else fn(raw)

    return mapped


# --------------------------------------------------------------------------- licences

@per_value
def map_licence(raw) -> str | None:
    """The many spellings of Licence Ouverte, ODbL, CC… → catalogue licence id (None if unknown)."""
    text = fold(raw)
    if not text:
        return None
    squashed = text.replace(" ", "").replace(".", "")
    if text in LICENCES:
        return text
    if "odbl" in squashed or "opendatabase" in squashed or "odc odbl" in text:
        return "odc-odbl"
    if "publicdomain" in squashed or "cc0" in squashed or "cczero" in squashed or "pddl" in squashed:
        return "cc-zero"
    if "creativecommons" in squashed or squashed.startswith("cc") or "by sa" in text or "licenses by" in text:
        if "sa" in text.split() or "bysa" in squashed or "by sa" in text:
            return "cc-by-sa"
        if "by" in text.split() or "ccby" in squashed or "licenses by" in text:
            return "cc-by"
    if "etalab" in squashed or "licenceouverte" in squashed or "openlicence" in squashed or "openlicense" in squashed \
            or squashed in {"lo", "lov2", "lo2", "frlo", "lov1", "lo1", "licenceouvertelo", "notspecifiedlo"}:
        if re.search(r"(v|version|lo|licence ouverte|open licen[cs]e|etalab)\s*1(\s|$|\.0)|frlo|lov1|lo1|2014 05", text + " " + squashed):
            return "fr-lo"
        return "lov2"
    return None


# What portals say when the publisher gave no licence (CKAN "notspecified", "License Not Specified"…).
UNSPECIFIED_SPELLINGS = {
    "notspecified", "licensenotspecified", "licencenotspecified", "nonspecifiee", "licencenonspecifiee", "nonspecifie",
    "nonprecisee", "licencenonprecisee", "nonrenseignee", "licencenonrenseignee", "unknown", "licenseunknown",
    "inconnue", "licenceinconnue", "none", "nolicense", "nolicence", "aucune", "aucunelicence", "undefined", "nonedefinie",
}


@per_value
def is_unspecified_licence(raw) -> bool:
    """No licence at all, or one of the spellings that say the publisher gave none."""
    text = fold(raw)
    return not text or text.replace(" ", "").replace(".", "") in UNSPECIFIED_SPELLINGS


# --------------------------------------------------------------------------- themes

THEME_WORDS = [
    ("AGRI", ["agricult", "peche", "sylvicult", "alimentation", "foret", "agri"]),
    ("ECON", ["econom", "financ", "budget", "fiscal", "emploi", "entreprise", "commerce", "tourism", "marches publics", "subvention", "econ"]),
    ("EDUC", ["educat", "culture", "sport", "enseignement", "scolaire", "patrimoine", "loisir", "jeunesse", "educ"]),
    ("ENER", ["energ", "electric", "ener"]),
    ("ENVI", ["environnement", "environment", "climat", "biodiversit", "dechet", "eau ", "eau", "nature", "pollution", "air", "envi", "proprete"]),
    ("GOVE", ["administration", "gouvern", "citoyen", "elections", "vie democratique", "collectivit", "secteur public", "gove", "services publics"]),
    ("HEAL", ["sante", "health", "heal", "medic"]),
    ("INTR", ["international", "europe", "intr"]),
    ("JUST", ["justice", "securite", "just", "police", "prevention"]),
    ("REGI", ["urbanisme", "amenagement", "territoire", "logement", "habitat", "planning", "town", "region", "ville", "equipement", "batiment", "cadastre", "foncier", "regi", "geographi", "limites administratives", "adresse"]),
    ("SOCI", ["population", "social", "societe", "solidarit", "demograph", "etat civil", "famille", "soci", "handicap"]),
    ("TECH", ["science", "technolog", "numerique", "recherche", "innovation", "tech"]),
    ("TRAN", ["transport", "mobilit", "deplacement", "stationnement", "parking", "velo", "route", "voirie", "tran", "trafic"]),
]


# One regex per theme: short words match whole words, longer ones word prefixes; the earliest match wins.
_THEME_PATTERNS = [
    (code, re.compile("|".join(
        rf"\b{re.escape(w.strip())}\b" if len(w) <= 4 else rf"\b{re.escape(w)}" for w in words
    )))
    for code, words in THEME_WORDS
]


@per_value
def map_theme(raw) -> str | None:
    value = str(raw or "").strip()
    if not value:
        return None
    tail = value.rstrip("/").rsplit("/", 1)[-1].upper()
    if tail in THEMES:
        return tail
    text = fold(value)
    best = None
    for code, pattern in _THEME_PATTERNS:
        found = pattern.search(text)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), code)
    return best[1] if best else None


# --------------------------------------------------------------------------- frequencies

FREQUENCY_WORDS = {
    "CONT": ["continuous", "continual", "continu", "temps reel", "realtime", "real time", "cont", "updatecont"],
    "DAILY": ["daily", "quotidien", "journalier", "jour"],
    "WEEKLY": ["weekly", "hebdomadaire", "semaine", "fortnightly", "biweekly", "bimensuel"],
    "MONTHLY": ["monthly", "mensuel", "mois"],
    "QUARTERLY": ["quarterly", "trimestriel", "trimestre"],
    "ANNUAL_2": ["semiannual", "biannual", "biannually", "semestriel", "semestre", "annual 2", "annual_2"],
    "ANNUAL": ["annual", "annually", "annuel", "annee", "yearly"],
    "BIENNIAL": ["biennial", "biennal", "deux ans"],
    "IRREG": ["irregular", "irreg", "irregulier", "ponctuel", "punctual", "asneeded", "as needed", "a la demande"],
    "NEVER": ["never", "notplanned", "not planned", "jamais", "aucune", "none"],
    "UNKNOWN": ["unknown", "inconnu", "other", "autre"],
}


@per_value
def map_frequency(raw) -> str | None:
    value = str(raw or "").strip()
    if not value:
        return None
    tail = value.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].upper()
    if tail in FREQUENCIES:
        return tail
    text = fold(value.replace("_", " ")).replace(".", "")
    squashed = text.replace(" ", "")
    for code, words in FREQUENCY_WORDS.items():
        for word in words:
            if word == text or word.replace(" ", "") == squashed:
                return code
    for code, words in FREQUENCY_WORDS.items():
        if any(len(word) > 4 and word in text for word in words):
            return code
    return None


# --------------------------------------------------------------------------- formats

FORMAT_ALIASES = {
    "text/csv": "csv", "application/csv": "csv", "application/json": "json", "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson", "application/zip": "zip", "application/pdf": "pdf",
    "application/xml": "xml", "text/xml": "xml", "text/html": "html", "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods", "application/vnd.google-earth.kml+xml": "kml",
    "shapefile": "shp", "shapefile zip": "shp", "esri shapefile": "shp", "shape": "shp", "shape zip": "shp",
    "zipped shapefile": "shp", "shp zip": "shp", "excel": "xls", "microsoft excel": "xls", "ogc wms": "wms",
    "ogc wfs": "wfs", "ogc:wms": "wms", "ogc:wfs": "wfs", "wms": "wms", "wfs": "wfs", "web page": "html",
    "page web": "html", "api": "api", "geo json": "geojson", "json ld": "jsonld", "rdf xml": "rdf",
}


def map_format(raw, url: str = "") -> str:
    value = str(raw or "").strip()
    if value:
        return _format_of(value)
    path = url.split("?", 1)[0].rsplit("/", 1)[-1]
    if "." in path:
        return path.rsplit(".", 1)[-1].lower()[:20]
    return ""


@per_value
def _format_of(value: str) -> str:
    tail = value.rstrip("/").rsplit("/", 1)[-1]
    lowered = value.lower()
    if lowered in FORMAT_ALIASES:
        return FORMAT_ALIASES[lowered]
    folded = fold(value.replace("(", " ").replace(")", " ")).replace(".", " ").strip()
    if folded in FORMAT_ALIASES:
        return FORMAT_ALIASES[folded]
    if "/" in value and value.startswith("http"):  # EU file-type URI
        return tail.lower().replace("_", "")[:20]
    for key, code in FORMAT_ALIASES.items():
        if key in folded and len(key) > 4:
            return code
    return folded.replace(" ", "")[:20]


# --------------------------------------------------------------------------- schemas

SCHEMA_DATA_GOUV = "https://schema.data.gouv.fr/schemas/{name}/{version}/schema.json"
# dct:conformsTo also names standards that are no table schema (ISO 19115, OGC WMS/WFS, INSPIRE
# regulations, the EU's DCAT-AP): writing them on a resource would send tabular validation and the
# SCDL import to a document that cannot validate a file.
NOT_SCHEMA_HOSTS = ("iso.org", "opengeospatial.org", "data.europa.eu", "inspire.ec.europa.eu", "eur-lex.europa.eu", "w3.org")
SCHEMA_NAME_RE = re.compile(r"[\w.-]+/[\w.-]+")


def schema_url(raw) -> str:
    """The schema a resource follows, as a URL ("" when none is given or it cannot be one).

    * udata: ``{"name": "etalab/schema-irve-statique", "version": "2.2.0", "url": null}`` →
      ``https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/2.2.0/schema.json``
      (``latest`` without a version; the ``url`` when the schema is not on schema.data.gouv.fr);
    * CKAN (ckanext-validation / scheming): a URL, or the same as JSON text;
    * DCAT ``dct:conformsTo``: the standard's URI (standards that are no table schema are left out).

    An inline Table Schema (``{"fields": [...]}``) has no address: "".
    """
    if raw is None:
        return ""
    if isinstance(raw, list | tuple):
        return next((url for url in map(schema_url, raw) if url), "")
    if isinstance(raw, dict):
        url = str(raw.get("url") or raw.get("path") or raw.get("@id") or "").strip()
        name = str(raw.get("name") or "").strip()
        if not url and SCHEMA_NAME_RE.fullmatch(name):
            return SCHEMA_DATA_GOUV.format(name=name, version=str(raw.get("version") or "").strip() or "latest")
        return schema_url(url) if url else ""
    text = str(raw).strip()
    if text.startswith(("{", "[")):
        import json

        try:
            return schema_url(json.loads(text))
        except ValueError:
            return ""
    if not text.startswith(("http://", "https://")) or len(text) > 500:
        return SCHEMA_DATA_GOUV.format(name=text, version="latest") if SCHEMA_NAME_RE.fullmatch(text) else ""
    host = text.split("/", 3)[2].split("@")[-1].split(":")[0].lower()
    if any(host == h or host.endswith("." + h) for h in NOT_SCHEMA_HOSTS):
        return ""
    return text


# --------------------------------------------------------------------------- territory

# Per-run caches (cleared by regio.harvest.services.clear_caches at the start of each run): the records
# of one portal repeat the same few INSEE codes and bounding boxes.
_code_cache: dict[str, tuple | None] = {}
_bbox_cache: dict[tuple, list] = {}
CACHE_LIMIT = 20_000


def clear_caches() -> None:
    _code_cache.clear()
    _bbox_cache.clear()


def _lookup_code(code: str) -> tuple | None:
    from regio.territory.models import EPCI, Commune, Departement, Region

    if len(code) == 5 and (obj := Commune.objects.filter(pk=code).only("name").first()):
        return ("commune", code, obj.name)
    if len(code) == 9 and (obj := EPCI.objects.filter(pk=code).only("name").first()):
        return ("epci", code, obj.name)
    if len(code) in (2, 3) and (obj := Departement.objects.filter(pk=code).only("name").first()):
        return ("departement", code, obj.name)
    if len(code) == 2 and (obj := Region.objects.filter(pk=code).only("name").first()):
        return ("region", code, obj.name)
    return None


def _territory_for_codes(codes) -> list[tuple[str, str, str]]:
    found = []
    for raw in codes or []:
        code = str(raw).strip().upper()
        if code not in _code_cache:
            if len(_code_cache) > CACHE_LIMIT:
                _code_cache.clear()
            _code_cache[code] = _lookup_code(code)
        if _code_cache[code] is not None:
            found.append(_code_cache[code])
    return list(dict.fromkeys(found))


def territories_for_bbox(bbox) -> list[tuple[str, str, str]]:
    """Communes whose centre lies inside ``[west, south, east, north]``; départements when too many."""
    key = tuple(float(v) for v in bbox)
    if key not in _bbox_cache:
        if len(_bbox_cache) > CACHE_LIMIT:
            _bbox_cache.clear()
        _bbox_cache[key] = _territories_for_bbox(key)
    return list(_bbox_cache[key])


def _territories_for_bbox(bbox) -> list[tuple[str, str, str]]:
    from regio.territory.selectors import communes

    x1, y1, x2, y2 = (float(v) for v in bbox)
    west, east, south, north = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    rows = list(
        communes().filter(lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north)
        .values_list("code", "name", "departement_id")
    )
    if len(rows) <= MAX_BBOX_COMMUNES:
        return [("commune", code, name) for code, name, _dep in rows]
    return _territory_for_codes(sorted({dep for _c, _n, dep in rows if dep}))


@dataclass
class Mapped:
    fields: dict
    territories: list = field(default_factory=list)
    resources: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def map_record(record: dict, *, default_territory=None) -> Mapped:
    """Map a normalised record; raise ``ValueError`` (French) when it cannot be catalogued."""
    from regio.core.ingest.registry import IngestItemError

    warnings: list[str] = []
    title = (record.get("title") or "").strip()
    if not title:
        raise IngestItemError("Le titre du jeu de données est vide.", field="title")
    raw_licence = record.get("licence") or ""
    licence = map_licence(raw_licence)
    if licence is None:
        if not is_unspecified_licence(raw_licence):
            raise IngestItemError(
                f"Licence non reconnue : « {str(raw_licence)[:200]} » (licences acceptées : {', '.join(LICENCES)}).",
                field="licence",
            )
        # Unknown at the source: kept, with the catalogue's "non précisée" licence (not open, no DCAT statement).
        licence = UNSPECIFIED_LICENCE
        said = f" (« {str(raw_licence)[:100]} »)" if str(raw_licence).strip() else ""
        warnings.append(
            f"Licence non précisée par la source{said} : jeu de données repris avec la licence « non précisée », "
            "à faire préciser par le producteur."
        )
    themes, unknown_themes = [], []
    for raw in record.get("themes") or []:
        code = map_theme(raw)
        if code:
            themes.append(code)
        elif str(raw).strip():
            unknown_themes.append(str(raw).strip())
    if unknown_themes:
        warnings.append(f"Thème(s) sans correspondance dans le vocabulaire européen : {', '.join(unknown_themes[:5])}.")
    raw_freq = record.get("frequency") or ""
    frequency = map_frequency(raw_freq) if raw_freq else "UNKNOWN"
    if frequency is None:
        warnings.append(f"Fréquence « {raw_freq} » non reconnue : « Inconnue » retenue.")
        frequency = "UNKNOWN"
    territories = _territory_for_codes(record.get("insee") or [])
    if not territories and record.get("bbox"):
        try:
            territories = territories_for_bbox(record["bbox"])
        except (TypeError, ValueError):
            warnings.append(f"Emprise géographique illisible : {record['bbox']!r}.")
        else:
            if not territories:
                warnings.append("L'emprise géographique ne contient aucune commune du territoire.")
    if not territories and record.get("insee"):
        warnings.append(f"Code(s) INSEE inconnus du territoire : {', '.join(map(str, record['insee'][:5]))}.")
    if not territories:
        territories = list(default_territory or [])
    resources, seen = [], set()
    for index, res in enumerate(record.get("resources") or []):
        url = (res.get("url") or "").strip()
        if not url or url in seen:
            continue
        if not url.startswith(("http://", "https://")):
            warnings.append(f"Ressource {index + 1} ignorée : adresse invalide « {url[:100]} ».")
            continue
        seen.add(url)
        resources.append({
            "title": (res.get("title") or "").strip()[:250] or url.rsplit("/", 1)[-1][:250] or "Ressource",
            "url": url[:1000],
            "format": map_format(res.get("format"), url),
            "description": res.get("description") or "",
            "schema": schema_url(res.get("schema")),
        })
    keywords = list(dict.fromkeys(str(k).strip().lower()[:100] for k in record.get("keywords") or [] if str(k).strip()))
    email = (record.get("contact_email") or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        warnings.append(f"Courriel de contact invalide ignoré : « {email[:100]} ».")
        email = ""
    fields = {
        "title": title[:250],
        "description": (record.get("description") or "").strip(),
        "licence": licence,
        "themes": list(dict.fromkeys(themes)),
        "keywords": keywords,
        "frequency": frequency,
        "contact_name": (record.get("contact_name") or "").strip()[:200],
        "contact_email": email[:254],
        "temporal_start": _date(record.get("temporal_start")),
        "temporal_end": _date(record.get("temporal_end")),
        "source_url": (record.get("landing_page") or "")[:500] if str(record.get("landing_page") or "").startswith("http") else "",
    }
    if fields["temporal_start"] and fields["temporal_end"] and fields["temporal_start"] > fields["temporal_end"]:
        warnings.append("Période couverte incohérente (fin avant début) : ignorée.")
        fields["temporal_start"] = fields["temporal_end"] = None
    return Mapped(fields=fields, territories=territories, resources=resources, warnings=warnings)


def _date(value):
    import datetime as dt

    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
