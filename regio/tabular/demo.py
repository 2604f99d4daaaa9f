"""Demo: convert the real SCDL sample files and validate them against their schema (idempotent)."""

from pathlib import Path

from django.conf import settings

from .models import Status, TabularResource
from .services import convert_resource

SAMPLES = [
    # (key, title, path under standards/schemas, schema slug prefix)
    ("demo.scdl:subventions-somme", "Subventions du Département de la Somme (2018)", "scdl-subventions/real/DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv", "subventions"),
    ("demo.scdl:subventions-haute-garonne", "Subventions — Haute-Garonne (datalocale)", "scdl-subventions/real/SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", "subventions"),
    ("demo.scdl:subventions-exemple", "Subventions — exemple valide SCDL", "scdl-subventions/exemple_valide.csv", "subventions"),
    ("demo.scdl:subventions-erreurs", "Subventions — exemple avec erreurs", "scdl-subventions/exemple_invalide_erreurs_cellules.csv", "subventions"),
    ("demo.scdl:mediation-numerique", "Lieux de médiation numérique — exemple", "mediation-numerique/exemple-valide.csv", "standard-mediation-num"),
]


def load_demo(out) -> None:
    from regio.quality.models import TableSchema, ValidationReport
    from regio.quality.services import validate_resource

    root = Path(settings.SHARED_DIR) / "standards" / "schemas"
    for key, title, relative, schema_prefix in SAMPLES:
        path = root / relative
        if not path.is_file():
            out.write(f"  fichier absent : {path}\n")
            continue
        resource, _ = TabularResource.objects.get_or_create(resource_key=key, defaults={"source": str(path)})
        resource.title = title
        resource.source_name = path.name
        if resource.source != str(path) or resource.status != Status.READY or not resource.has_data or not Path(resource.parquet_path).is_file():
            resource.source = str(path)
            resource.save()
            convert_resource(resource)
        else:
            resource.save(update_fields=["title", "source_name", "updated_at"])
        schema = TableSchema.objects.filter(slug__startswith=schema_prefix).order_by("-version").first()
        if schema and not ValidationReport.objects.filter(resource_key=key, schema=schema).exists():
            validate_resource(key, path, schema)
    out.write(f"  {len(SAMPLES)} fichiers tabulaires SCDL convertis et validés\n")
    schedule_remote_checks(out)


def schedule_remote_checks(out) -> None:
    """Start the hourly chain that checks remote files for a new version (database task backend only)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return
    from django_tasks_db.models import DBTaskResult

    from .tasks import check_remote_sources_task

    pending = DBTaskResult.objects.filter(task_path__endswith="check_remote_sources_task", status__in=["READY", "RUNNING"])
    if not pending.exists():
        check_remote_sources_task.enqueue(True)
        out.write("  vérification périodique des fichiers distants programmée (toutes les heures, par regio worker)\n")
