"""Demo: harvest sources reading the real portal payloads of ``../shared/standards/`` (file sources), run once."""

from __future__ import annotations

from django.conf import settings

DEMO_SOURCES = [
    # (name, kind, path under SHARED_DIR/standards)
    ("DataSud — Agglomération Gap-Tallard-Durance (CKAN)", "ckan", "apis/ckan/datasud_package_search.json"),
    ("demo.data.gouv.fr — Angers Loire Métropole (udata)", "udata", "apis/udata/organizations_with-datasets-3.body.json"),
    ("data.gouv.fr — export DCAT (Vanves)", "dcat", "apis/udata/data.gouv.fr_catalog_dcat.rdf.xml"),
    ("Cap Atlantique — catalogue DCAT OpenDataSoft", "dcat", "apis/opendatasoft/capatlantique_v2.1_catalog_exports_dcat.rdf.xml"),
    ("Bac à sable OpenDataSoft (API v1)", "ods", "apis/opendatasoft/ods_v1_datasets_search.json"),
    ("Géo-IDE — catalogue CSW ISO 19139", "csw", "apis/csw-iso19139/geo-ide_csw_GetRecords_iso19139_page-1.xml"),
]


def demo_owner():
    from regio.accounts.models import Organisation
    from regio.territory.selectors import platform_region

    region = platform_region()
    org = Organisation.objects.filter(kind="region", region=region).first() if region else None
    return org or Organisation.objects.filter(kind="region").first()


def load_demo(out=None) -> list:
    from regio.core.ingest.engine import RunInProgress, run_source

    from .models import HarvestSource

    owner = demo_owner()
    root = settings.SHARED_DIR / "standards"
    runs = []
    for name, kind, rel in DEMO_SOURCES:
        path = root / rel
        if not path.is_file():
            continue
        source, created = HarvestSource.objects.get_or_create(
            kind=kind, file_path=str(path),
            defaults={"name": name, "owner": owner, "enabled": True, "filters": {"portal_url": "https://data.example.org"} if kind == "ods" else {}},
        )
        if not created and source.runs.filter(dry_run=False).exists():
            continue
        try:
            run = run_source(source)
        except RunInProgress:
            continue
        runs.append(run)
        if out is not None:
            out.write(f"  moissonnage « {name} » : {run.get_status_display()} — créés {run.created}, "
                      f"inchangés {run.unchanged}, en erreur {run.failed}\n")
    return runs
