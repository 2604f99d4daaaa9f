"""Budget nomenclatures: labels of natures and functions from the official plan de compte files
found in ``SHARED_DIR/standards/budget-nomenclature/`` (only M52 is available there)."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

NOMENCLATURES = ("M57", "M14", "M52", "M71")
PLAN_FILES = {"M52": "plan-de-compte-M52-M52-2021.xml"}


@dataclass
class Plan:
    natures: dict[str, str]
    functions: dict[str, str]


def _folder() -> Path:
    return Path(settings.SHARED_DIR) / "standards" / "budget-nomenclature"


@functools.lru_cache(maxsize=8)
def plan(nomenclature: str) -> Plan | None:
    """The plan de compte of ``nomenclature`` (codes → labels), or None when no file is available."""
    name = PLAN_FILES.get(nomenclature)
    if not name or not (_folder() / name).is_file():
        return None
    root = ET.parse(_folder() / name).getroot()
    natures: dict[str, str] = {}
    functions: dict[str, str] = {}
    nature = root.find("Nature")
    if nature is not None:
        for el in nature.iter("Chapitre"):
            natures.setdefault(el.get("Code"), el.get("Libelle", ""))
        for el in nature.iter("Compte"):
            natures[el.get("Code")] = el.get("Libelle", "")
    fonction = root.find("Fonction")
    if fonction is not None:
        for el in fonction.iter("Chapitre"):
            functions.setdefault(el.get("Code"), el.get("Libelle", ""))
        for el in fonction.iter("RefFonc"):
            functions[el.get("Code")] = el.get("Libelle", "")
    return Plan(natures, functions)


def function_root_label(nomenclature: str, code: str) -> tuple[str, str]:
    """The top-level function (first digit) of ``code`` and its label, for drill-down."""
    root = (code or "")[:1]
    p = plan(nomenclature)
    return root, (p.functions.get(root, "") if p else "")
