"""Controlled vocabularies of the catalogue: licences, EU data themes, EU frequencies.

URIs are those of the EU Publications Office authority tables (data-theme, frequency) and of the
licence publishers, so that the DCAT-AP export and the CKAN API can name them unambiguously.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    uri: str
    is_open: bool = True


LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in [
        Licence("lov2", "Licence Ouverte / Open Licence version 2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"),
        Licence("fr-lo", "Licence Ouverte / Open Licence version 1.0", "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf"),
        Licence("odc-odbl", "Open Data Commons Open Database License (ODbL)", "https://opendatacommons.org/licenses/odbl/1-0/"),
        Licence("cc-by", "Creative Commons Attribution 4.0 (CC-BY 4.0)", "https://creativecommons.org/licenses/by/4.0/"),
        Licence("cc-by-sa", "Creative Commons Attribution – Partage dans les mêmes conditions 4.0 (CC-BY-SA 4.0)", "https://creativecommons.org/licenses/by-sa/4.0/"),
        Licence("cc-zero", "Creative Commons CC0 1.0 (domaine public)", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ]
}
# Licences a publisher chooses from (forms, API): every one above.
LICENCE_CHOICES = [(lic.id, lic.title) for lic in LICENCES.values()]

# A harvested dataset whose source states no licence ("License Not Specified", nothing): kept, shown as
# such, exported without a licence statement, not open for the quality score. Never chosen by a publisher.
UNSPECIFIED_LICENCE = "non-precisee"
UNSPECIFIED = Licence(UNSPECIFIED_LICENCE, "Licence non précisée par la source", "", is_open=False)
ALL_LICENCES: dict[str, Licence] = {**LICENCES, UNSPECIFIED_LICENCE: UNSPECIFIED}
# Values of Dataset.licence: the choosable licences, plus "non précisée" (harvested datasets only).
ALL_LICENCE_CHOICES = [(lic.id, lic.title) for lic in ALL_LICENCES.values()]

# Aliases met in real records (udata, CKAN) → our ids.
LICENCE_ALIASES = {
    "etalab-2.0": "lov2", "licence-ouverte-v2.0": "lov2", "lov2": "lov2", "fr-lo": "fr-lo",
    "odc-odbl": "odc-odbl", "odbl": "odc-odbl", "cc-by": "cc-by", "cc-by-4.0": "cc-by",
    "cc-by-sa": "cc-by-sa", "cc-zero": "cc-zero", "cc0": "cc-zero", "odc-pddl": "cc-zero",
}

THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"
THEMES: dict[str, str] = {
    "AGRI": "Agriculture, pêche, sylviculture et alimentation",
    "ECON": "Économie et finances",
    "EDUC": "Éducation, culture et sport",
    "ENER": "Énergie",
    "ENVI": "Environnement",
    "GOVE": "Gouvernement et secteur public",
    "HEAL": "Santé",
    "INTR": "Questions internationales",
    "JUST": "Justice, système juridique et sécurité publique",
    "REGI": "Régions et villes",
    "SOCI": "Population et société",
    "TECH": "Science et technologie",
    "TRAN": "Transports",
}
THEME_CHOICES = list(THEMES.items())

FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES: dict[str, str] = {
    "CONT": "En continu",
    "DAILY": "Quotidienne",
    "WEEKLY": "Hebdomadaire",
    "MONTHLY": "Mensuelle",
    "QUARTERLY": "Trimestrielle",
    "ANNUAL_2": "Semestrielle",
    "ANNUAL": "Annuelle",
    "BIENNIAL": "Tous les deux ans",
    "IRREG": "Irrégulière",
    "NEVER": "Jamais mise à jour",
    "UNKNOWN": "Inconnue",
}
FREQUENCY_CHOICES = list(FREQUENCIES.items())

# Territory levels of spatial coverage, with the prefix of their URIs in the export.
TERRITORY_LEVELS = {
    "region": "Région",
    "departement": "Département",
    "epci": "Intercommunalité",
    "commune": "Commune",
}

MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "geojson": "application/geo+json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "pdf": "application/pdf",
    "xml": "application/xml",
    "zip": "application/zip",
    "shp": "application/zip",
    "parquet": "application/vnd.apache.parquet",
    "txt": "text/plain",
    "html": "text/html",
}


def licence_for(value: str) -> Licence | None:
    key = LICENCE_ALIASES.get((value or "").strip().lower(), (value or "").strip().lower())
    return LICENCES.get(key)
