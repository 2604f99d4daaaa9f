"""The reference-data loader, on the real files of shared/data/territory."""

import shutil

import pytest
from django.core.management import call_command

from regio.territory.loader import TerritoryLoadError, load_territory
from regio.territory.models import EPCI, Commune, Departement, PostalCode, Region
from tests.conftest import TERRITORY_DIR

pytestmark = pytest.mark.django_db


def test_region_32_is_loaded_with_all_of_france_regions_and_departements():
    assert Region.objects.count() == 18
    assert Departement.objects.count() == 101
    assert Commune.objects.filter(region_id="32", is_active=True).count() == 3782
    assert EPCI.objects.filter(region_id="32").count() >= 90
    lille = Commune.objects.get(code="59350")
    assert lille.name == "Lille" and lille.departement_id == "59" and lille.epci_id == "200093201"
    assert lille.population > 200_000 and lille.density_class == 1 and lille.area_kind == "urbain"
    assert "59000" in lille.postal_code_list and lille.contour.startswith('{"type":')
    assert Region.objects.get(code="32").population > 5_900_000  # sum of the communes of communes.csv
    assert PostalCode.objects.filter(code="02400", commune_id="02168").exists()


def test_reload_with_unchanged_files_is_skipped():
    report = load_territory(str(TERRITORY_DIR), region_code="32")
    assert report.skipped


def _copy_reference(tmp_path):
    target = tmp_path / "territory"
    target.mkdir()
    for name in ["regions.csv", "departements.csv", "epci.csv", "communes.csv", "densite-france.csv"]:
        shutil.copy(TERRITORY_DIR / name, target / name)
    return target


def test_corrupt_file_fails_clearly_and_keeps_previous_data(tmp_path):
    source = _copy_reference(tmp_path)
    text = (source / "communes.csv").read_text()
    # A truncated file: the last line lost half its columns.
    (source / "communes.csv").write_text(text.rstrip("\n")[: -40] + "\n")
    before = Commune.objects.get(code="59350").population
    with pytest.raises(TerritoryLoadError) as exc:
        load_territory(str(source), region_code="32", force=True)
    assert "communes.csv, ligne" in str(exc.value)
    assert Commune.objects.filter(region_id="32").count() == 3782
    assert Commune.objects.get(code="59350").population == before


def test_non_numeric_population_names_file_line_and_column(tmp_path):
    source = _copy_reference(tmp_path)
    lines = (source / "communes.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[22087].split(",")  # a région-32 row (Lille is line 22088 of the file)
    row[header.index("population")] = "beaucoup"
    lines[22087] = ",".join(row)
    (source / "communes.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TerritoryLoadError, match=r"communes.csv, ligne 22088, colonne population .*beaucoup"):
        load_territory(str(source), region_code="32", force=True)


def test_missing_file_is_reported(tmp_path):
    source = _copy_reference(tmp_path)
    (source / "epci.csv").unlink()
    with pytest.raises(TerritoryLoadError, match="Fichier obligatoire manquant : epci.csv"):
        load_territory(str(source), region_code="32", force=True)


def test_merger_and_population_update_keep_foreign_keys(tmp_path):
    """A commune that vanished (merger) becomes inactive; its organisation still points to it."""
    from regio.accounts.models import Organisation

    source = _copy_reference(tmp_path)
    lines = (source / "communes.csv").read_text().splitlines()
    header = lines[0].split(",")
    kept = []
    for line in lines:
        cells = line.split(",")
        if cells[0] == "02001":  # Abbécourt disappears (merged)
            continue
        if cells[0] == "02168":  # Château-Thierry's population is updated
            cells[header.index("population")] = "15500"
        kept.append(",".join(cells))
    (source / "communes.csv").write_text("\n".join(kept) + "\n")
    organisation = Organisation.objects.get(kind="commune", commune_id="02001")
    report = load_territory(str(source), region_code="32", force=True)
    assert report.counts["communes_inactivees"] == 1
    assert Commune.objects.get(code="02001").is_active is False
    assert Commune.objects.get(code="02168").population == 15500
    organisation.refresh_from_db()
    assert organisation.commune_id == "02001"
    assert Commune.objects.filter(region_id="32", is_active=True).count() == 3781


def test_missing_density_is_unknown_never_guessed(tmp_path):
    """Région 84: communes.csv has no class there; densite-france.csv fills it, except for the
    communes created after the 2024 grid (69114), which stay unknown."""
    source = _copy_reference(tmp_path)
    load_territory(str(source), region_code="84", force=True)
    assert Commune.objects.get(code="01001").density_class == 6
    assert Commune.objects.get(code="69114").density_class is None
    assert Commune.objects.get(code="69114").area_kind == "inconnu"
    (source / "densite-france.csv").unlink()
    load_territory(str(source), region_code="84", force=True)
    assert Commune.objects.get(code="01001").density_class is None


def test_load_from_url_through_the_safe_client(shared_http_server, allow_private_http):
    report = load_territory(f"{shared_http_server}/data/territory/", region_code="32", force=True)
    assert report.counts["communes"] == 3782


def test_load_from_url_refuses_loopback_without_opt_in(shared_http_server, settings):
    settings.HTTP_ALLOW_PRIVATE = False
    with pytest.raises(TerritoryLoadError, match="Adresse refusée"):
        load_territory(f"{shared_http_server}/data/territory/", region_code="32", force=True)


def test_command_line_load(capsys):
    call_command("territory", "load", "--source", str(TERRITORY_DIR), "--force")
    assert "Référentiel territorial chargé" in capsys.readouterr().out
