"""Plans de compte: the real M52 ODM XML, loading official plans (load-plan), partial labels."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from regio.finance import nomenclature, services
from regio.finance.importers import totem
from regio.finance.models import ImportBatch

pytestmark = pytest.mark.django_db
M52 = Path(settings.SHARED_DIR) / "standards" / "budget-nomenclature" / "plan-de-compte-M52-M52-2021.xml"
BALANCE = Path(__file__).parent / "data" / "balance-dgfip-2021.csv"


def test_real_m52_plan_parsed():
    parsed = nomenclature.parse_plan(M52.read_bytes(), M52.name)
    assert (parsed.norme, parsed.declinaison, parsed.year) == ("M52", "M52", "2021")
    p = parsed.plan
    assert p.complete and len(p.functions) == 176
    assert p.natures["011"] == "Charges à caractère général"
    assert p.sections[("6574", "D")] == "F" and p.sections[("1641", "R")] == "I"


def test_partial_labels_label_without_checking():
    m57 = nomenclature.plan("M57")
    assert not m57.complete and m57.functions["8"] == "Transports" and m57.natures["012"] == "Charges de personnel et frais assimilés"
    m14 = nomenclature.plan("M14")
    assert m14.functions["822"] == "Voirie communale et routes"
    assert nomenclature.plan("M71").natures["2"] == "Comptes d'immobilisations"
    assert nomenclature.plan("M99") is None


def test_partial_plans_borrow_m52_natures_then_parent_labels():
    """Without an official M57/M14/M71 plan, a nature lacking from the transcribed table takes the
    label of the same account in the real M52 plan, else of its nearest labelled parent; a
    function takes its parent's label. An official plan never guesses."""
    m57, m14, m71 = (nomenclature.plan(n) for n in ("M57", "M14", "M71"))
    official = nomenclature.parse_plan(M52.read_bytes()).plan
    assert "6558" not in m57.natures and m57.label("nature", "6558") == official.natures["6558"] == "Autres contributions obligatoires"
    assert m57.knows("nature", "6558") and "plan officiel M52" in m57.source
    assert m14.label("nature", "73111") == "Taxes foncières et d'habitation"  # its own label first (M52: another one)
    assert "65748" not in official.natures
    assert m57.label("nature", "65748") == f"{official.natures['6574']} (compte 65748)"
    assert not m57.knows("nature", "65748")
    assert m57.label("nature", "6999") == "Comptes de charges (compte 6999)"
    assert m57.label("fonction", "311") == "Culture (sous-fonction 311)"
    assert m71.label("fonction", "8") == "Transports" and m71.label("fonction", "811") == "Transports (sous-fonction 811)"
    assert m71.label("fonction", "") == "" and m57.label("nature", "X1") == ""
    m52 = nomenclature.plan("M52")
    assert m52.complete and m52.label("nature", "6999") == "" and m52.label("nature", "6574") == official.natures["6574"]


def _m57_variant(tmp_path) -> Path:
    """The real M52 plan relabelled as an M57 plan (stands for the official M57 file, not in the reference data)."""
    data = M52.read_bytes().replace(b'Norme="M52" Declinaison="M52"', b'Norme="M57" Declinaison="M57"', 1)
    path = tmp_path / "plan-de-compte-M57-M57.xml"
    path.write_bytes(data)
    return path


def test_load_plan_then_codes_of_that_nomenclature_are_checked(media, tmp_path, region_org, capsys):
    def import_nord(name, extra=""):
        path = tmp_path / name
        text = BALANCE.read_text(encoding="utf-8").replace(";M52;225900018;", ";M57;225900018;")
        path.write_text(text + extra, encoding="utf-8")
        return services.run_import("budget", path, organisation=region_org, origin=ImportBatch.Origin.CLI,
                                   check_permission=False, publish=False, siren="225900018")

    before = import_nord("avant.csv")
    assert (before.rows_imported, before.rows_quarantined) == (3, 0)  # partial labels: 6999 not checked
    assert before.report["unchecked_codes"][0].endswith("; 1 code(s) nature sans libellé propre (libellé du compte parent, ou aucun).")
    call_command("finance", "load-plan", str(_m57_variant(tmp_path)))
    assert "Plan de compte M57 (M57, exercice 2021) chargé" in capsys.readouterr().out
    assert nomenclature.plan("M57").source == "plan de compte chargé"
    assert totem.section_of("6574", "D", "M57") == "fonctionnement"
    after = import_nord("apres.csv", extra="\n")  # another file (a re-import of the same file changes nothing)
    assert after.quarantine.get().reasons == ["Code nature « 6999 » inconnu dans la nomenclature M57."]
    assert after.rows_unchanged == 2 and after.report["unchecked_codes"] == []


def test_bad_plans_refused_in_french(media, tmp_path):
    cases = {
        "pas-xml.xml": (b"<Nomenclature", "Plan de compte XML illisible"),
        "autre.xml": (b"<DocumentBudgetaire/>", "Ce fichier XML n'est pas un plan de compte (racine « DocumentBudgetaire »"),
        "m99.xml": (b'<Nomenclature Norme="M99"><Nature/></Nomenclature>', "Norme « M99 » du plan de compte non prise en charge"),
        "vide.xml": (b'<Nomenclature Norme="M14"><Nature/></Nomenclature>', "Plan de compte sans aucune nature"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CommandError) as exc:
            call_command("finance", "load-plan", str(path))
        assert str(exc.value).startswith(message), name
    assert nomenclature.plan("M14").complete is False  # nothing was loaded
