"""Imports of the real SCDL files: every bad-input case of the issue, with its French reason."""

from pathlib import Path

import pytest

from regio.finance import services
from regio.finance.importers.scdl import check_siret, luhn_ok, parse_amount, parse_date
from regio.finance.models import BudgetLine, ImportBatch, QuarantinedRow, Subsidy

from .conftest import somme_variant

pytestmark = pytest.mark.django_db


def run(kind, path, org, **kw):
    kw.setdefault("publish", False)
    return services.run_import(kind, path, organisation=org, origin=ImportBatch.Origin.CLI, check_permission=False, **kw)


def test_siret_luhn():
    assert luhn_ok("22800001400016")  # Département de la Somme
    assert check_siret("22800001400016", "Attribuant", required=True) == ("22800001400016", None)
    assert check_siret("21860194600000", "Attribuant", required=True)[1] == (
        "Attribuant : SIRET « 21860194600000 » invalide (clé de contrôle de Luhn incorrecte)."
    )
    assert "14 chiffres attendus" in check_siret("218601946", "Attribuant", required=True)[1]
    assert check_siret("35600000000047", "Bénéficiaire", required=False)[1] is None  # La Poste rule


def test_amount_and_date_parsing():
    assert parse_amount("137 825,00") == parse_amount("137825.00") == parse_amount("137\u202f825,00")
    assert parse_amount("1.234,56") * 100 == 123456
    assert parse_amount("12 abc") is None
    assert parse_date("2018/01/30").isoformat() == "2018-01-30"
    assert parse_date("05/12/2016").isoformat() == "2016-12-05"
    assert parse_date("30 janvier") is None


def test_somme_windows_1252_decimal_comma_french_dates(somme, dep80):
    batch = run("subventions", somme, dep80)
    assert (batch.rows_read, batch.rows_imported, batch.rows_quarantined) == (11, 11, 0)
    first = Subsidy.objects.filter(batch=batch, object__startswith="Réalisation de la phase 2").order_by("line").first()
    assert first.amount_cents == 13_782_500  # "137 825,00"
    assert first.decision_date.isoformat() == "2018-01-30"  # "2018/01/30"
    assert first.beneficiary_name == "CHEMIN DE FER BAIE DE SOMME"
    assert first.beneficiary_siret == "32774369600012"
    assert "jusqu’à hauteur de 30%" in first.conditions  # cp1252 apostrophe decoded
    assert first.year == 2018


def test_reimport_same_file_changes_nothing(somme, dep80):
    first = run("subventions", somme, dep80)
    counts = (Subsidy.objects.count(), QuarantinedRow.objects.count(), ImportBatch.objects.count())
    again = run("subventions", somme, dep80)
    assert again.pk == first.pk
    assert again.report["reimport"] == "Ce fichier a déjà été importé : rien n'a changé."
    assert (Subsidy.objects.count(), QuarantinedRow.objects.count(), ImportBatch.objects.count()) == counts


def test_overlapping_file_only_adds_new_lines(somme, dep80, tmp_path):
    run("subventions", somme, dep80)
    # same lines plus one more (the last one with another amount): a different file
    extra = somme_variant(somme, tmp_path / "plus.csv", lambda ls: ls + [ls[-1].replace(";40 000,00;", ";45 000,00;")])
    batch = run("subventions", extra, dep80)
    assert (batch.rows_imported, batch.rows_unchanged) == (1, 11)


def test_invalid_sirets_of_the_real_invalid_example_are_quarantined(scdl_dir, dep80):
    batch = run("subventions", scdl_dir / "exemple_invalide_erreurs_cellules.csv", dep80)
    assert batch.rows_imported == 0
    assert batch.rows_quarantined == batch.rows_read == 29
    row = QuarantinedRow.objects.get(batch=batch, line=2)
    assert "Attribuant : SIRET « 21860194600000 » invalide (clé de contrôle de Luhn incorrecte)." in row.reasons
    row7 = QuarantinedRow.objects.get(batch=batch, line=7)
    assert "Attribuant : SIRET « 218601946 » invalide (14 chiffres attendus)." in row7.reasons
    assert any(r.startswith("Attribuant : SIRET") for r in batch.report["reasons"])


def test_negative_unparsable_amounts_bad_dates_and_duplicates(somme, dep80, tmp_path):
    def edit(lines):
        lines = list(lines)
        lines[1] = lines[1].replace(";137 825,00;", ";-137 825,00;")
        lines[2] = lines[2].replace(";756 283,00;", ";sept cents;")
        lines[3] = lines[3].replace(";2018/02/02;", ";30 janvier 2018;", 1)
        return lines + [lines[5]]  # line 6 repeated at the end
    path = somme_variant(somme, tmp_path / "somme-erreurs.csv", edit)
    batch = run("subventions", path, dep80)
    assert batch.rows_read == 12
    assert batch.rows_imported == 8
    reasons = {q.line: q.reasons for q in batch.quarantine.all()}
    assert reasons[2] == ["Montant négatif (-137 825,00) : une subvention attribuée est positive."]
    assert reasons[3] == ["Montant « sept cents » illisible (nombre attendu, ex. 1234,56 ou 1234.56)."]
    assert reasons[4] == ["Date de convention « 30 janvier 2018 » illisible (AAAA-MM-JJ, AAAA/MM/JJ ou JJ/MM/AAAA attendu)."]
    assert reasons[13] == ["Ligne en double (identique à la ligne 6)."]
    negative = batch.quarantine.get(line=2)
    assert negative.amount_cents == -13_782_500 and negative.year == 2018


def test_missing_columns_refuse_the_whole_file(scdl_dir, dep80):
    with pytest.raises(services.ImportRefused) as exc:
        run("budget", scdl_dir / "exemple_valide.csv", dep80)
    assert str(exc.value).startswith("Colonnes obligatoires absentes du fichier : BGT_NATDEC, BGT_ANNEE")
    assert not ImportBatch.objects.exists()


def test_binary_file_refused(dep80, tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(services.ImportRefused) as exc:
        run("subventions", path, dep80)
    assert "contenu est binaire" in str(exc.value)


def test_commune_beneficiary_resolved_from_its_siren(haute_garonne, somme, dep80, tmp_path):
    """A commune's SIREN gives its INSEE code: Amiens (218000214) is placed in 80021, its EPCI and
    département; Haute-Garonne's communes are outside the loaded région 32: nothing is guessed."""
    path = somme_variant(somme, tmp_path / "amiens.csv", lambda ls: [ls[0], ls[1].replace(";32774369600012;", ";21800021400005;")])
    batch = run("subventions", path, dep80)
    amiens = Subsidy.objects.get(batch=batch)
    assert (amiens.beneficiary_commune_id, amiens.beneficiary_departement_id) == ("80021", "80")
    assert amiens.beneficiary_epci_id == amiens.beneficiary_commune.epci_id != ""
    batch = run("subventions", haute_garonne, dep80)
    assert batch.rows_imported == 68 and batch.rows_quarantined == 1
    assert batch.quarantine.get().reasons == ["Nom du bénéficiaire manquant."]
    assert services.commune_of_siren("218601946") == "86194"
    assert services.commune_of_siren("228000014") is None
    assert not Subsidy.objects.filter(batch=batch, beneficiary_commune__isnull=False).exists()


def test_totals_with_quarantine_carry_a_warning(somme, scdl_dir, dep80):
    from regio.finance import selectors

    run("subventions", somme, dep80)
    assert selectors.quarantine_warning("subventions") is None
    run("subventions", scdl_dir / "exemple_invalide_erreurs_cellules.csv", dep80)
    warning = selectors.quarantine_warning("subventions")
    assert warning["rows"] == 29
    assert warning["message"].startswith("Attention : 29 ligne(s) de ce périmètre ont été mises en quarantaine")


# ------------------------------------------------------------------------------ budgets

HEADER = ("BGT_NATDEC;BGT_ANNEE;BGT_SIRET;BGT_NOM;BGT_CONTNAT;BGT_CONTNAT_LABEL;BGT_NATURE;BGT_NATURE_LABEL;"
          "BGT_FONCTION;BGT_FONCTION_LABEL;BGT_SECTION;BGT_OPBUDG;BGT_CODRD;BGT_MTPREV\n")


def budget_file(tmp_path: Path, rows: list[str], name="budget.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def line(nature, fonction, section, sens, amount, siret="22800001400016", year="2024", natdec="budget primitif", op="réel"):
    return f"{natdec};{year};{siret};Département de la Somme;{nature};;{nature[:2]};;{fonction};;{section};{op};{sens};{amount}"


def test_budget_m52_labels_from_the_real_plan_de_compte(dep80, tmp_path):
    path = budget_file(tmp_path, [
        line("6574", "311", "fonctionnement", "dépense", "1 000,50"),
        line("73111", "01", "fonctionnement", "recette", "1 000,50"),
    ])
    batch = run("budget", path, dep80, nomenclature="M52")
    assert batch.rows_imported == 2 and batch.report["balance"] == []
    dep = BudgetLine.objects.get(direction="dépense")
    assert dep.nature_label == "Subventions de fonctionnement aux associations et autres personnes de droit privé"
    assert dep.function_label == "Activités artistiques et action culturelle"
    assert dep.amount_cents == 100_050


def test_budget_unknown_codes_and_unbalanced_budget(dep80, tmp_path):
    path = budget_file(tmp_path, [
        line("6574", "311", "fonctionnement", "dépense", "5000"),
        line("73111", "01", "fonctionnement", "recette", "4000"),
        line("9999", "311", "fonctionnement", "dépense", "10"),
        line("6574", "777", "fonctionnement", "dépense", "10"),
        line("6574", "311", "fonctionnement", "dépense", "-3"),
        line("6574", "311", "fonctionnement", "dépense", "5000"),
    ])
    batch = run("budget", path, dep80, nomenclature="M52")
    assert batch.rows_imported == 2
    reasons = {q.line: q.reasons for q in batch.quarantine.all()}
    assert reasons[4] == ["Code nature « 9999 » inconnu dans la nomenclature M52."]
    assert reasons[5] == ["Code fonction « 777 » inconnu dans la nomenclature M52."]
    assert reasons[6] == ["Montant négatif (-3)."]
    assert reasons[7] == ["Ligne en double (identique à la ligne 2)."]
    [unbalanced] = batch.report["balance"]
    assert unbalanced["message"] == (
        "Budget non équilibré : budget primitif 2024, section fonctionnement — recettes 4 000,00 € ≠ "
        "dépenses 5 000,00 € (écart -1 000,00 €)."
    )


def test_budget_unknown_nomenclature_refused(dep80, tmp_path):
    path = budget_file(tmp_path, [line("6574", "311", "fonctionnement", "dépense", "5000")])
    with pytest.raises(services.ImportRefused) as exc:
        run("budget", path, dep80, nomenclature="M99")
    assert str(exc.value) == "Nomenclature « M99 » inconnue (attendu : M57, M14, M52, M71)."


def test_budget_m57_without_plan_keeps_the_file_labels(dep80, tmp_path):
    row = "compte administratif;2023;22800001400016;Somme;6574;Subventions;65;Autres charges;311;Culture;fonctionnement;réel;dépense;12,5"
    path = tmp_path / "m57.csv"
    path.write_text(HEADER.replace("BGT_MTPREV", "BGT_MTREAL") + row + "\n", encoding="utf-8")
    batch = run("budget", path, dep80, nomenclature="M57")
    line_ = BudgetLine.objects.get(batch=batch)
    assert (line_.nomenclature, line_.nature_label, line_.function_label, line_.amount_cents) == ("M57", "Subventions", "Culture", 1250)


def _budget_with_ordre(tmp_path):
    """A balanced M52 budget whose virement (023 → 021) and amortissement (6811 → 28031) are
    opérations d'ordre, spelled the ways files spell them."""
    return budget_file(tmp_path, [
        line("6574", "311", "fonctionnement", "dépense", "700"),
        line("023", "01", "fonctionnement", "dépense", "200", op="ordre"),
        line("6811", "01", "fonctionnement", "dépense", "100", op="Ordre"),
        line("73111", "01", "fonctionnement", "recette", "1000", op="Réel"),
        line("2313", "221", "investissement", "dépense", "400", op="0"),
        line("021", "01", "investissement", "recette", "200", op="1"),
        line("28031", "01", "investissement", "recette", "100", op="d'ordre"),
        line("1641", "01", "investissement", "recette", "100", op="reel"),
    ])


def test_budget_operations_read_in_every_spelling_and_unknown_ones_quarantined(dep80, tmp_path):
    path = _budget_with_ordre(tmp_path)
    batch = run("budget", path, dep80, nomenclature="M52")
    assert (batch.rows_imported, batch.rows_quarantined) == (8, 0) and batch.report["balance"] == []
    ops = {(x.nature_code, x.direction): x.operation for x in BudgetLine.objects.all()}
    assert ops == {
        ("6574", "dépense"): "réel", ("023", "dépense"): "ordre", ("6811", "dépense"): "ordre",
        ("73111", "recette"): "réel", ("2313", "dépense"): "réel", ("021", "recette"): "ordre",
        ("28031", "recette"): "ordre", ("1641", "recette"): "réel",
    }
    assert run("budget", path, dep80, nomenclature="M52").pk == batch.pk  # same file again: nothing changes
    bad = budget_file(tmp_path, [line("6574", "311", "fonctionnement", "dépense", "5", op="mixte", year="2025")], name="bad.csv")
    batch = run("budget", bad, dep80, nomenclature="M52")
    assert batch.rows_imported == 0
    assert batch.quarantine.get().reasons == ["Type d'opération « mixte » inconnu (réel ou ordre)."]


def test_budget_page_and_api_count_real_operations_unless_asked(client, dep80, tmp_path):
    run("budget", _budget_with_ordre(tmp_path), dep80, nomenclature="M52")
    params = {"collectivite": "22800001400016", "annee": "2024", "par": "nature"}
    page = client.get("/budgets/", params)
    html = page.content.decode()
    # real operations: 700 + 400 spent, 1,000 + 100 received; the sections balance on all operations
    assert page.context["total_depenses"] == 110_000 and page.context["total_recettes"] == 110_000
    assert "équilibrée" in html and "non équilibrée" not in html and "dont opérations d'ordre" in html
    assert "ne précise" not in html  # every line says whether it is real or ordre
    natures = {row[0]: row[2] for row in page.context["charts"][0]["rows"]}
    assert natures == {"6": "700.00", "2": "400.00"}  # 023 and 6811 are ordre: left out
    every = client.get("/budgets/", {**params, "operations": "toutes"})
    assert every.context["total_depenses"] == 140_000
    assert {row[0]: row[2] for row in every.context["charts"][0]["rows"]} == {"6": "800.00", "2": "400.00", "0": "200.00"}
    evolution = client.get("/budgets/", {**params, "export": "evolution.csv"}).content.decode().splitlines()
    assert evolution[1:] == ["2024,budget primitif,dépense,1100.00", "2024,budget primitif,recette,1100.00"]
    api = client.get("/api/1/finance/budgets/22800001400016/2024").json()
    assert api["operations"] == "reelles"
    assert api["sections"]["fonctionnement"] == {"dépense": 100_000, "recette": 100_000, "dépense_ordre": 30_000, "recette_ordre": 0}
    assert api["sections"]["investissement"] == {"dépense": 40_000, "recette": 40_000, "dépense_ordre": 0, "recette_ordre": 30_000}
    assert sum(g["total"] for g in api["by_nature"]["recette"]) == 110_000
    api = client.get("/api/1/finance/budgets/22800001400016/2024", {"operations": "toutes"}).json()
    assert sum(g["total"] for g in api["by_nature"]["recette"]) == 140_000
    bad = client.get("/api/1/finance/budgets/22800001400016/2024", {"operations": "fictives"})
    assert bad.status_code == 400 and bad.json()["detail"] == "Opérations « fictives » inconnues (attendu : reelles, toutes)."
