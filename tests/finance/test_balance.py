"""DGFiP account balances (balances comptables) through the budget import's checks.

No real balance file is in ../shared (the DGFiP publishes them on data.economie.gouv.fr, one file
per year for every collectivité of France): ``data/balance-dgfip-2021.csv`` was written for these
tests from the documented column layout (``;``, decimal points), with real account codes and the
real SIRET/SIREN of Lille, the Département du Nord and Amiens, and made-up amounts."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from regio.finance import services
from regio.finance.importers import balance
from regio.finance.models import BudgetLine, ImportBatch

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).parent / "data" / "balance-dgfip-2021.csv"
LILLE = "215903501"


def run(path, org, **kw):
    return services.run_import("budget", path, organisation=org, origin=ImportBatch.Origin.CLI, check_permission=False,
                               publish=False, **kw)


def test_nomenclature_of_the_balance():
    assert [balance.nomenclature_of(v) for v in ("M14", "m14a", "M57A", "M52", "M71", "M49", "")] == [
        "M14", "M14", "M57", "M52", "M71", "M49", ""]


def test_lille_balance_mapped_to_a_compte_administratif(lille):
    batch = run(SAMPLE, lille, siren=LILLE)
    assert batch.report["format"] == "Balance comptable DGFiP"
    stats = batch.report["balance_dgfip"]
    assert (stats["lines"], stats["other_collectivites"], stats["non_budget_accounts"], stats["zero_lines"]) == (16, 4, 2, 1)
    assert (batch.rows_read, batch.rows_imported, batch.rows_quarantined) == (11, 8, 3)
    reasons = {q.line: q.reasons for q in batch.quarantine.all()}
    assert reasons[11] == ["Montant « 12a4.00 » illisible (nombre attendu)."]
    assert reasons[12] == ["Ligne en double (identique à la ligne 3)."]
    assert reasons[13] == ["Nomenclature « M49 » inconnue (attendu : M57, M14, M52, M71)."]
    lines = BudgetLine.objects.filter(batch=batch)
    assert {(x.budget_type, x.year, x.collectivite_siret, x.nomenclature) for x in lines} == {
        ("compte administratif", 2021, "21590350100017", "M14")}
    got = {(x.nature_code, x.section, x.direction): x.amount_cents for x in lines}
    assert got == {
        ("6411", "fonctionnement", "dépense"): 18_245_030_025, ("6411", "fonctionnement", "recette"): 120_410,
        ("6574", "fonctionnement", "dépense"): 2_460_000_000, ("73111", "fonctionnement", "recette"): 15_123_000_000,
        ("7411", "fonctionnement", "recette"): 6_180_000_050, ("2313", "investissement", "dépense"): 4_120_000_000,
        ("1641", "investissement", "dépense"): 3_050_000_000, ("1641", "investissement", "recette"): 2_500_000_000,
    }
    assert lines.get(nature_code="6411", direction="dépense").nature_label == "Personnel titulaire"
    assert batch.report["unchecked_codes"] == [
        "Codes M14 non vérifiés : aucun plan de compte officiel M14 n'est chargé (commande « regio finance load-plan "
        "FICHIER ») ; 0 code(s) nature sans libellé propre (libellé du compte parent, ou aucun)."]
    assert run(SAMPLE, lille, siren=LILLE).pk == batch.pk  # same file again: nothing changes
    assert BudgetLine.objects.count() == 8


def test_m52_codes_checked_against_the_real_plan_de_compte(region_org):
    batch = run(SAMPLE, region_org, siren="225900018")
    assert (batch.rows_imported, batch.rows_quarantined) == (2, 1)
    assert batch.quarantine.get().reasons == ["Code nature « 6999 » inconnu dans la nomenclature M52."]
    assert batch.report["unchecked_codes"] == []  # M52: the real plan de compte checks every code
    line = BudgetLine.objects.get(batch=batch, nature_code="6574")
    assert line.nature_label == "Subventions de fonctionnement aux associations et autres personnes de droit privé"


def test_organisation_siren_is_the_default_filter_and_other_collectivites_refused(lille, amiens):
    lille.siren = LILLE
    lille.save(update_fields=["siren"])
    batch = run(SAMPLE, lille)
    assert batch.report["balance_dgfip"]["siren"] == LILLE and batch.rows_imported == 8
    with pytest.raises(services.ImportRefused) as exc:
        run(SAMPLE, amiens, siren="219999999")
    assert str(exc.value) == ("Aucune ligne de cette balance comptable ne concerne le SIREN 219999999 "
                              "(16 ligne(s) lue(s), toutes d'autres collectivités).")
    assert ImportBatch.objects.count() == 1


def test_missing_columns_refused_in_french(lille, tmp_path):
    path = tmp_path / "balance.csv"
    path.write_text("exer;ident;compte;obnetdeb;obnetcre\n2021;21590350100017;6411;1.00;0.00\n", encoding="utf-8")
    with pytest.raises(services.ImportRefused) as exc:
        run(path, lille)
    assert str(exc.value).startswith("Colonnes obligatoires absentes de la balance comptable DGFiP : nomen.")


def test_command_import_balance(lille, capsys):
    call_command("finance", "import-balance", str(SAMPLE), "--siren", LILLE)
    out = capsys.readouterr().out
    assert "8 importées" in out and "3 en quarantaine" in out and "4 ligne(s) d'autres collectivités" in out
    assert "Codes M14 non vérifiés" in out
    batch = ImportBatch.objects.get()
    assert batch.organisation == lille and batch.origin == "cli"
    with pytest.raises(CommandError) as exc:
        call_command("finance", "import-balance", str(SAMPLE), "--siren", "12")
    assert "SIREN « 12 » invalide" in str(exc.value)


def test_same_national_file_for_another_collectivite_is_a_new_import(lille, region_org):
    first = run(SAMPLE, lille, siren=LILLE)
    second = run(SAMPLE, region_org, siren="225900018")
    assert second.pk != first.pk and second.rows_imported == 2
    assert run(SAMPLE, region_org, siren="225900018").pk == second.pk


def test_agent_upload_keeps_the_lines_of_the_organisation_only(client, lille):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from regio.accounts.models import Membership, User

    user = User.objects.create_user("finances@lille.example", "motdepasse-solide-123", is_active=True)
    Membership.objects.create(user=user, organisation=lille, role=Membership.Role.EDITOR, status=Membership.Status.ACTIVE)
    upload = SimpleUploadedFile("balance.csv", SAMPLE.read_bytes())
    with pytest.raises(services.ImportRefused) as exc:
        services.import_upload(user, lille, "budget", upload)
    assert "le SIREN de « Commune de Lille » n'est pas renseigné" in str(exc.value)
    lille.siren = LILLE
    lille.save(update_fields=["siren"])
    batch = services.import_upload(user, lille, "budget", SimpleUploadedFile("balance.csv", SAMPLE.read_bytes()))
    assert batch.rows_imported == 8 and batch.report["balance_dgfip"]["other_collectivites"] == 4
    client.force_login(user)
    page = client.get(f"/budgets/imports/{batch.pk}")
    assert "Balance comptable DGFiP" in page.content.decode() and "4 d'autres collectivités que le SIREN 215903501" in page.content.decode()
    api = client.get("/api/1/finance/budgets/21590350100017/2021?budget_type=compte administratif")
    assert api.status_code == 200, api.content
    data = api.json()
    assert data["sections"]["investissement"] == {
        "dépense": 4_120_000_000 + 3_050_000_000, "recette": 2_500_000_000, "dépense_ordre": 0, "recette_ordre": 0}
    natures = {g["code"]: g for g in data["by_nature"]["dépense"]}
    assert natures["6"]["label"] == "Comptes de charges" and natures["6"]["total"] == 18_245_030_025 + 2_460_000_000


def test_balance_on_the_budgets_page_as_a_two_level_sunburst(client, lille):
    run(SAMPLE, lille, siren=LILLE)
    params = {"collectivite": "21590350100017", "annee": "2021", "type": "compte administratif", "par": "nature"}
    response = client.get("/budgets/", params)
    html = response.content.decode()
    assert response.status_code == 200 and "COMMUNE DE LILLE" in html
    chart = {c["name"]: c for c in response.context["charts"]}["anneaux"]
    rows = chart["rows"]
    assert rows[0][:3] == [1, "6", "Comptes de charges"]  # M14 labels (partial table of the repo)
    level2 = {r[1]: r for r in rows if r[0] == 2}
    assert level2["64"][2] == "Charges de personnel" and level2["64"][3] == "6"
    assert float(level2["64"][4]) + float(level2["65"][4]) == float(rows[0][4])
    assert 'class="finance-chart sunburst"' in chart["svg"] and "code=64" in chart["svg"]
    assert "Diagramme en anneaux des dépenses par nature" in html
    assert "Aucun plan de compte officiel M14 n&#x27;est chargé : les libellés viennent du fichier importé" in html
    csv = client.get("/budgets/", {**params, "export": "anneaux.csv"}).content.decode().splitlines()
    assert csv[0] == "niveau,code,libelle,code_parent,montant_eur,part"


def test_quarantined_balance_line_corrected(lille):
    from regio.accounts.models import Membership, User

    batch = run(SAMPLE, lille, siren=LILLE)
    assert batch.report["nomenclature"] == "M14"
    user = User.objects.create_user("finances@lille.example", "motdepasse-solide-123", is_active=True)
    Membership.objects.create(user=user, organisation=lille, role=Membership.Role.EDITOR, status=Membership.Status.ACTIVE)
    row = batch.quarantine.get(line=11)
    assert row.raw["BGT_NATURE"] == "60611" and row.raw["BGT_NOMENCLATURE"] == "M14"
    obj, reasons = services.correct_quarantined_row(user, row, {**row.raw, "BGT_MTREAL": "1234.00"})
    assert reasons == [] and (obj.nature_code, obj.amount_cents, obj.budget_type) == ("60611", 123_400, "compte administratif")
    assert obj.nature_label == "Eau et assainissement"
    batch.refresh_from_db()
    assert (batch.rows_imported, batch.rows_quarantined) == (9, 2)


def test_ordre_columns_split_each_amount_into_real_and_ordre(lille, tmp_path, client):
    """With the balance's oobdeb / oobcre columns (the ordre part of the net budgetary amounts), each
    amount becomes a real row (net − ordre) and an ordre row."""
    rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    ordre = {"6411": ("45030000.25", "0.00"), "7411": ("0.00", "6180000050.00"), "1641": ("0.00", "0.00")}
    edited = [rows[0] + ";oobdeb;oobcre"]
    for row in rows[1:]:
        account = row.split(";")[16]
        edited.append(row + ";" + ";".join(ordre.get(account, ("0.00", "0.00"))))
    path = tmp_path / "balance-ordre.csv"
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    batch = run(path, lille, siren=LILLE)
    got = {(x.nature_code, x.direction, x.operation): x.amount_cents for x in BudgetLine.objects.filter(batch=batch)}
    assert got[("6411", "dépense", "réel")] == 18_245_030_025 - 4_503_000_025
    assert got[("6411", "dépense", "ordre")] == 4_503_000_025
    # an ordre part larger than the net amount leaves a negative real part: quarantined with the reason
    assert ("7411", "recette", "réel") not in got and got[("7411", "recette", "ordre")] == 618_000_005_000
    assert any(q.reasons == ["Montant négatif (-6118200049.50)."] for q in batch.quarantine.all())
    assert got[("1641", "dépense", "réel")] == 3_050_000_000 and ("1641", "dépense", "ordre") not in got
    page = client.get("/budgets/", {"collectivite": "21590350100017", "annee": "2021", "type": "compte administratif"})
    assert "ne précise" not in page.content.decode()


def test_balance_without_ordre_columns_says_its_lines_count_as_real(lille, client):
    run(SAMPLE, lille, siren=LILLE)
    assert set(BudgetLine.objects.values_list("operation", flat=True)) == {""}
    page = client.get("/budgets/", {"collectivite": "21590350100017", "annee": "2021", "type": "compte administratif"})
    assert "8 lignes de ce budget ne précisent pas s'il s'agit d'opérations réelles ou d'ordre" in page.content.decode()
