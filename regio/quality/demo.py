"""Demo: register the SCDL and related Table Schemas found in ../shared/standards/schemas (idempotent)."""

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
