"""Search: the same assertions run on SQLite (FTS5 + our stemmer) and PostgreSQL (french + unaccent).

``tools/pgtemp.py -- pytest tests/catalog`` runs this file on PostgreSQL: both backends must give
the ordered results written below.
"""

import pytest

from regio.catalog import selectors, services
from regio.catalog.models import Dataset
from regio.catalog.stemmer import stem_text, stem_word

CORPUS = [
    # slug, publisher fixture, title, description, keywords, popularity, format
    ("subventions-versees", "amiens", "Subventions versées aux associations", "Montants attribués en 2024.", [], 10, "csv"),
    ("budget-primitif", "amiens", "Budget primitif 2024", "Inclut les subventions aux associations culturelles.", ["budget"], 50, "csv"),
    ("subvention-culture", "lille", "Subvention à la culture", "Aides culturelles de la ville.", [], 5, "xlsx"),
    ("transports-gtfs", "region_org", "Horaires des transports en commun (GTFS)", "Réseau de bus régional.", ["mobilité"], 20, "zip"),
    ("deliberations", "amiens", "Délibérations du conseil municipal", "Toutes les délibérations, dont celles attribuant des subventions.", [], 1, "pdf"),
    ("equipements", "lille", "Équipements sportifs", "Piscines, stades et gymnases.", [], 3, "json"),
    ("parkings", "region_org", "Parcs de stationnement", "Parkings publics et places réservées.", ["parking"], 8, "csv"),
]

QUERIES = [
    ("subvention", ["subventions-versees", "subvention-culture", "budget-primitif", "deliberations"]),
    ("SUBVENTIONS associations", ["subventions-versees", "budget-primitif"]),
    ("délibération", ["deliberations"]),
    ("deliberations", ["deliberations"]),
    ("Équipement", ["equipements"]),
    ("transport", ["transports-gtfs"]),
    ("bus mobilite", ["transports-gtfs"]),
    ("stationnement", ["parkings"]),
    ("parking", ["parkings"]),
    ("culturelle", ["budget-primitif", "subvention-culture"]),
    ("quokka", []),
]


@pytest.fixture
def corpus(db, request, agent, amiens):
    from tests.factories import member_of

    made = []
    for slug, org_fixture, title, description, keywords, popularity, fmt in CORPUS:
        org = request.getfixturevalue(org_fixture)
        if org != amiens:
            member_of(agent, org) if not org.memberships.filter(user=agent).exists() else None
        ds = services.create_dataset(
            agent, org, {"title": title, "slug": slug, "description": description, "keywords": keywords, "licence": "lov2",
                         "themes": ["ECON"] if "ubvention" in title else ["REGI"]},
            publish=True,
        )
        services.add_resource(agent, ds, title=f"{title} ({fmt})", url=f"https://data.example.fr/{slug}.{fmt}", format=fmt)
        Dataset.objects.filter(pk=ds.pk).update(popularity=popularity)
        made.append(ds)
    return made


def slugs(result):
    return [d.slug for d in result.queryset]


def test_stemmer_folds_plurals_accents_and_suffixes():
    assert stem_text("Subventions versées") == stem_text("subvention verser") == "subvention vers"
    assert stem_word("deliberations") == stem_word("deliberation")
    assert stem_word("transports") == "transport"
    assert stem_text("Équipements sportifs") == stem_text("equipement sportif")
    assert stem_word("reseaux") == stem_word("reseau")
    assert stem_text("Les délibérations du conseil") == stem_text("deliberation conseil")


@pytest.mark.parametrize("q,expected", QUERIES)
def test_ordered_results_are_the_same_on_both_backends(corpus, q, expected):
    assert slugs(selectors.search_datasets(q, {}, "relevance")) == expected


def test_title_is_weighted_over_description(corpus):
    # budget-primitif is the most popular, but "subvention" is only in its description.
    result = selectors.search_datasets("subvention")
    assert result.sort == "relevance"
    assert slugs(result).index("subvention-culture") < slugs(result).index("budget-primitif")


def test_facets_and_filters(corpus):
    result = selectors.search_datasets("subvention")
    facets = {name: {i["value"]: i["count"] for i in items} for name, items in result.facets.items()}
    assert facets["publisher"] == {"amiens-80021": 3, lille_slug(): 1}
    assert facets["publisher_kind"] == {"commune": 4}
    assert facets["format"] == {"csv": 2, "xlsx": 1, "pdf": 1}
    assert facets["theme"] == {"ECON": 2, "REGI": 2}
    assert facets["licence"] == {"lov2": 4}
    assert facets["origin"] == {"local": 4}
    assert facets["territory"]["commune:80021"] == 3
    assert slugs(selectors.search_datasets("subvention", {"publisher": lille_slug()})) == ["subvention-culture"]
    assert slugs(selectors.search_datasets("subvention", {"format": "pdf"})) == ["deliberations"]
    assert slugs(selectors.search_datasets("", {"publisher_kind": "region", "theme": "REGI"}, "popularity")) == ["transports-gtfs", "parkings"]
    assert slugs(selectors.search_datasets("", {"territory": "commune:59350"})) == ["equipements", "subvention-culture"]


def lille_slug():
    from regio.accounts.models import Organisation

    return Organisation.objects.get(kind="commune", commune_id="59350").slug


def test_sorts(corpus):
    assert slugs(selectors.search_datasets("", {}, "popularity"))[:3] == ["budget-primitif", "transports-gtfs", "subventions-versees"]
    # Without a query, the default sort is the last modification (the last created comes first here).
    assert slugs(selectors.search_datasets(""))[0] == "parkings"
    assert selectors.search_datasets("", {}, "relevance").sort == "modified"
    assert slugs(selectors.search_datasets("subvention", {}, "popularity")) == [
        "budget-primitif", "subventions-versees", "subvention-culture", "deliberations"
    ]


def test_index_follows_updates_and_archiving(corpus, agent):
    parkings = Dataset.objects.get(slug="parkings")
    services.update_dataset(agent, parkings, {"title": "Parcs relais et subventions au covoiturage"})
    assert "parkings" in slugs(selectors.search_datasets("subvention"))
    services.archive_dataset(agent, parkings)
    assert "parkings" not in slugs(selectors.search_datasets("subvention"))


def test_territory_figures_count_datasets_covering_a_commune(corpus):
    figures = selectors.territory_figures("commune", "80021")
    assert figures[0].value == 3
    assert figures[0].url == "/donnees/?territory=commune:80021"
    # Amiens is also covered by the région's datasets.
    assert figures[1].value == 5
