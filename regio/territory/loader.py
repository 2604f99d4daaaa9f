"""Load the territory reference data (INSEE COG, populations, EPCI, density grid, contours).

The source is a directory or a base URL holding the files described in
``shared/data/territory/README.md``. Every file is read and checked before anything is written;
the write is one transaction, so a corrupt or partial file leaves the previous data intact.
Loading is idempotent: unchanged files are skipped (checksum), changed communes are updated in
place, and communes that vanished (mergers) are kept inactive so no foreign key breaks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from regio.core.http import FetchError, fetch
from regio.core.text import search_forms

from .models import EPCI, Commune, Departement, PostalCode, Region, TerritoryLoad

REQUIRED_FILES = ("regions.csv", "departements.csv", "epci.csv", "communes.csv")
OPTIONAL_FILES = ("densite-france.csv", "regions.geojson", "departements.geojson")
REQUIRED_COLUMNS = {
    "regions.csv": {"code", "nom"},
    "departements.csv": {"code", "nom", "region"},
    "epci.csv": {"siren", "nom", "type"},
    "communes.csv": {"code_insee", "nom", "departement", "region", "population", "lat", "lon"},
    "densite-france.csv": {"code_insee", "densite"},
}


class TerritoryLoadError(Exception):
    """The reference data cannot be loaded; the message says which file and line, in French."""


@dataclass
class LoadReport:
    skipped: bool = False
    counts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def fetch_source(source: str, region_code: str, workdir: Path) -> Path:
    """Return a local directory with the reference files, downloading them if ``source`` is a URL."""
    if not source.startswith(("http://", "https://")):
        path = Path(source)
        if not path.is_dir():
            raise TerritoryLoadError(f"Le dossier de données territoriales {source} n'existe pas.")
        return path
    base = source.rstrip("/") + "/"
    for name in REQUIRED_FILES:
        try:
            fetch(base + name, to_file=workdir / name)
        except FetchError as exc:
            raise TerritoryLoadError(f"Téléchargement impossible de {name} : {exc}") from exc
    for name in (*OPTIONAL_FILES, f"communes-{region_code}.geojson"):
        try:
            fetch(base + name, to_file=workdir / name, retries=0)
        except FetchError:
            continue
    return workdir


def _read_csv(path: Path) -> list[dict]:
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TerritoryLoadError(f"{name} n'est pas encodé en UTF-8 (octet {exc.start}).") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = REQUIRED_COLUMNS.get(name, set()) - set(reader.fieldnames or [])
    if missing:
        raise TerritoryLoadError(f"{name} : colonnes manquantes : {', '.join(sorted(missing))}.")
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise TerritoryLoadError(f"{name}, ligne {line} : nombre de colonnes incorrect (fichier tronqué ?).")
        rows.append(row)
    if not rows:
        raise TerritoryLoadError(f"{name} ne contient aucune ligne.")
    return rows


def _int(value: str, name: str, line: int, column: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise TerritoryLoadError(f"{name}, ligne {line}, colonne {column} : « {value} » n'est pas un nombre entier.")


def _float(value: str, name: str, line: int, column: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise TerritoryLoadError(f"{name}, ligne {line}, colonne {column} : « {value} » n'est pas un nombre.")


def _geometries(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_bytes())
        return {f["properties"]["code"]: json.dumps(f["geometry"], separators=(",", ":")) for f in data["features"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise TerritoryLoadError(f"{path.name} n'est pas un GeoJSON valide ({exc}).") from exc


def _checksum(directory: Path, names: list[str], scope: str) -> str:
    digest = hashlib.sha256(scope.encode())
    for name in sorted(names):
        path = directory / name
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_territory(source: str, *, region_code: str, all_france: bool = False, force: bool = False) -> LoadReport:
    with tempfile.TemporaryDirectory(prefix="regio-territory-") as tmp:
        directory = fetch_source(source, region_code, Path(tmp))
        return _load_directory(directory, source, region_code=region_code, all_france=all_france, force=force)


def _load_directory(directory: Path, source: str, *, region_code: str, all_france: bool, force: bool) -> LoadReport:
    report = LoadReport()
    for name in REQUIRED_FILES:
        if not (directory / name).exists():
            raise TerritoryLoadError(f"Fichier obligatoire manquant : {name} (dans {source}).")
    contour_files = sorted(p.name for p in directory.glob("communes*.geojson"))
    scope = "france" if all_france else f"region-{region_code}"
    checksum = _checksum(directory, [*REQUIRED_FILES, *OPTIONAL_FILES, *contour_files], scope)
    if not force and TerritoryLoad.objects.filter(checksum=checksum).exists():
        report.skipped = True
        return report

    regions = _read_csv(directory / "regions.csv")
    departements = _read_csv(directory / "departements.csv")
    epcis = _read_csv(directory / "epci.csv")
    communes = _read_csv(directory / "communes.csv")
    density_path = directory / "densite-france.csv"
    national_density = {}
    if density_path.exists():
        for line, row in enumerate(_read_csv(density_path), start=2):
            national_density[row["code_insee"]] = _int(row["densite"], density_path.name, line, "densite")

    region_codes = {r["code"] for r in regions}
    if not all_france and region_code not in region_codes:
        raise TerritoryLoadError(f"La région {region_code} n'existe pas dans regions.csv.")
    dept_codes = {d["code"] for d in departements}
    for line, d in enumerate(departements, start=2):
        if d["region"] not in region_codes:
            raise TerritoryLoadError(f"departements.csv, ligne {line} : région inconnue « {d['region']} ».")

    # Populations of régions and départements are sums over all communes of France.
    region_pop: Counter = Counter()
    dept_pop: Counter = Counter()
    parsed_communes = []
    for line, c in enumerate(communes, start=2):
        code = c["code_insee"].strip()
        if len(code) != 5:
            raise TerritoryLoadError(f"communes.csv, ligne {line} : code INSEE invalide « {code} ».")
        if c["departement"] not in dept_codes:
            raise TerritoryLoadError(f"communes.csv, ligne {line} : département inconnu « {c['departement']} ».")
        population = _int(c["population"], "communes.csv", line, "population")
        region_pop[c["region"]] += population or 0
        dept_pop[c["departement"]] += population or 0
        if not all_france and c["region"] != region_code:
            continue
        density = _int(c.get("densite", "") or "", "communes.csv", line, "densite")
        if density is None:
            density = national_density.get(code)
        if density is not None and not 1 <= density <= 7:
            raise TerritoryLoadError(f"communes.csv, ligne {line} : classe de densité hors de 1 à 7 ({density}).")
        parsed_communes.append(
            {
                "code": code,
                "name": c["nom"].strip(),
                "departement": c["departement"],
                "region": c["region"],
                "epci": (c.get("epci_siren") or "").strip() or None,
                "population": population,
                "postal_codes": " ".join((c.get("codes_postaux") or "").split()),
                "lat": _float(c["lat"], "communes.csv", line, "lat"),
                "lon": _float(c["lon"], "communes.csv", line, "lon"),
                "density": density,
            }
        )
    if not parsed_communes:
        raise TerritoryLoadError(f"communes.csv ne contient aucune commune de la région {region_code}.")

    epci_members: dict[str, list[dict]] = defaultdict(list)
    for c in parsed_communes:
        if c["epci"]:
            epci_members[c["epci"]].append(c)
    epci_rows = {}
    for line, e in enumerate(epcis, start=2):
        siren = e["siren"].strip()
        if siren in epci_members:
            epci_rows[siren] = (e, line)
    unknown = set(epci_members) - set(epci_rows)
    if unknown:
        raise TerritoryLoadError(f"communes.csv : EPCI absents de epci.csv : {', '.join(sorted(unknown)[:5])}.")

    region_contours = _geometries(directory / "regions.geojson")
    dept_contours = _geometries(directory / "departements.geojson")
    commune_contours: dict[str, str] = {}
    for name in contour_files:
        commune_contours.update(_geometries(directory / name))

    with transaction.atomic():
        Region.objects.bulk_create(
            [
                Region(
                    code=r["code"],
                    name=r["nom"],
                    chef_lieu_code=r.get("chef_lieu", ""),
                    population=region_pop.get(r["code"]) or None,
                    contour=region_contours.get(r["code"], ""),
                )
                for r in regions
            ],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["name", "chef_lieu_code", "population", "contour"],
        )
        Departement.objects.bulk_create(
            [
                Departement(
                    code=d["code"],
                    name=d["nom"],
                    region_id=d["region"],
                    chef_lieu_code=d.get("chef_lieu", ""),
                    population=dept_pop.get(d["code"]) or None,
                    contour=dept_contours.get(d["code"], ""),
                )
                for d in departements
            ],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["name", "region", "chef_lieu_code", "population", "contour"],
        )
        epci_objects = []
        for siren, (e, line) in epci_rows.items():
            members = epci_members[siren]
            main_dept = Counter(m["departement"] for m in members).most_common(1)[0][0]
            main_region = Counter(m["region"] for m in members).most_common(1)[0][0]
            epci_objects.append(
                EPCI(
                    siren=siren,
                    name=e["nom"],
                    kind=e["type"],
                    population=_int(e.get("population", ""), "epci.csv", line, "population"),
                    nb_communes=_int(e.get("nb_communes", ""), "epci.csv", line, "nb_communes") or len(members),
                    departement_id=main_dept,
                    region_id=main_region,
                    is_active=True,
                )
            )
        EPCI.objects.bulk_create(
            epci_objects,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["siren"],
            update_fields=["name", "kind", "population", "nb_communes", "departement", "region", "is_active"],
        )
        commune_objects = [
            Commune(
                code=c["code"],
                name=c["name"],
                name_search=search_forms(c["name"]),
                departement_id=c["departement"],
                region_id=c["region"],
                epci_id=c["epci"],
                population=c["population"],
                postal_codes=c["postal_codes"],
                lat=c["lat"],
                lon=c["lon"],
                density_class=c["density"],
                contour=commune_contours.get(c["code"], ""),
                is_active=True,
            )
            for c in parsed_communes
        ]
        Commune.objects.bulk_create(
            commune_objects,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=[
                "name", "name_search", "departement", "region", "epci", "population",
                "postal_codes", "lat", "lon", "density_class", "contour", "is_active",
            ],
        )
        loaded_codes = {c["code"] for c in parsed_communes}
        scope_filter = {} if all_france else {"region_id": region_code}
        # Chunked: SQLite limits the number of parameters of one statement.
        vanished_codes = list(
            Commune.objects.filter(**scope_filter, is_active=True).values_list("code", flat=True)
        )
        vanished_codes = [code for code in vanished_codes if code not in loaded_codes]
        for i in range(0, len(vanished_codes), 500):
            Commune.objects.filter(code__in=vanished_codes[i : i + 500]).update(is_active=False)
        PostalCode.objects.filter(**({} if all_france else {"commune__region_id": region_code})).delete()
        PostalCode.objects.bulk_create(
            [PostalCode(code=pc, commune_id=c["code"]) for c in parsed_communes for pc in c["postal_codes"].split()],
            batch_size=1000,
        )
        report.counts = {
            "regions": len(regions),
            "departements": len(departements),
            "epci": len(epci_objects),
            "communes": len(commune_objects),
            "communes_inactivees": len(vanished_codes),
            "contours_communes": sum(1 for c in parsed_communes if c["code"] in commune_contours),
            "densite_inconnue": sum(1 for c in parsed_communes if c["density"] is None),
        }
        TerritoryLoad.objects.create(source=source, scope=scope, checksum=checksum, counts=report.counts)
    from .selectors import clear_caches

    clear_caches()
    return report
