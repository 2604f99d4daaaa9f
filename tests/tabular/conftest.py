from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings

SCHEMAS = Path(settings.SHARED_DIR) / "standards" / "schemas"
SOMME = SCHEMAS / "scdl-subventions" / "real" / "DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv"
HAUTE_GARONNE = SCHEMAS / "scdl-subventions" / "real" / "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv"
EXEMPLE_VALIDE = SCHEMAS / "scdl-subventions" / "exemple_valide.csv"
DATA = Path(settings.SHARED_DIR) / "data"


def read_rows(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def write_csv(path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture
def tabular_root(settings, tmp_path):
    settings.TABULAR_ROOT = tmp_path / "tabular"
    return settings.TABULAR_ROOT


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
