"""Budget nomenclatures: the plan de compte of each nomenclature (labels of natures and
functions, the section of each nature's chapter).

Where a plan comes from, first found wins:

1. an official plan de compte XML (ODM format, as published by the DGFiP) loaded with
   ``regio finance load-plan FILE``, kept in the file storage (``finance/plans/<M57>.xml``) so every
   web process and worker sees it;
2. the plan files of ``SHARED_DIR/standards/budget-nomenclature/`` (only M52 there);
3. the partial labels written in ``labels/<M57>.csv`` (M57, M14, M71; see ``labels/README.md``):
   labels only, codes not checked (``Plan.complete`` is False); the natures they lack take the
   label of the same account in the official M52 plan, else of their nearest labelled parent
   (``Plan.label``).
"""

from __future__ import annotations

import csv
import functools
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

NOMENCLATURES = ("M57", "M14", "M52", "M71")
PLAN_FILES = {"M52": "plan-de-compte-M52-M52-2021.xml"}
STORAGE_DIR = "finance/plans"
RECHECK_S = 30.0  # how often a process looks for a newly loaded plan


class PlanError(ValueError):
    """The file is not a readable plan de compte (French message)."""


@dataclass
class Plan:
    natures: dict[str, str]
    functions: dict[str, str]
    # (nature code, "D"/"R") → "F" (fonctionnement) or "I" (investissement), from the chapters
    sections: dict[tuple[str, str], str] = field(default_factory=dict)
    complete: bool = True  # an official plan: a code it does not hold is unknown
    source: str = ""
    # Partial plans only: the official plan whose nature labels fill the gaps (see ``label``).
    natures_from: Plan | None = None

    def label(self, kind: str, code: str) -> str:
        """The label of a nature (``kind`` "nature") or function code.

        An official plan gives its own label or "". A partial plan (transcribed labels) gives, in
        order: its own label; for a nature, the label of the same account in the official plan of
        ``natures_from`` (M52: the natures of M57, M14 and M71 share the numbering of the plan
        comptable général, and M57 was derived from M52); else the label of the nearest labelled
        parent code, saying which code it details (« Subventions (compte 6574) »)."""
        if not code:
            return ""
        own, borrowed = self._tables(kind)
        if code in own or code in borrowed or self.complete:
            return own.get(code) or borrowed.get(code, "")
        for end in range(len(code) - 1, 0, -1):
            parent = own.get(code[:end]) or borrowed.get(code[:end])
            if parent:
                return f"{parent} ({'compte' if kind == 'nature' else 'sous-fonction'} {code})"
        return ""

    def knows(self, kind: str, code: str) -> bool:
        """Whether ``code`` has a label of its own (not one borrowed from a parent code)."""
        own, borrowed = self._tables(kind)
        return code in own or code in borrowed

    def _tables(self, kind: str) -> tuple[dict[str, str], dict[str, str]]:
        own = self.natures if kind == "nature" else self.functions
        borrowed = self.natures_from.natures if kind == "nature" and self.natures_from else {}
        return own, borrowed


@dataclass
class PlanFile:
    norme: str
    declinaison: str
    year: str
    plan: Plan


def _folder() -> Path:
    return Path(settings.SHARED_DIR) / "standards" / "budget-nomenclature"


def parse_plan(data: bytes, source: str = "") -> PlanFile:
    """An ODM plan de compte XML (``<Nomenclature Norme="M52" Declinaison=… Exer=…>`` with
    ``Nature/Chapitres/Chapitre``, ``Nature/Comptes/Compte`` and ``Fonction/…/RefFonc``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PlanError(f"Plan de compte XML illisible : {exc}.") from exc
    if root.tag.rsplit("}", 1)[-1] != "Nomenclature":
        raise PlanError(f"Ce fichier XML n'est pas un plan de compte (racine « {root.tag} », « Nomenclature » attendu).")
    norme = (root.get("Norme") or "").upper()
    if norme not in NOMENCLATURES:
        raise PlanError(f"Norme « {norme} » du plan de compte non prise en charge (attendu : {', '.join(NOMENCLATURES)}).")
    natures: dict[str, str] = {}
    functions: dict[str, str] = {}
    sections: dict[tuple[str, str], str] = {}
    nature = root.find("Nature")
    if nature is not None:
        chapter_sections = {}
        for el in nature.iter("Chapitre"):
            natures.setdefault(el.get("Code"), el.get("Libelle", ""))
            chapter_sections[el.get("Code")] = el.get("Section", "")
        for el in nature.iter("Compte"):
            natures[el.get("Code")] = el.get("Libelle", "")
            for sens, attr in (("D", "DR"), ("R", "RR")):
                letter = chapter_sections.get(el.get(attr) or "")
                if letter:
                    sections[(el.get("Code"), sens)] = letter
    fonction = root.find("Fonction")
    if fonction is not None:
        for el in fonction.iter("Chapitre"):
            functions.setdefault(el.get("Code"), el.get("Libelle", ""))
        for el in fonction.iter("RefFonc"):
            functions[el.get("Code")] = el.get("Libelle", "")
    if not natures:
        raise PlanError("Plan de compte sans aucune nature (éléments Nature/Comptes/Compte attendus).")
    return PlanFile(norme, root.get("Declinaison", ""), root.get("Exer", ""),
                    Plan(natures, functions, sections, complete=True, source=source))


def _labels(nomenclature: str) -> Plan | None:
    path = Path(__file__).parent / "labels" / f"{nomenclature}.csv"
    if not path.is_file():
        return None
    natures: dict[str, str] = {}
    functions: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            (natures if row["type"] == "nature" else functions)[row["code"]] = row["libelle"]
    return Plan(natures, functions, complete=False, source=f"libellés partiels ({path.name})")


def storage_name(nomenclature: str) -> str:
    return f"{STORAGE_DIR}/{nomenclature}.xml"


_checked: dict[str, tuple[float, str]] = {}


def _loaded_token(nomenclature: str) -> str:
    """A token that changes when a plan is loaded for ``nomenclature`` ("" if none); the storage is
    asked at most every ``RECHECK_S`` seconds per process."""
    from django.core.files.storage import default_storage

    now = time.monotonic()
    hit = _checked.get(nomenclature)
    if hit and now - hit[0] < RECHECK_S:
        return hit[1]
    name = storage_name(nomenclature)
    token = ""
    if default_storage.exists(name):
        token = f"{default_storage.size(name)}:{default_storage.get_modified_time(name).timestamp()}"
    _checked[nomenclature] = (now, token)
    return token


def forget_loaded() -> None:
    """Look for loaded plans again on the next call (after ``load-plan`` in this process)."""
    _checked.clear()
    _plan.cache_clear()


def plan(nomenclature: str) -> Plan | None:
    """The plan de compte of ``nomenclature`` (codes → labels), or None when nothing is known."""
    if nomenclature not in NOMENCLATURES:
        return None
    return _plan(nomenclature, _loaded_token(nomenclature), str(settings.SHARED_DIR))


@functools.lru_cache(maxsize=16)
def _plan(nomenclature: str, token: str, shared_dir: str) -> Plan | None:
    if token:
        from django.core.files.storage import default_storage

        with default_storage.open(storage_name(nomenclature), "rb") as handle:
            return parse_plan(handle.read(), source="plan de compte chargé").plan
    name = PLAN_FILES.get(nomenclature)
    path = Path(shared_dir) / "standards" / "budget-nomenclature" / (name or "")
    if name and path.is_file():
        return parse_plan(path.read_bytes(), source=name).plan
    partial = _labels(nomenclature)
    if partial is not None and nomenclature != "M52":
        official = _plan("M52", _loaded_token("M52"), shared_dir)
        if official is not None and official.complete:
            partial.natures_from = official
            partial.source += f" et natures du plan officiel M52 ({official.source})"
    return partial


def load_plan_file(data: bytes, file_name: str = "") -> PlanFile:
    """Check an official plan de compte and keep it in the file storage: from now on imports of
    its nomenclature check codes and take labels and sections from it."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    parsed = parse_plan(data, source=file_name)
    name = storage_name(parsed.norme)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(data))
    forget_loaded()
    return parsed


def function_root_label(nomenclature: str, code: str) -> tuple[str, str]:
    """The top-level function (first digit) of ``code`` and its label, for drill-down."""
    root = (code or "")[:1]
    p = plan(nomenclature)
    return root, (p.functions.get(root, "") if p else "")
