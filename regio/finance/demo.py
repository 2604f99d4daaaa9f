"""Demo: the real SCDL subsidy files of ``../shared/standards`` (Somme, Haute-Garonne, the SCDL
valid example) imported for collectivités of the demo région, and a demo budget built from the
real M52 nomenclature. Idempotent (a file already imported changes nothing).

The real samples come from other départements: they are attributed to demo collectivités and the
beneficiaries' communes are drawn among the communes of the grantor's territory (said in the UI)."""

from __future__ import annotations

import csv
import hashlib
import tempfile
from pathlib import Path

from django.conf import settings

from regio.accounts.models import Organisation
from regio.territory.models import Commune
from regio.territory.selectors import platform_region

from . import services
from .models import BudgetLine, ImportBatch

SAMPLES = [
    ("real/DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv", "departement", 0),
    ("real/SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", "departement", 1),
    ("exemple_valide.csv", "region", 0),
]


def _folder() -> Path:
    return Path(settings.SHARED_DIR) / "standards" / "schemas" / "scdl-subventions"


def demo_organisations() -> dict[str, list[Organisation]]:
    region = platform_region()
    if region is None:
        return {}
    return {
        "region": list(Organisation.objects.filter(kind="region", region=region)),
        "departement": list(Organisation.objects.filter(kind="departement", departement__region=region).order_by("departement_id")),
        "epci": list(Organisation.objects.filter(kind="epci", epci__region=region).order_by("-epci__population")[:3]),
    }


def territory_resolver(org: Organisation):
    """Beneficiaries placed deterministically among the communes of ``org``'s territory (demo only)."""
    qs = Commune.objects.filter(is_active=True)
    if org.kind == "departement":
        qs = qs.filter(departement=org.departement)
    elif org.kind == "epci":
        qs = qs.filter(epci=org.epci)
    elif org.kind == "region":
        qs = qs.filter(region=org.region)
    codes = list(qs.order_by("code").values_list("code", flat=True))

    real = services.default_resolver()

    def resolve(record: dict) -> str | None:
        found = real(record)
        if found:
            return found
        if not codes:
            return None
        key = record.get("beneficiary_siret") or record.get("beneficiary_name_search") or ""
        return codes[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(codes)]

    return resolve


def demo_budget_csv(org: Organisation, year: int, folder: Path) -> Path:
    """A balanced M52 budget (real nature/function codes and labels, demo amounts)."""
    siret = _luhn_fix(_demo_siren(org) + "0001")
    scale = 1 + (year - 2021) * 0.03
    lines = [
        # section, sens, nature, fonction, amount (k€)
        ("fonctionnement", "dépense", "6574", "311", 8200), ("fonctionnement", "dépense", "6411", "0202", 52000),
        ("fonctionnement", "dépense", "6512", "51", 61000), ("fonctionnement", "dépense", "65111", "562", 70000),
        ("fonctionnement", "dépense", "6568", "32", 6100), ("fonctionnement", "dépense", "6231", "023", 900),
        ("fonctionnement", "dépense", "023", "01", 31800),
        ("fonctionnement", "recette", "73111", "01", 120000), ("fonctionnement", "recette", "7411", "01", 80000),
        ("fonctionnement", "recette", "7478", "51", 30000),
        ("investissement", "dépense", "2313", "221", 26000), ("investissement", "dépense", "23151", "621", 24000),
        ("investissement", "dépense", "204142", "74", 5800),
        ("investissement", "recette", "021", "01", 31800), ("investissement", "recette", "1641", "01", 16000),
        ("investissement", "recette", "10222", "01", 8000),
    ]
    path = folder / f"budget-{org.slug}-{year}.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, delimiter=";")
        w.writerow(["BGT_NATDEC", "BGT_ANNEE", "BGT_SIRET", "BGT_NOM", "BGT_CONTNAT", "BGT_CONTNAT_LABEL", "BGT_NATURE",
                    "BGT_NATURE_LABEL", "BGT_FONCTION", "BGT_FONCTION_LABEL", "BGT_SECTION", "BGT_OPBUDG", "BGT_CODRD", "BGT_MTPREV"])
        for section, sens, nature, fonction, k in lines:
            amount = round(k * 1000 * scale, 2) if nature not in ("023", "021") else round(31800 * 1000 * scale, 2)
            operation = "ordre" if nature in ("023", "021") else "réel"  # the virement between sections moves no money
            w.writerow(["budget primitif", year, siret, org.name, nature, "", nature[:2], "", fonction, "", section, operation,
                        sens, f"{amount:.2f}".replace(".", ",")])
    return path


LILLE_SIRET = "21590350100017"  # Hôtel de ville de Lille: SIREN 215903501 (INSEE numbering 21 + 59 + 0 + 350 + key)

# (compte, fonction M14, débit k€, crédit k€): real M14 accounts and functions, demo amounts
DEMO_BALANCE = [
    ("6411", "020", 61000, 0), ("6411", "212", 38000, 0), ("6411", "411", 14500, 0), ("6411", "822", 17200, 0),
    ("6413", "64", 9800, 0), ("6451", "020", 21500, 0), ("60611", "813", 2100, 0), ("60612", "814", 6400, 0),
    ("611", "812", 24800, 0), ("611", "251", 12600, 0), ("6574", "025", 9100, 0), ("6574", "33", 7600, 0),
    ("6574", "40", 5200, 0), ("657362", "520", 18700, 0), ("66111", "01", 7300, 0), ("6231", "023", 1200, 0),
    ("73111", "01", 0, 151200), ("7411", "01", 0, 61800), ("74123", "01", 0, 17900), ("7066", "64", 0, 3100),
    ("7067", "251", 0, 5400), ("752", "71", 0, 2600),
    ("2313", "212", 18200, 0), ("2313", "411", 9700, 0), ("2152", "822", 12400, 0), ("2183", "020", 3100, 0),
    ("2042", "72", 2500, 0), ("1641", "01", 30500, 25000), ("10222", "01", 0, 6900), ("1021", "01", 0, 1200),
    ("4011", "", 98000, 97500), ("515", "", 350000, 349000),  # tiers and treasury: not budget lines
]


def demo_balance_csv(folder: Path, year: int = 2021) -> Path:
    """A DGFiP account balance (``;``, decimal points, the columns of the DGFiP's open dataset with
    the crossed nature–function presentation) for the commune of Lille: real SIRET, M14 accounts
    and functions, demo amounts."""
    path = folder / f"balance-dgfip-lille-{year}.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, delimiter=";")
        w.writerow(["exer", "ident", "ndept", "lbudg", "insee", "cbudg", "ctype", "cstyp", "nomen", "siren", "cregi",
                    "categ", "compte", "fonction", "obnetdeb", "obnetcre", "onbdeb", "onbcre", "sd", "sc"])
        for compte, fonction, debit, credit in DEMO_BALANCE:
            budgetary = compte[:1] in "1267"
            d, c = (debit * 1000, credit * 1000) if budgetary else (0, 0)
            nd, nc = (0, 0) if budgetary else (debit * 1000, credit * 1000)
            w.writerow([year, LILLE_SIRET, "059", "COMMUNE DE LILLE", "350", "1", "101", "00", "M14", LILLE_SIRET[:9],
                        "032", "Commune", compte, fonction, f"{d:.2f}", f"{c:.2f}", f"{nd:.2f}", f"{nc:.2f}",
                        f"{max(d + nd - c - nc, 0):.2f}", f"{max(c + nc - d - nd, 0):.2f}"])
    return path


def _grantor_org(path: Path) -> Organisation | None:
    """The organisation of the demo région whose SIREN is the file's grantor (the Somme file is
    really from the Département de la Somme, in région 32)."""
    from .importers.reader import read_rows

    _, rows = read_rows(path)
    for _, raw in rows:
        org = services.organisation_of_siren((raw.get("idAttribuant") or "")[:9])
        return org if org is not None and org.region_id == getattr(platform_region(), "code", None) else None
    return None


def _demo_siren(org: Organisation) -> str:
    """The organisation's SIREN, else the INSEE numbering of collectivités (``22DD0001k`` for a
    département, ``23RR0000k`` for a région — the latter is a demo identifier)."""
    if org.siren:
        return org.siren
    if org.kind == "departement":
        return _luhn_fix(f"22{org.departement_id}0001"[:8])
    return _luhn_fix(f"23{org.region_id}0000"[:8])


def _luhn_fix(base13: str) -> str:
    from .importers.scdl import luhn_ok

    for d in "0123456789":
        if luhn_ok(base13 + d):
            return base13 + d
    return base13 + "0"


def load_demo(out) -> None:
    orgs = demo_organisations()
    if not orgs:
        out.write("  finances : pas de région de démonstration chargée, étape ignorée\n")
        return
    for rel, kind, index in SAMPLES:
        candidates = orgs.get(kind) or []
        org = _grantor_org(_folder() / rel) or (candidates[index] if len(candidates) > index else None)
        if org is None:
            continue
        batch = services.run_import(
            "subventions", _folder() / rel, organisation=org, origin=ImportBatch.Origin.DEMO, is_demo=True,
            resolver=territory_resolver(org), check_permission=False, publish=False,
        )
        out.write(f"  subventions : {rel} → {org.name} ({batch.rows_imported} importées, {batch.rows_quarantined} en quarantaine)\n")
    budget_orgs = (orgs.get("region") or [])[:1] + (orgs.get("departement") or [])[:3]
    # demo budgets loaded before the virement 023/021 was flagged « ordre »: their lines differ from the
    # new file's, so they would stay beside them and count twice
    BudgetLine.objects.filter(is_demo=True, nature_code__in=("023", "021")).exclude(operation="ordre").delete()
    with tempfile.TemporaryDirectory(prefix="regio-finance-demo-") as tmp:
        for org in budget_orgs:
            for year in (2021, 2022, 2023):
                batch = services.run_import(
                    "budget", demo_budget_csv(org, year, Path(tmp)), organisation=org, origin=ImportBatch.Origin.DEMO,
                    nomenclature="M52", is_demo=True, check_permission=False, publish=False,
                )
            out.write(f"  budget M52 de démonstration : {org.name} (2021–2023)\n")
    lille = Organisation.objects.filter(kind=Organisation.Kind.COMMUNE, commune_id="59350").first()
    if lille is not None:
        with tempfile.TemporaryDirectory(prefix="regio-finance-demo-") as tmp:
            batch = services.run_import(
                "budget", demo_balance_csv(Path(tmp)), organisation=lille, origin=ImportBatch.Origin.DEMO,
                is_demo=True, check_permission=False, publish=False, siren=LILLE_SIRET[:9],
            )
        out.write(f"  balance comptable DGFiP de démonstration : {lille.name} 2021 ({batch.rows_imported} lignes)\n")
    services.publish_consolidated()
    out.write("  jeu de données « Subventions consolidées du territoire » publié\n")
