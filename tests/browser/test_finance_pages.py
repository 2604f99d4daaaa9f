import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def finance_demo(site, settings, tmp_path):
    from io import StringIO

    from regio.finance.demo import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    load_demo(StringIO())


def test_finance_pages_are_accessible(check_page, finance_demo):
    from regio.finance.models import BudgetLine, ImportBatch

    siret = BudgetLine.objects.values_list("collectivite_siret", flat=True).first()
    batch = ImportBatch.objects.first()
    for path in [
        "/subventions/",
        "/subventions/?annee=2018&min=10000",
        "/budgets/",
        f"/budgets/?collectivite={siret}&annee=2022&par=nature&sens=recette",
        f"/budgets/?collectivite={siret}&annee=2023&par=fonction&code=5",
        f"/budgets/imports/{batch.pk}",
    ]:
        check_page(path)


def test_budget_drill_down_by_keyboard(check_page, finance_demo):
    page = check_page("/budgets/")
    link = page.locator("svg.finance-chart a").first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**code=**")
    assert "Remonter d'un niveau" in page.inner_text("main")
