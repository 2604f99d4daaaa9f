"""TOTEM budget documents (DocumentBudgetaire XML) through the budget import's checks."""

from pathlib import Path

import pytest

from regio.finance import services
from regio.finance.importers import totem
from regio.finance.models import BudgetLine, ImportBatch

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).parent / "data" / "totem-m52-bp-2024.xml"


def run(path, org, **kw):
    return services.run_import("budget", path, organisation=org, origin=ImportBatch.Origin.CLI, check_permission=False,
                               publish=False, **kw)


def test_sections_from_the_real_m52_plan_de_compte():
    assert totem.section_of("6574", "D", "M52") == "fonctionnement"
    assert totem.section_of("73111", "R", "M52") == "fonctionnement"
    assert totem.section_of("2313", "D", "M52") == "investissement"
    assert totem.section_of("1641", "R", "M52") == "investissement"
    assert totem.section_of("6574", "D", "M57") == "fonctionnement"  # no plan: class of the account


def test_totem_budget_imported_with_the_budget_checks(dep80):
    batch = run(SAMPLE, dep80, nomenclature="M57")  # the file's Nomenclature (M52-M52) wins
    assert batch.report["format"] == "TOTEM (DocumentBudgetaire XML)"
    assert batch.report["nomenclature"] == "M52" and batch.report["zero_lines"] == 1
    assert (batch.rows_read, batch.rows_imported, batch.rows_quarantined) == (8, 5, 2)
    reasons = {q.line: q.reasons for q in batch.quarantine.all()}
    assert "Code nature « 9999 » inconnu dans la nomenclature M52." in reasons[7]
    assert reasons[8] == ["Ligne en double (identique à la ligne 1)."]
    line = BudgetLine.objects.get(batch=batch, nature_code="6574")
    assert (line.budget_type, line.year, line.collectivite_siret, line.section, line.direction, line.operation) == (
        "budget primitif", 2024, "22800001400016", "fonctionnement", "dépense", "réel")
    assert line.amount_cents == 150_000_000
    assert line.nature_label == "Subventions de fonctionnement aux associations et autres personnes de droit privé"
    assert line.function_label == "Activités artistiques et action culturelle"
    assert batch.report["balance"] == []  # 4 000 000,50 = 1 500 000 + 2 500 000,50 ; 800 000 = 800 000
    assert run(SAMPLE, dep80).pk == batch.pk  # re-import: nothing changes
    assert BudgetLine.objects.count() == 5


def test_compte_administratif_uses_mtreal_and_unbalanced_is_flagged(dep80, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace('<NatDec V="01"/>', '<NatDec V="09"/>')
    text = text.replace('<MtReal V="0.00"/><MtRAR3112 V="0.00"/><OpBudg V="0"/>\n    </LigneBudget>\n    <LigneBudget>\n      <Nature V="6411"/>',
                        '<MtReal V="1400000.00"/><MtRAR3112 V="0.00"/><OpBudg V="0"/>\n    </LigneBudget>\n    <LigneBudget>\n      <Nature V="6411"/>', 1)
    path = tmp_path / "ca.xml"
    path.write_text(text, encoding="utf-8")
    batch = run(path, dep80)
    line = BudgetLine.objects.get(batch=batch)
    assert (line.budget_type, line.nature_code, line.amount_cents) == ("compte administratif", "6574", 140_000_000)
    assert batch.report["zero_lines"] == 7


def test_bad_xml_refused_in_french(dep80, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?><DocumentBudgetaire><Budget><LigneBudget>', encoding="utf-8")
    with pytest.raises(services.ImportRefused) as exc:
        run(broken, dep80)
    assert str(exc.value).startswith("Document budgétaire XML illisible")
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><Racine><DocumentBudgetaire/></Racine>', encoding="utf-8")
    with pytest.raises(services.ImportRefused) as exc:
        run(other, dep80)
    assert str(exc.value) == "Ce fichier XML n'est pas un document budgétaire TOTEM (racine « Racine »)."
    assert not ImportBatch.objects.exists()
