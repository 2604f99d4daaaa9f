"""Pure parsers for SCDL subventions and SCDL budget rows: raw text in, normalised record or
French reasons out. No Django model here."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from regio.core.text import normalize_text
from regio.finance import nomenclature

SPACES = " \u00a0\u202f"
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_siret(value: str, label: str, *, required: bool) -> tuple[str, str | None]:
    """``(normalised SIRET, French error or None)``. La Poste's establishments (SIREN 356000000)
    follow a different rule (sum of digits multiple of 5), accepted as INSEE documents."""
    siret = re.sub(rf"[{SPACES}.]", "", value or "")
    if not siret:
        return "", (f"{label} : SIRET manquant." if required else None)
    if not siret.isdigit() or len(siret) != 14:
        return siret, f"{label} : SIRET « {value} » invalide (14 chiffres attendus)."
    if siret.startswith("356000000"):
        ok = sum(int(c) for c in siret) % 5 == 0
    else:
        ok = luhn_ok(siret)
    if not ok:
        return siret, f"{label} : SIRET « {value} » invalide (clé de contrôle de Luhn incorrecte)."
    return siret, None


def parse_amount(value: str) -> Decimal | None:
    """French or international number: ``137 825,00``, ``2400.0``, ``1.234,56``. None if unreadable."""
    text = (value or "").strip().replace("€", "").strip()
    for ch in SPACES:
        text = text.replace(ch, "")
    if "," in text and "." in text:
        # the last separator is the decimal one, the other groups thousands
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "")
        else:
            text = text.replace(",", "")
    if not _NUMBER.match(text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1")))


def parse_date(value: str) -> date | None:
    text = (value or "").strip()[:10]
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def row_hash(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class Parsed:
    record: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    amount_cents: int | None = None
    year: int | None = None


def _get(raw: dict[str, str], *names: str) -> str:
    """First non-empty value among ``names`` (column names are matched case-insensitively:
    ``lowered`` rows from :func:`lower_keys`)."""
    for name in names:
        value = raw.get(name.lower())
        if value:
            return value
    return ""


def lower_keys(raw: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in raw.items()}


SUBSIDY_REQUIRED = ("nomAttribuant", "idAttribuant", "dateConvention", "nomBeneficiaire", "objet", "montant")


def missing_subsidy_columns(columns: list[str]) -> list[str]:
    lowered = {c.lower() for c in columns}
    return [c for c in SUBSIDY_REQUIRED if c.lower() not in lowered]


def parse_subsidy(raw: dict[str, str]) -> Parsed:
    raw = lower_keys(raw)
    out = Parsed()
    reasons = out.reasons
    grantor_siret, err = check_siret(_get(raw, "idAttribuant"), "Attribuant", required=True)
    if err:
        reasons.append(err)
    beneficiary_siret, err = check_siret(_get(raw, "idBeneficiaire"), "Bénéficiaire", required=False)
    if err:
        reasons.append(err)
    grantor_name = _get(raw, "nomAttribuant")
    beneficiary_name = _get(raw, "nomBeneficiaire")
    if not grantor_name:
        reasons.append("Nom de l'attribuant manquant.")
    if not beneficiary_name:
        reasons.append("Nom du bénéficiaire manquant.")
    amount_text = _get(raw, "montant")
    amount = parse_amount(amount_text)
    if not amount_text:
        reasons.append("Montant manquant.")
    elif amount is None:
        reasons.append(f"Montant « {amount_text} » illisible (nombre attendu, ex. 1234,56 ou 1234.56).")
    else:
        out.amount_cents = to_cents(amount)
        if amount < 0:
            reasons.append(f"Montant négatif ({amount_text}) : une subvention attribuée est positive.")
        elif amount == 0:
            reasons.append("Montant nul : une subvention attribuée est positive.")
    date_text = _get(raw, "dateConvention")
    decision = parse_date(date_text)
    if not date_text:
        reasons.append("Date de convention manquante.")
    elif decision is None:
        reasons.append(f"Date de convention « {date_text} » illisible (AAAA-MM-JJ, AAAA/MM/JJ ou JJ/MM/AAAA attendu).")
    else:
        out.year = decision.year
    percentage_text = _get(raw, "pourcentageSubvention")
    percentage = parse_amount(percentage_text) if percentage_text else None
    out.record = {
        "grantor_name": grantor_name[:255],
        "grantor_siret": grantor_siret,
        "beneficiary_name": beneficiary_name[:255],
        "beneficiary_name_search": normalize_text(beneficiary_name)[:255],
        "beneficiary_siret": beneficiary_siret,
        "beneficiary_rna": _get(raw, "rnaBeneficiaire")[:10],
        "object": _get(raw, "objet"),
        "amount_cents": out.amount_cents,
        "decision_date": decision,
        "decision_reference": _get(raw, "referenceDecision")[:255],
        "nature": _get(raw, "nature")[:120],
        "conditions": _get(raw, "conditionsVersement"),
        "payment_period": _get(raw, "datesPeriodeVersement")[:60],
        "percentage": float(percentage) if percentage is not None else None,
        "year": out.year,
    }
    out.record["row_hash"] = row_hash(
        "subvention", grantor_siret, beneficiary_siret, beneficiary_name, out.record["object"], amount_text,
        date_text, out.record["decision_reference"], out.record["nature"],
    )
    return out


BUDGET_REQUIRED = ("BGT_NATDEC", "BGT_ANNEE", "BGT_SIRET", "BGT_NOM", "BGT_NATURE", "BGT_SECTION", "BGT_CODRD")
BUDGET_TYPES = ("budget primitif", "budget supplémentaire", "décision modificative", "compte administratif")
# BGT_OPBUDG: « réel » or « ordre » in the schema; TOTEM's 0 / 1 and unaccented spellings are read too.
# Empty means the file does not say (DGFiP balances without their « ordre » columns, older files).
OPERATION_SPELLINGS = {"reel": "réel", "reelle": "réel", "reelles": "réel", "0": "réel", "ordre": "ordre", "d ordre": "ordre", "1": "ordre"}


def missing_budget_columns(columns: list[str]) -> list[str]:
    lowered = {c.lower() for c in columns}
    return [c for c in BUDGET_REQUIRED if c.lower() not in lowered]


def _amount_field(raw: dict[str, str], budget_type: str) -> tuple[str, str]:
    names = ("BGT_MTREAL",) if budget_type == "compte administratif" else ()
    names += ("BGT_MTPREV", "BGT_CREDOUV", "BGT_MTPROPNOUV", "BGT_MTREAL")
    for name in names:
        value = _get(raw, name)
        if value:
            return name, value
    return "", ""


def parse_budget(raw: dict[str, str], default_nomenclature: str) -> Parsed:
    raw = lower_keys(raw)
    out = Parsed()
    reasons = out.reasons
    budget_type = _get(raw, "BGT_NATDEC").lower()
    if budget_type not in BUDGET_TYPES:
        reasons.append(f"Type de budget « {budget_type} » inconnu (attendu : {', '.join(BUDGET_TYPES)}).")
    year_text = _get(raw, "BGT_ANNEE")
    if re.fullmatch(r"\d{4}", year_text):
        out.year = int(year_text)
    else:
        reasons.append(f"Exercice « {year_text} » illisible (année sur 4 chiffres attendue).")
    siret, err = check_siret(_get(raw, "BGT_SIRET"), "Collectivité", required=True)
    if err:
        reasons.append(err)
    section = _get(raw, "BGT_SECTION").lower()
    if section not in ("fonctionnement", "investissement"):
        reasons.append(f"Section « {section} » inconnue (fonctionnement ou investissement).")
    direction = _get(raw, "BGT_CODRD").lower()
    if direction not in ("dépense", "recette"):
        reasons.append(f"Sens « {direction} » inconnu (dépense ou recette).")
    nomen = (_get(raw, "BGT_NOMENCLATURE", "NOMENCLATURE") or default_nomenclature).upper()
    nature_code = _get(raw, "BGT_CONTNAT") or _get(raw, "BGT_NATURE")
    function_code = _get(raw, "BGT_FONCTION")
    nature_label = _get(raw, "BGT_CONTNAT_LABEL") or _get(raw, "BGT_NATURE_LABEL")
    function_label = _get(raw, "BGT_FONCTION_LABEL")
    if nomen not in nomenclature.NOMENCLATURES:
        reasons.append(f"Nomenclature « {nomen} » inconnue (attendu : {', '.join(nomenclature.NOMENCLATURES)}).")
    else:
        plan = nomenclature.plan(nomen)
        if plan is not None and not plan.complete:  # partial labels: label only, codes not checked
            nature_label = nature_label or plan.label("nature", nature_code)
            function_label = function_label or plan.label("fonction", function_code)
        elif plan is not None:
            if nature_code not in plan.natures:
                reasons.append(f"Code nature « {nature_code} » inconnu dans la nomenclature {nomen}.")
            else:
                nature_label = plan.natures[nature_code]
            if function_code:
                if function_code not in plan.functions:
                    reasons.append(f"Code fonction « {function_code} » inconnu dans la nomenclature {nomen}.")
                else:
                    function_label = plan.functions[function_code]
    operation_text = _get(raw, "BGT_OPBUDG")
    operation = OPERATION_SPELLINGS.get(normalize_text(operation_text), "") if operation_text else ""
    if operation_text and not operation:
        reasons.append(f"Type d'opération « {operation_text} » inconnu (réel ou ordre).")
    field_name, amount_text = _amount_field(raw, budget_type)
    amount = parse_amount(amount_text) if amount_text else None
    if amount is None:
        reasons.append(f"Montant « {amount_text} » illisible (nombre attendu)." if amount_text else "Montant manquant.")
    else:
        out.amount_cents = to_cents(amount)
        if amount < 0:
            reasons.append(f"Montant négatif ({amount_text}).")
    out.record = {
        "collectivite_siret": siret,
        "collectivite_name": _get(raw, "BGT_NOM")[:255],
        "year": out.year,
        "budget_type": budget_type,
        "nomenclature": nomen[:10],
        "section": section,
        "operation": operation,
        "direction": direction,
        "function_code": function_code[:12],
        "function_label": function_label[:255],
        "nature_code": nature_code[:12],
        "nature_label": nature_label[:255],
        "amount_cents": out.amount_cents,
    }
    out.record["row_hash"] = row_hash(
        # the file's own text, so that re-importing a file imported before it was normalised changes nothing
        "budget", siret, year_text, budget_type, nomen, section, direction, operation_text[:8],
        function_code, nature_code, field_name, amount_text, _get(raw, "BGT_OPERATION"),
    )
    return out
