"""Licences, themes, frequencies, formats and spatial coverage onto the catalogue vocabularies."""

import pytest

from regio.core.ingest.registry import IngestItemError
from regio.harvest.mapping import (
    map_format,
    map_frequency,
    map_licence,
    map_record,
    map_theme,
    territories_for_bbox,
)


@pytest.mark.parametrize("raw,expected", [
    ("lov2", "lov2"), ("etalab-2.0", "lov2"), ("Licence Ouverte 2.0", "lov2"), ("Licence ouverte / Open Licence", "lov2"),
    ("Licence Ouverte-LO", "lov2"), ("Open Licence 2.0", "lov2"), ("fr-lo", "fr-lo"), ("Licence Ouverte v1.0", "fr-lo"),
    ("Licence Ouverte 1.0 http://www.data.gouv.fr/Licence-Ouverte-Open-Licence.", "fr-lo"),
    ("https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf", "lov2"),
    ("https://www.etalab.gouv.fr/licence-ouverte-open-licence", "lov2"),
    ("odc-odbl", "odc-odbl"), ("ODbL", "odc-odbl"), ("Open Database License (ODbL)", "odc-odbl"),
    ("http://opendatacommons.org/licenses/odbl/1.0/", "odc-odbl"),
    ("cc-by", "cc-by"), ("CC-BY 4.0", "cc-by"), ("https://creativecommons.org/licenses/by/4.0/", "cc-by"),
    ("CC BY-SA", "cc-by-sa"), ("cc0", "cc-zero"), ("https://creativecommons.org/publicdomain/zero/1.0/", "cc-zero"),
    ("notspecified", None), ("License Not Specified", None), ("", None), ("Ayant droit IGN Bénéficiaires du RGE", None),
])
def test_licence_spellings(raw, expected):
    assert map_licence(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("Environnement et climat", "ENVI"), ("Mobilité et transports", "TRAN"), ("Se déplacer", None),
    ("http://publications.europa.eu/resource/authority/data-theme/TRAN", "TRAN"),
    ("Administration, Government, Public finances, Citizenship", "GOVE"), ("planningCadastre", "REGI"),
    ("Citoyenneté / Institution", "GOVE"), ("Santé", "HEAL"), ("Data Explorer Examples", None),
])
def test_themes(raw, expected):
    assert map_theme(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("annual", "ANNUAL"), ("Semestrielle", "ANNUAL_2"), ("punctual", "IRREG"), ("monthly", "MONTHLY"),
    ("http://purl.org/cld/freq/daily", "DAILY"), ("http://publications.europa.eu/resource/authority/frequency/WEEKLY", "WEEKLY"),
    ("asNeeded", "IRREG"), ("notPlanned", "NEVER"), ("continual", "CONT"), ("quotidienne", "DAILY"), ("On occurence", None),
])
def test_frequencies(raw, expected):
    assert map_frequency(raw) == expected


@pytest.mark.parametrize("raw,url,expected", [
    ("Shapefile (zip)", "", "shp"), ("text/csv", "", "csv"), ("CSV", "", "csv"), ("OGC:WMS", "", "wms"),
    ("https://www.iana.org/assignments/media-types/text/csv", "", "csv"),
    ("http://publications.europa.eu/resource/authority/file-type/GEOJSON", "", "geojson"),
    ("", "https://exemple.fr/data/fichier.xlsx", "xlsx"),
])
def test_formats(raw, url, expected):
    assert map_format(raw, url) == expected


@pytest.mark.django_db
def test_bbox_resolved_to_communes_then_departements():
    from regio.territory.models import Commune

    amiens = Commune.objects.get(pk="80021")
    small = territories_for_bbox([amiens.lon - 0.02, amiens.lat - 0.02, amiens.lon + 0.02, amiens.lat + 0.02])
    assert ("commune", "80021", amiens.name) in small
    # an inverted box (west > east, as in a real geo-ide record) is normalised
    assert territories_for_bbox([amiens.lon + 0.02, amiens.lat - 0.02, amiens.lon - 0.02, amiens.lat + 0.02]) == small
    wide = territories_for_bbox([1.3, 49.6, 3.3, 50.4])  # most of the Somme: too many communes → départements
    assert ("departement", "80", "Somme") in wide and all(level == "departement" for level, _c, _n in wide)


@pytest.mark.django_db
def test_map_record_warnings_and_errors():
    mapped = map_record({
        "title": "Parkings", "licence": "Licence Ouverte", "themes": ["Se déplacer", "Mobilité"],
        "frequency": "On occurence", "insee": ["80021", "99999"], "resources": [{"url": "ftp://x/y"}, {"url": "https://x.fr/a.csv"}],
        "contact_email": "pas-un-courriel",
    })
    assert mapped.fields["licence"] == "lov2" and mapped.fields["themes"] == ["TRAN"]
    assert mapped.fields["frequency"] == "UNKNOWN"
    assert [t[1] for t in mapped.territories] == ["80021"]
    assert [r["format"] for r in mapped.resources] == ["csv"]
    text = " ".join(mapped.warnings)
    assert "Thème(s) sans correspondance" in text and "Se déplacer" in text
    assert "Fréquence « On occurence » non reconnue" in text
    assert "Ressource 1 ignorée" in text and "Courriel de contact invalide" in text
    with pytest.raises(IngestItemError, match="Licence non reconnue : « Other \\(Non-Commercial\\) »") as exc:
        map_record({"title": "X", "licence": "Other (Non-Commercial)"})
    assert exc.value.field == "licence"
    with pytest.raises(IngestItemError, match="titre"):
        map_record({"title": " ", "licence": "lov2"})


@pytest.mark.parametrize("raw", ["notspecified", "License Not Specified", "", None, "Licence non précisée", "unknown"])
def test_licence_unknown_at_the_source_is_kept_as_unspecified_with_a_warning(raw, db):
    mapped = map_record({"title": "X", "licence": raw})
    assert mapped.fields["licence"] == "non-precisee"
    warning = next(w for w in mapped.warnings if w.startswith("Licence non précisée par la source"))
    assert "licence « non précisée »" in warning and "à faire préciser par le producteur" in warning
    if raw:
        assert f"« {raw} »" in warning


def test_empty_title_is_refused(db):
    with pytest.raises(IngestItemError, match="titre"):
        map_record({"title": " ", "licence": "lov2"})
