"""Quarantined rows corrected from the import report by an authorised agent."""

import pytest

from regio.finance import analytics, selectors, services
from regio.finance.models import BudgetLine, ImportBatch, QuarantinedRow, Subsidy

from .conftest import somme_variant
from .test_imports import budget_file, line

pytestmark = pytest.mark.django_db


@pytest.fixture
def bad_batch(somme, dep80, tmp_path):
    def edit(lines):
        lines = list(lines)
        lines[1] = lines[1].replace(";137 825,00;", ";-137 825,00;")
        lines[2] = lines[2].replace(";756 283,00;", ";sept cents;")
        return lines
    path = somme_variant(somme, tmp_path / "somme-erreurs.csv", edit)
    return services.run_import("subventions", path, organisation=dep80, origin=ImportBatch.Origin.CLI,
                               check_permission=False, publish=False)


def url(batch, row):
    return f"/budgets/imports/{batch.pk}/quarantaine/{row.pk}"


def test_permissions(client, bad_batch, agent, dep80):
    from regio.accounts.models import Membership, Organisation, User

    row = bad_batch.quarantine.get(line=2)
    response = client.get(url(bad_batch, row))
    assert response.status_code == 302 and "next=" in response["Location"]
    other = User.objects.create_user("agent@aisne.example", "motdepasse-solide-123", is_active=True)
    aisne = Organisation.objects.filter(kind="departement").exclude(pk=dep80.pk).first()
    Membership.objects.create(user=other, organisation=aisne, role=Membership.Role.EDITOR, status=Membership.Status.ACTIVE)
    client.force_login(other)
    assert client.get(url(bad_batch, row)).status_code == 403
    assert client.post(url(bad_batch, row), {**row.raw, "montant": "137 825,00"}).status_code == 403
    assert "Corriger la ligne" not in client.get(f"/budgets/imports/{bad_batch.pk}").content.decode()
    assert QuarantinedRow.objects.filter(pk=row.pk).exists()
    with pytest.raises(Exception) as exc:
        services.correct_quarantined_row(other, row, {**row.raw, "montant": "1"})
    assert "il faut être éditeur ou administrateur" in str(exc.value)
    member = User.objects.create_user("membre@somme.example", "motdepasse-solide-123", is_active=True)
    Membership.objects.create(user=member, organisation=dep80, role=Membership.Role.MEMBER, status=Membership.Status.ACTIVE)
    client.force_login(member)
    assert client.get(url(bad_batch, row)).status_code == 403


def test_agent_corrects_a_row_from_the_report(client, bad_batch, agent):
    client.force_login(agent)
    report = client.get(f"/budgets/imports/{bad_batch.pk}").content.decode()
    row = bad_batch.quarantine.get(line=2)
    assert f'href="/budgets/imports/{bad_batch.pk}/quarantaine/{row.pk}"' in report
    form = client.get(url(bad_batch, row))
    html = form.content.decode()
    assert "Montant négatif (-137 825,00) : une subvention attribuée est positive." in html
    assert 'value="-137 825,00"' in html and 'value="CHEMIN DE FER BAIE DE SOMME"' in html
    # still wrong: the new reason is shown, nothing changes
    again = client.post(url(bad_batch, row), {**row.raw, "montant": "cent mille"})
    assert again.status_code == 422
    assert "Montant « cent mille » illisible (nombre attendu, ex. 1234,56 ou 1234.56)." in again.content.decode()
    assert QuarantinedRow.objects.filter(pk=row.pk).exists()
    # fixed: imported, quarantine and counts updated, the explorer sees it
    before = analytics.Explorer().totals()["count"]
    done = client.post(url(bad_batch, row), {**row.raw, "montant": "137 825,00"})
    assert done.status_code == 302 and done["Location"].endswith("?corrigee=2")
    sub = Subsidy.objects.get(batch=bad_batch, line=2)
    assert sub.amount_cents == 13_782_500 and sub.theme == "amenagement"
    bad_batch.refresh_from_db()
    assert (bad_batch.rows_imported, bad_batch.rows_quarantined) == (10, 1)
    assert not QuarantinedRow.objects.filter(pk=row.pk).exists()
    assert bad_batch.report["corrections"][0]["line"] == 2
    assert analytics.Explorer().totals() == selectors.totals(Subsidy.objects.all())
    assert analytics.Explorer().totals()["count"] == before + 1
    report = client.get(done["Location"]).content.decode()
    assert "La ligne 2 corrigée a été importée." in report
    # the same correction a second time is a duplicate
    other = bad_batch.quarantine.get(line=3)
    duplicate = client.post(url(bad_batch, other), {**row.raw, "montant": "137 825,00"})
    assert duplicate.status_code == 422
    assert "Ligne en double : une ligne identique est déjà importée." in duplicate.content.decode()


def test_budget_row_corrected_with_the_batch_nomenclature(client, agent, dep80, tmp_path):
    path = budget_file(tmp_path, [
        line("6574", "311", "fonctionnement", "dépense", "5000"),
        line("73111", "01", "fonctionnement", "recette", "4000"),
        line("9999", "01", "fonctionnement", "recette", "1000"),
    ])
    batch = services.run_import("budget", path, organisation=dep80, origin=ImportBatch.Origin.CLI,
                                check_permission=False, publish=False, nomenclature="M52")
    assert batch.report["balance"]
    row = batch.quarantine.get()
    client.force_login(agent)
    wrong = client.post(url(batch, row), {**row.raw, "BGT_CONTNAT": "8888"})
    assert "Code nature « 8888 » inconnu dans la nomenclature M52." in wrong.content.decode()
    done = client.post(url(batch, row), {**row.raw, "BGT_CONTNAT": "7411"})
    assert done.status_code == 302
    batch.refresh_from_db()
    assert batch.report["balance"] == []  # now balanced
    assert BudgetLine.objects.get(batch=batch, nature_code="7411").nature_label
