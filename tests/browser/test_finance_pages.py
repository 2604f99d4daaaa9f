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
        f"/budgets/?collectivite={siret}&annee=2022&par=nature&sens=recette&operations=toutes",
        f"/budgets/?collectivite={siret}&annee=2023&par=fonction&code=5",
        f"/budgets/imports/{batch.pk}",
        "/budgets/?collectivite=21590350100017&annee=2021&type=compte+administratif&par=nature",
    ]:
        check_page(path)


def test_sunburst_drill_down_by_keyboard(check_page, finance_demo):
    """The two-level sunburst of Lille's demo balance: its segments are links reached with Tab;
    Enter on an outer segment goes two levels down."""
    page = check_page("/budgets/?collectivite=21590350100017&annee=2021&type=compte+administratif&par=fonction")
    assert page.locator("svg.sunburst path").count() >= 8
    assert page.locator("svg.sunburst").get_attribute("role") == "group"
    link = page.locator('svg.sunburst a[href*="code=21"]').first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**code=21**")
    assert "Remonter d'un niveau" in page.inner_text("main")
    assert "sous-niveaux de 21" in page.inner_text("main")


def test_budget_drill_down_by_keyboard(check_page, finance_demo):
    page = check_page("/budgets/")
    link = page.locator("svg.finance-chart a").first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**code=**")
    assert "Remonter d'un niveau" in page.inner_text("main")


def test_treemap_drill_down_and_png_download(browser, site, finance_demo):
    """Under the real CSP (no bypass): the PNG button appears (static script), the download starts
    and is a PNG; the treemap's rectangles are links reachable with the keyboard."""
    from regio.finance.models import BudgetLine

    siret = BudgetLine.objects.values_list("collectivite_siret", flat=True).first()
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(f"{site.url}/budgets/?collectivite={siret}&annee=2023&par=fonction")
        assert page.locator("svg.treemap a").count() >= 3
        button = page.get_by_role("button", name="Image du graphique « Répartition des dépenses par fonction » (PNG)")
        with page.expect_download() as info:
            button.click()
        download = info.value
        assert download.suggested_filename == "repartition.png"
        with open(download.path(), "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        assert page.get_by_role("status").first.inner_text() == "Image PNG téléchargée."
        page.goto(f"{site.url}/subventions/")
        with page.expect_download() as info:
            page.locator("button.chart-png").first.click()
        assert info.value.suggested_filename == "beneficiaires.png"
        # keyboard drill-down in the treemap
        page.goto(f"{site.url}/budgets/?collectivite={siret}&annee=2023&par=fonction")
        page.locator("svg.treemap a").first.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**code=**")
        assert "Remonter d'un niveau" in page.inner_text("main")
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()


def test_quarantine_correction_pages_are_accessible(check_page, page, site, client, finance_demo):
    """The import report with its « Corriger » links and the pre-filled correction form (agent logged in)."""
    from pathlib import Path

    from django.conf import settings

    from regio.accounts.models import Organisation, User
    from regio.finance import services
    from regio.finance.models import ImportBatch

    admin = User.objects.create_superuser("cdo.finances@region.example", "motdepasse-solide-123")
    org = Organisation.objects.filter(kind="departement").first()
    path = Path(settings.SHARED_DIR) / "standards" / "schemas" / "scdl-subventions" / "exemple_invalide_erreurs_cellules.csv"
    batch = services.run_import("subventions", path, organisation=org, origin=ImportBatch.Origin.CLI, check_permission=False,
                                publish=False)
    row = batch.quarantine.first()
    client.force_login(admin)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}])
    report = check_page(f"/budgets/imports/{batch.pk}")
    assert report.get_by_role("link", name=f"Corriger la ligne {row.line}", exact=True).count() == 1
    form = check_page(f"/budgets/imports/{batch.pk}/quarantaine/{row.pk}")
    assert "invalide (clé de contrôle de Luhn incorrecte)" in form.inner_text("main")
    assert form.get_by_label("idAttribuant").input_value() == row.raw["idAttribuant"]
