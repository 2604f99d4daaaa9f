"""Demo catalogue built from the real records in ``../shared/standards`` (udata, CKAN, SCDL schemas).

:func:`real_records` turns those files into normalised dataset dicts (also used by the benchmark
to build its large corpus); :func:`load_demo` publishes them in the name of real collectivités of
the demo région. Idempotent: a dataset whose slug exists is left alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify

from regio.core.text import normalize_text

UDATA_FREQUENCIES = {
    "punctual": "NEVER", "continuous": "CONT", "hourly": "CONT", "daily": "DAILY", "weekly": "WEEKLY",
    "monthly": "MONTHLY", "quarterly": "QUARTERLY", "semiannual": "ANNUAL_2", "annual": "ANNUAL",
    "biennial": "BIENNIAL", "irregular": "IRREG", "unknown": "UNKNOWN",
}
# Words of a record (title, tags) → EU data theme.
THEME_HINTS = {
    "TRAN": ("transport", "gtfs", "bus", "mobilite", "parking", "stationnement", "vehicule", "recharge", "irve"),
    "REGI": ("adresse", "foncier", "fonciere", "logement", "urbain", "commune", "equipement", "cadastre"),
    "HEAL": ("covid", "sante", "vaccin", "defibrillateur"),
    "ECON": ("entreprise", "sirene", "marche", "subvention", "budget", "economie"),
    "GOVE": ("action publique", "deliberation", "marches publics", "budget", "subvention", "catalogue", "administration"),
    "ENVI": ("dechet", "recyclage", "environnement", "emission", "dechetterie", "cendrier", "corbeille", "proprete"),
    "AGRI": ("agriculture", "grenouille", "escargot", "alimentation"),
    "SOCI": ("mediation", "inclusion", "social", "population", "chien"),
}


# The région's own themes (seeded by the demo, editable in the admin): code → (label, EU theme, hints).
REGIONAL_THEMES = {
    "MOBILITES": ("Mobilités du quotidien", "TRAN", ("transport", "gtfs", "bus", "mobilite", "parking", "stationnement", "recharge", "irve")),
    "REV3": ("rev3 — transition énergétique et écologique", "ENVI", ("dechet", "recyclage", "emission", "energie", "recharge", "irve")),
}


def seed_regional_themes() -> None:
    from .models import RegionalTheme

    for code, (label, eu_theme, _hints) in REGIONAL_THEMES.items():
        RegionalTheme.objects.get_or_create(code=code, defaults={"label": label, "eu_theme": eu_theme})


def _standards() -> Path:
    return Path(settings.SHARED_DIR) / "standards"


def _themes(*texts: str) -> list[str]:
    text = " " + normalize_text(" ".join(texts)) + " "
    found = [code for code, hints in THEME_HINTS.items() if any(h in text for h in hints)]
    regional = [code for code, (_label, _eu, hints) in REGIONAL_THEMES.items() if any(h in text for h in hints)]
    return (found[:3] or ["GOVE"]) + regional


def _fmt(value: str) -> str:
    value = (value or "").lower()
    for known in ("csv", "json", "geojson", "xml", "pdf", "zip", "shapefile", "gtfs", "xlsx", "txt", "wms", "wfs"):
        if known in value:
            return "zip" if known == "shapefile" else known
    return re.sub(r"[^a-z0-9]", "", value)[:20] or "html"


def _udata_records() -> list[dict]:
    path = _standards() / "apis" / "udata" / "data.gouv.fr_fixtures_results.json"
    records = []
    for item in json.loads(path.read_text(encoding="utf-8"))["datasets"]:
        ds = item["dataset"]
        title = " ".join((ds.get("title") or "").split())
        if not title:
            continue
        resources = []
        for r in item.get("resources", [])[:5]:
            checksum = r.get("checksum") or {}
            resources.append({
                "title": (r.get("title") or "Fichier")[:250],
                "url": r.get("url") or "",
                "format": _fmt(r.get("format") or ""),
                "media_type": r.get("mime") or "",
                "size": r.get("filesize"),
                "checksum_sha256": checksum.get("value", "") if checksum.get("type") == "sha256" else "",
            })
        temporal = ds.get("temporal_coverage") or {}
        records.append({
            "title": title,
            "description": ds.get("description") or "",
            "keywords": [t for t in (ds.get("tags") or [])][:10],
            "themes": _themes(title, " ".join(ds.get("tags") or [])),
            "frequency": UDATA_FREQUENCIES.get(ds.get("frequency") or "unknown", "UNKNOWN"),
            "licence": "lov2",
            "temporal_start": (temporal.get("start") or "")[:10] or None,
            "temporal_end": (temporal.get("end") or "")[:10] or None,
            "resources": [r for r in resources if r["url"]],
            "source": "data.gouv.fr",
        })
    return records


def _ckan_records() -> list[dict]:
    path = _standards() / "apis" / "ckan" / "datasud_package_search.json"
    records = []
    for pkg in json.loads(path.read_text(encoding="utf-8"))["result"]["results"]:
        tags = [t["name"] for t in pkg.get("tags", [])]
        records.append({
            "title": " ".join(pkg["title"].split()),
            "description": pkg.get("notes") or "",
            "keywords": tags[:10],
            "themes": _themes(pkg["title"], " ".join(tags)),
            "frequency": "IRREG",
            "licence": pkg.get("license_id") or "lov2",
            "resources": [
                {
                    "title": (r.get("name") or r.get("format") or "Ressource")[:250],
                    "url": r.get("url") or "",
                    "format": _fmt(r.get("format") or ""),
                    "media_type": r.get("mimetype") or "",
                    "size": r.get("size"),
                }
                for r in pkg.get("resources", [])
                if (r.get("url") or "").startswith("http")
            ],
            "source": "datasud.fr",
        })
    return records


SCDL = ["scdl-subventions", "scdl-budget", "scdl-deliberations", "scdl-equipements", "scdl-catalogue"]
SCDL_TITLES = {
    "scdl-subventions": "Subventions versées aux associations",
    "scdl-budget": "Budget primitif et compte administratif",
    "scdl-deliberations": "Délibérations du conseil",
    "scdl-equipements": "Équipements collectifs publics",
    "scdl-catalogue": "Catalogue des données publiées",
}


def schema_records() -> list[dict]:
    """One dataset per SCDL schema, conforming to it (the publisher is added to the title)."""
    records = []
    for name in SCDL:
        schema = json.loads((_standards() / "schemas" / name / "schema.json").read_text(encoding="utf-8"))
        fields = ", ".join(f.get("title") or f["name"] for f in schema.get("fields", [])[:8])
        records.append({
            "title": SCDL_TITLES[name],
            "description": (
                f"{schema.get('description', '')}\n\nDonnées publiées au format du **socle commun des données locales** "
                f"(schéma « {schema.get('title')} », version {schema.get('version')}). Principaux champs : {fields}."
            ),
            "keywords": [k for k in (schema.get("keywords") or [])][:8] or [schema.get("name", name)],
            "themes": _themes(SCDL_TITLES[name], name),
            "frequency": "ANNUAL",
            "licence": "lov2",
            "conforms_to": schema.get("path") or "",
            "resources": [
                {
                    "title": f"{SCDL_TITLES[name]} (CSV)",
                    "url": (schema.get("resources") or [{}])[0].get("path", "") if schema.get("resources") else "",
                    "format": "csv",
                    "media_type": "text/csv",
                    "schema": schema.get("path") or "",
                }
            ],
            "source": "schema",
        })
    for rec in records:
        rec["resources"] = [r for r in rec["resources"] if r["url"]]
    return records


def real_records() -> list[dict]:
    return _udata_records() + _ckan_records()


def _publishers():
    """Real collectivités of the demo région: the région, its départements, big EPCI and communes."""
    from regio.accounts.models import Organisation

    region = settings.REGION_CODE
    orgs = list(Organisation.objects.filter(kind="region", region_id=region))
    orgs += list(Organisation.objects.filter(kind="departement", departement__region_id=region).order_by("departement_id"))
    orgs += list(Organisation.objects.filter(kind="epci", epci__isnull=False).order_by("-epci__population")[:8])
    orgs += list(Organisation.objects.filter(kind="commune", commune__departement__region_id=region).order_by("-commune__population")[:12])
    return orgs


def load_demo(out) -> None:
    from regio.accounts.models import Membership, User

    from . import services
    from .models import Dataset

    publishers = _publishers()
    if not publishers:
        out.write("catalogue : aucune collectivité (chargez d'abord le territoire), rien à faire.\n")
        return
    agent, _ = User.objects.get_or_create(
        email="agent.donnees@regio.localhost", defaults={"full_name": "Agent données (démo)", "is_active": True}
    )
    for org in publishers:
        Membership.objects.get_or_create(user=agent, organisation=org, defaults={"role": "editor", "status": "active"})
    seed_regional_themes()
    created = 0
    plans = []
    # Each SCDL dataset is published by several collectivités (they all publish their subventions…).
    for i, rec in enumerate(schema_records()):
        for org in publishers[i % 3 :: 5][:4]:
            plans.append((org, {**rec, "title": f"{rec['title']} — {org.name}"}))
    for i, rec in enumerate(real_records()):
        plans.append((publishers[(i * 7) % len(publishers)], rec))
    for org, rec in plans:
        slug = slugify(f"{rec['title']}")[:110]
        if Dataset.objects.filter(slug=slug).exists():
            continue
        data = {k: rec.get(k) for k in ("title", "description", "keywords", "themes", "frequency", "licence", "temporal_start", "temporal_end")}
        data["slug"] = slug
        data["conforms_to"] = rec.get("conforms_to", "")
        dataset = services.create_dataset(agent, org, data, publish=True)
        for res in rec["resources"]:
            services.add_resource(agent, dataset, **{k: v for k, v in res.items() if v not in (None, "")})
        created += 1
    out.write(f"catalogue : {created} jeux de données créés ({Dataset.objects.count()} au total).\n")
