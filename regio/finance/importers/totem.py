"""TOTEM budget documents (XML ``DocumentBudgetaire``, the format collectivités file with the
DGFiP/préfecture), turned into SCDL-budget-like rows so that the same checks (codes of the
nomenclature, amounts, duplicates, balance) and the same French reasons apply.

Structure read (element names of the DocumentBudgetaire schema; every value is in a ``V``
attribute; the namespace is ignored)::

    DocumentBudgetaire
      EnTeteDocBudgetaire: LibelleColl, IdColl (SIRET)
      Budget
        EnTeteBudget: LibelleEtab, IdEtab (SIRET of the establishment), Nomenclature ("M52-M52", "M14-M14_COM_SUP3500", "M57-M57")
        BlocBudget: NatDec (01 primitif, 02 décision modificative, 03 supplémentaire, 09 compte administratif), Exer
        LigneBudget*: Nature (article), Fonction, ContNat, ArtSpe, CodRD (D/R), OpBudg (0 réel, 1 ordre),
                      MtBudgPrec, MtRARPrec, MtPropNouv, MtPrev, CredOuv, MtReal, MtRAR3112

The section (fonctionnement / investissement) is not in the line: it is that of the nature's
chapter in the plan de compte (``Compte DR/RR`` → ``Chapitre Section``) when an official plan is
available (M52 in the reference data, or any plan loaded with ``regio finance load-plan``),
otherwise the class of the account (1, 2 → investissement; 6, 7 → fonctionnement)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

NAT_DEC = {"01": "budget primitif", "02": "décision modificative", "03": "budget supplémentaire", "09": "compte administratif"}


class TotemError(ValueError):
    """The file is not a readable DocumentBudgetaire (French message)."""


def looks_like_totem(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    return b"<DocumentBudgetaire" in head


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _values(element) -> dict[str, str]:
    """``{child name: V}`` of an element's direct children."""
    return {_local(child.tag): (child.get("V") or "").strip() for child in element}


def section_of(nature: str, sens: str, nomenclature: str) -> str:
    from regio.finance.nomenclature import plan

    p = plan(nomenclature)
    letter = p.sections.get((nature, sens), "") if p is not None else ""
    if not letter:
        letter = {"1": "I", "2": "I", "6": "F", "7": "F"}.get(nature[:1], "")
    return {"F": "fonctionnement", "I": "investissement"}.get(letter, "")


def _nonzero(value: str) -> str:
    try:
        return value if value and float(value) != 0 else ""
    except ValueError:
        return value


def read_document(path: Path) -> tuple[dict, Iterator[tuple[int, dict[str, str]]], dict]:
    """``(header, rows, stats)``: rows are ``(line number, SCDL budget raw row)`` for every
    LigneBudget with a non-zero amount (``stats["zero_lines"]`` counts the others)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise TotemError(f"Document budgétaire XML illisible : {exc}.") from exc
    if _local(root.tag) != "DocumentBudgetaire":
        raise TotemError(f"Ce fichier XML n'est pas un document budgétaire TOTEM (racine « {_local(root.tag)} »).")
    children = {_local(c.tag): c for c in root}
    head = _values(children["EnTeteDocBudgetaire"]) if "EnTeteDocBudgetaire" in children else {}
    budget = children.get("Budget")
    if budget is None:
        raise TotemError("Document budgétaire sans élément Budget.")
    parts = {_local(c.tag): c for c in budget}
    entete = _values(parts["EnTeteBudget"]) if "EnTeteBudget" in parts else {}
    bloc = _values(parts["BlocBudget"]) if "BlocBudget" in parts else {}
    nomenclature = (entete.get("Nomenclature") or "").split("-")[0].upper()
    header = {
        "siret": head.get("IdColl") or entete.get("IdEtab") or "",
        "name": head.get("LibelleColl") or entete.get("LibelleEtab") or "",
        "nomenclature": nomenclature,
        "nomenclature_full": entete.get("Nomenclature", ""),
        "year": bloc.get("Exer", ""),
        "nat_dec": bloc.get("NatDec", ""),
        "budget_type": NAT_DEC.get(bloc.get("NatDec", ""), bloc.get("NatDec", "")),
    }
    stats = {"zero_lines": 0, "lines": 0}
    lines = [c for c in budget if _local(c.tag) == "LigneBudget"]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for n, element in enumerate(lines, start=1):
            stats["lines"] += 1
            v = _values(element)
            is_ca = header["nat_dec"] == "09"
            amounts = {
                "BGT_MTREAL": v.get("MtReal", "") if is_ca else _nonzero(v.get("MtReal", "")),
                "BGT_MTPREV": "" if is_ca else _nonzero(v.get("MtPrev", "")),
                "BGT_CREDOUV": "" if is_ca else _nonzero(v.get("CredOuv", "")),
                "BGT_MTPROPNOUV": "" if is_ca else _nonzero(v.get("MtPropNouv", "")),
            }
            if not any(_nonzero(a) for a in amounts.values()):
                stats["zero_lines"] += 1
                continue
            sens = v.get("CodRD", "").upper()
            yield n, {
                "BGT_NATDEC": header["budget_type"],
                "BGT_ANNEE": header["year"],
                "BGT_SIRET": header["siret"],
                "BGT_NOM": header["name"],
                "BGT_NOMENCLATURE": header["nomenclature"],
                "BGT_NATURE": v.get("Nature", ""),
                "BGT_FONCTION": v.get("Fonction", ""),
                "BGT_SECTION": section_of(v.get("Nature", ""), sens, header["nomenclature"]),
                "BGT_OPBUDG": {"0": "réel", "1": "ordre"}.get(v.get("OpBudg", ""), v.get("OpBudg", "")),
                "BGT_CODRD": {"D": "dépense", "R": "recette"}.get(sens, sens),
                "BGT_OPERATION": f"ContNat={v.get('ContNat', '')};ArtSpe={v.get('ArtSpe', '')}",
                **{k: a for k, a in amounts.items() if a},
            }

    return header, rows(), stats
