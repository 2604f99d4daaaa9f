"""Demo: register the SCDL and related Table Schemas found in ../shared/standards/schemas (idempotent)."""

import json
from pathlib import Path

from django.conf import settings

from .services import SchemaError, register_schema_from_file


def schema_files() -> list[Path]:
    root = Path(settings.SHARED_DIR) / "standards" / "schemas"
    return sorted(root.glob("*/schema.json")) + sorted(root.glob("scdl-marches-publics-legacy/*SCDL.json"))


def load_demo(out) -> None:
    count = 0
    for path in schema_files():
        try:
            register_schema_from_file(path, source_url=f"shared/standards/schemas/{path.parent.name}/{path.name}")
            count += 1
        except SchemaError as exc:
            out.write(f"  schéma ignoré {path.parent.name} : {exc}\n")
    out.write(f"  {count} schémas de données enregistrés\n")


# Real SCDL sample files attached to the catalogue's demo datasets: (file under standards/schemas,
# resource title, index of the SCDL subventions demo dataset or None for the médiation numérique one).
CATALOG_SAMPLES = [
    ("scdl-subventions/exemple_valide.csv", "Subventions — fichier conforme au SCDL (exemple)", 0),
    ("scdl-subventions/exemple_invalide_erreurs_cellules.csv", "Subventions — fichier avec des erreurs (exemple)", 0),
    ("scdl-subventions/real/SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", "Subventions — fichier réel de la Haute-Garonne (datalocale)", 1),
    ("scdl-subventions/real/DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv", "Subventions — fichier réel de la Somme (Windows-1252)", 2),
    ("mediation-numerique/exemple-valide.csv", "Lieux de médiation numérique (exemple)", None),
]
MEDIATION_SLUG = "lieux-de-mediation-numerique-demo"


def _subventions_datasets():
    from regio.catalog.models import Dataset

    schema = json.loads((Path(settings.SHARED_DIR) / "standards" / "schemas" / "scdl-subventions" / "schema.json").read_text(encoding="utf-8"))
    return list(Dataset.objects.filter(conforms_to=schema.get("path") or "-").select_related("publisher").order_by("pk"))


def _mediation_dataset(agent, publisher):
    from regio.catalog import services
    from regio.catalog.models import Dataset

    existing = Dataset.objects.filter(slug=MEDIATION_SLUG).first()
    if existing:
        return existing
    return services.create_dataset(
        agent, publisher,
        {
            "title": f"Lieux de médiation numérique — {publisher.name}", "slug": MEDIATION_SLUG, "licence": "lov2",
            "description": "Lieux d'accompagnement au numérique (exemple du standard de la médiation numérique). "
                           "Aucun schéma n'est déclaré : la plateforme propose le plus proche d'après les en-têtes du fichier.",
            "frequency": "ANNUAL", "themes": ["SOCI"], "keywords": ["médiation numérique", "inclusion"],
        },
        publish=True,
    )


def load_catalog_demo(out) -> None:
    """Attach the real SCDL samples to demo datasets, convert and validate them now (idempotent)."""
    from django.core.files import File
    from django.db import transaction

    from regio.accounts.models import User
    from regio.catalog import services
    from regio.catalog.permissions import can_edit_dataset
    from regio.tabular.catalog_link import resource_key
    from regio.tabular.models import Status, TabularResource
    from regio.tabular.services import convert_resource

    from .catalog_link import refresh_dataset_quality

    agent = User.objects.filter(email="agent.donnees@regio.localhost").first()
    targets = _subventions_datasets()
    if agent is None or not targets:
        out.write("  pas de jeu de données de démonstration du catalogue : fichiers SCDL non rattachés.\n")
        return
    root = Path(settings.SHARED_DIR) / "standards" / "schemas"
    attached = converted = 0
    for relative, title, index in CATALOG_SAMPLES:
        path = root / relative
        if not path.is_file():
            out.write(f"  fichier absent : {path}\n")
            continue
        dataset = targets[index % len(targets)] if index is not None else _mediation_dataset(agent, targets[0].publisher)
        if not can_edit_dataset(agent, dataset):
            continue
        with transaction.atomic():
            resource = dataset.resources.filter(title=title).first()
            if resource is None:
                with path.open("rb") as fh:
                    resource = services.add_resource(agent, dataset, title=title, upload=File(fh, name=path.name), format="csv")
                attached += 1
            key = resource_key(resource)
            tab = TabularResource.objects.filter(resource_key=key).first()
            if tab is None or tab.status != Status.READY or not tab.has_data or not Path(tab.parquet_path).is_file():
                tab, _ = TabularResource.objects.update_or_create(
                    resource_key=key,
                    defaults={"source": resource.file.path, "source_name": path.name, "title": title, "status": Status.QUEUED, "error": ""},
                )
                # Converted now (validation and score follow through the tabular → quality signal).
                convert_resource(tab)
                converted += 1
        refresh_dataset_quality(dataset)
    out.write(f"  catalogue : {attached} fichiers SCDL rattachés, {converted} convertis et validés\n")
    schedule_link_checks(out)


def schedule_link_checks(out) -> None:
    """Start the hourly link-check chain and the daily score recomputation once (database task
    backend only; the worker runs them)."""
    from django.conf import settings as django_settings

    if "django_tasks_db" not in django_settings.TASKS["default"]["BACKEND"]:
        return
    from django_tasks_db.models import DBTaskResult

    from .tasks import check_links_task

    pending = DBTaskResult.objects.filter(task_path__endswith="check_links_task", status__in=["READY", "RUNNING"])
    if not pending.exists():
        check_links_task.enqueue(True)
        out.write("  vérification périodique des liens programmée (toutes les heures, par regio worker)\n")
    from .tasks import recompute_scores_task

    pending = DBTaskResult.objects.filter(task_path__endswith="recompute_scores_task", status__in=["READY", "RUNNING"])
    if not pending.exists():
        recompute_scores_task.enqueue(True)
        out.write("  recalcul quotidien des scores de qualité programmé (par regio worker)\n")
