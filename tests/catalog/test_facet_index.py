"""The in-memory facet index (numpy) gives exactly what the all-SQL search gives, on both databases,
and never serves stale results after a write.

``search_datasets(..., indexed=False)`` is the reference: facet filters and counts computed by the
database (``count_facets``), as before the index existed.
"""

import pytest
from django.db import connection

from regio.catalog import facet_index, search, selectors, services
from regio.catalog.models import Dataset, DatasetTerritory
from regio.quality.models import DatasetQuality
from tests.catalog.test_search import corpus  # noqa: F401  (fixture)

QUERIES = ["subvention", "subventions associations", "culturelle", "transport", "parking", "conseil", "quokka",
           "budget 2024", "publics"]
FILTERS = [
    {},
    {"format": "csv"},
    {"format": "CSV"},
    {"-format": ["pdf"]},
    {"format": [["pdf", "xlsx"]]},
    {"theme": "econ"},
    {"theme": "ECON", "licence": "lov2"},
    {"-theme": "REGI"},
    {"publisher_kind": "commune"},
    {"publisher_kind": "region"},
    {"territory": "commune:80021"},
    {"territory": "80021"},
    {"territory": "departement:80"},
    {"territory_any": "commune:80021"},
    {"licence": "cc-by"},
    {"origin": "harvested"},
    {"-origin": "local"},
    {"keyword": "Budget"},
    {"quality": "80-100"},
    {"quality": "0-49"},
    {"-quality": "80-100"},
    {"quality": "n'existe pas"},
    {"schema": "https://schema.data.gouv.fr/schemas/scdl/subventions/latest/schema.json"},
    {"publisher": "n-existe-pas"},
]


@pytest.fixture
def varied(corpus, agent, amiens):  # noqa: F811
    """The search corpus with the facets the base corpus lacks: licences, origins, keywords,
    schemas, quality scores, several resources and territories per dataset, a draft."""
    by_slug = {d.slug: d for d in Dataset.objects.all()}
    Dataset.objects.filter(slug="budget-primitif").update(licence="cc-by", origin="harvested")
    Dataset.objects.filter(slug="subventions-versees").update(
        conforms_to="https://schema.data.gouv.fr/schemas/scdl/subventions/latest/schema.json"
    )
    services.update_dataset(agent, by_slug["deliberations"], {"keywords": ["Budget"]})
    services.add_resource(agent, by_slug["budget-primitif"], title="PDF", url="https://x.fr/b.pdf", format="pdf")
    services.add_resource(agent, by_slug["budget-primitif"], title="CSV 2", url="https://x.fr/b2.csv", format="csv")
    # (PostgreSQL's SQL counting reads the multi-valued facets from facet_terms: reindex keeps it true.)
    DatasetTerritory.objects.create(dataset=by_slug["subvention-culture"], level="departement", code="80", name="Somme")
    services.reindex(by_slug["subvention-culture"])
    for slug, score in (("subventions-versees", 90), ("budget-primitif", 35), ("deliberations", 80)):
        DatasetQuality.objects.update_or_create(dataset=by_slug[slug], defaults={"score": score, "computed_at": "2026-01-01T00:00:00Z"})
    draft = services.create_dataset(agent, amiens, {"title": "Subventions brouillon", "licence": "lov2"}, publish=False)
    services.add_resource(agent, draft, title="Brouillon", url="https://x.fr/d.csv", format="csv")
    search.bump_version()  # the direct writes above bypass the services layer


def outcome(result):
    return result.total, [d.slug for d in result.queryset], result.facets


@pytest.mark.parametrize("q", QUERIES)
def test_index_gives_the_sql_results_and_facets(varied, q):
    for filters in FILTERS:
        for sort in ("", "popularity", "modified", "quality"):
            fast = selectors.search_datasets(q, filters, sort)
            sql = selectors.search_datasets(q, filters, sort, indexed=False)
            assert outcome(fast) == outcome(sql), (q, filters, sort)


def test_ckan_facets_and_base_queryset(varied):
    base = selectors.public_datasets().exclude(slug="budget-primitif")
    wanted = (*selectors.FACETS, "keyword")
    fast = selectors.search_datasets("subvention", {}, "", facets=wanted, base=base)
    sql = selectors.search_datasets("subvention", {}, "", facets=wanted, base=base, indexed=False)
    assert outcome(fast) == outcome(sql)
    assert "budget-primitif" not in [d.slug for d in fast.queryset]
    assert fast.facets["keyword"] == [{"value": "budget", "label": "budget", "count": 1}]


def test_facet_values_are_counted_from_the_index(varied):
    result = selectors.search_datasets("subvention")
    facets = {name: {i["value"]: i["count"] for i in items} for name, items in result.facets.items()}
    assert result.total == 4  # the draft is not public
    assert facets["format"] == {"csv": 2, "xlsx": 1, "pdf": 2}
    assert facets["licence"] == {"lov2": 3, "cc-by": 1}
    assert facets["quality"] == {"80-100": 2, "0-49": 1}
    assert facets["territory"] == {"commune:80021": 3, "commune:59350": 1, "departement:80": 1}
    assert [d.slug for d in selectors.search_datasets("subvention", {"-format": "csv"}).queryset] == [
        "subvention-culture", "deliberations"
    ]


def test_a_write_is_visible_in_the_next_search(varied, agent):
    assert selectors.search_datasets("stationnement", {"licence": "cc-by"}).total == 0
    parkings = Dataset.objects.get(slug="parkings")
    services.update_dataset(agent, parkings, {"licence": "cc-by", "themes": ["TRAN"]})
    result = selectors.search_datasets("stationnement", {"licence": "cc-by"})
    assert [d.slug for d in result.queryset] == ["parkings"]
    assert result.facets["theme"][0]["value"] == "TRAN"
    services.add_resource(agent, parkings, title="Carte", url="https://x.fr/p.geojson", format="geojson")
    assert selectors.search_datasets("stationnement", {"format": "geojson"}).total == 1
    services.archive_dataset(agent, parkings)
    assert selectors.search_datasets("stationnement").total == 0


def test_a_write_committed_by_another_process_is_seen_through_the_token(varied):
    """Another process's write reaches this one only through the database: the rows and the new
    generation token. Nothing in this process is told."""
    assert selectors.search_datasets("stationnement", {"licence": "odc-odbl"}).total == 0
    before = facet_index.current()
    with connection.cursor() as cur:
        cur.execute("UPDATE catalog_dataset SET licence = 'odc-odbl' WHERE slug = 'parkings'")
        cur.execute("UPDATE catalog_searchgeneration SET token = 'autre-processus' WHERE id = 1")
    assert selectors.search_datasets("stationnement", {"licence": "odc-odbl"}).total == 1
    assert facet_index.current() is not before


def test_a_dataset_unknown_to_the_index_rebuilds_it(varied, amiens):
    """A dataset written without bump_version (a direct ORM write) is still found and counted."""
    token = facet_index.current().token
    selectors.search_datasets("subvention")
    ds = Dataset.objects.create(title="Subventions directes", slug="directes", publisher=amiens, licence="cc-by",
                                status="published")
    search.index_datasets([Dataset.objects.select_related("publisher").get(pk=ds.pk)])  # no bump_version
    assert search.current_tokens()[0] == token
    result = selectors.search_datasets("subvention", {"licence": "cc-by"})
    assert "directes" in [d.slug for d in result.queryset]
    assert result.facets["licence"] == selectors.search_datasets("subvention", {"licence": "cc-by"}, indexed=False).facets["licence"]


def test_a_new_quality_score_reloads_only_the_scores(varied):
    from regio.quality.catalog_link import refresh_dataset_quality

    assert selectors.search_datasets("stationnement", {"quality": "80-100"}).total == 0
    index = facet_index.current()
    DatasetQuality.objects.filter(dataset__slug="parkings").delete()
    quality = refresh_dataset_quality(Dataset.objects.get(slug="parkings"))  # bumps the scores token only
    bucket = next(b for b, (low, high) in selectors.QUALITY_BUCKETS.items() if low <= quality.score <= high)
    result = selectors.search_datasets("stationnement", {"quality": bucket})
    assert result.total == 1 and result.facets["quality"][0]["value"] == bucket
    assert facet_index.current() is index  # not rebuilt


def test_top_values_are_cut_like_the_sql_count_desc_then_binary_order():
    import numpy as np

    values = ["b", "é", "a", "Z", "c"]
    ranks = facet_index.binary_ranks(values)
    assert [values[i] for i in np.argsort(ranks)] == ["Z", "a", "b", "c", "é"]
    counts = np.array([2, 5, 2, 0, 2])
    assert [values[c] for c in facet_index.top_codes(counts, ranks, 3)] == ["é", "a", "b"]
    assert sorted(facet_index.top_codes(counts, ranks, None).tolist()) == [0, 1, 2, 4]


def test_every_kind_of_write_reaches_the_ordered_ids(varied, agent):
    """On PostgreSQL the ordered ids come from the narrow search table, kept by triggers: views
    (popularity), direct updates, moderation, deletions must all be seen by the next search."""
    def same(q, sort=""):
        fast = selectors.search_datasets(q, {}, sort)
        assert outcome(fast) == outcome(selectors.search_datasets(q, {}, sort, indexed=False)), (q, sort)
        return [d.slug for d in fast.queryset]

    before = same("subvention", "popularity")
    last = Dataset.objects.get(slug=before[-1])
    for _ in range(50):
        services.record_view(last)
    assert same("subvention", "popularity")[0] == last.slug
    Dataset.objects.filter(slug="subvention-culture").update(moderation=Dataset.Moderation.PENDING)
    assert "subvention-culture" not in same("subvention")
    Dataset.objects.filter(slug=before[0]).update(status="draft")
    assert before[0] not in same("subvention", "modified")
    Dataset.objects.filter(slug="deliberations").delete()
    search.bump_version()
    assert "deliberations" not in same("subvention")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM catalog_dataset d FULL JOIN catalog_datasetsearch s ON s.id = d.id WHERE "
                "s.id IS NULL OR d.id IS NULL OR s.visible <> (d.status = 'published' AND d.moderation <> 'pending') "
                "OR s.popularity <> d.popularity OR s.modified <> d.metadata_modified_at "
                "OR s.search_vector IS DISTINCT FROM d.search_vector"
            )
            assert cur.fetchone()[0] == 0


def test_ties_are_broken_like_the_sql(varied):
    """Equal popularity and modification dates: the fast paths (numpy sort keys on SQLite, the
    search table on PostgreSQL) break the ties by id, descending, as the SQL ordering does."""
    Dataset.objects.update(popularity=3, metadata_modified_at="2026-01-02T03:04:05Z")
    Dataset.objects.filter(slug__in=["subventions-versees", "deliberations"]).update(popularity=7)
    for q in ("subvention", "budget", "culturelle"):
        for sort in ("", "popularity", "modified"):
            fast = selectors.search_datasets(q, {}, sort)
            assert outcome(fast) == outcome(selectors.search_datasets(q, {}, sort, indexed=False)), (q, sort)
            slugs = [d.slug for d in fast.queryset]
            assert len(slugs) > 1, q


def test_sort_keys_survive_a_lost_change_log(varied):
    """SQLite: when the last change a process applied is no longer in the log (pruned, or rolled
    back and its number reused), the sort keys are read again in full instead of going stale."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's change log")
    selectors.search_datasets("subvention", {}, "popularity")
    last = Dataset.objects.get(slug="subvention-culture")
    services.record_view(last)
    selectors.search_datasets("subvention", {}, "popularity")  # applies the view
    with connection.cursor() as cur:
        cur.execute("DELETE FROM catalog_sortchange")  # as if pruned
    Dataset.objects.filter(pk=last.pk).update(popularity=10_000)
    fast = selectors.search_datasets("subvention", {}, "popularity")
    assert [d.slug for d in fast.queryset][0] == last.slug
    assert outcome(fast) == outcome(selectors.search_datasets("subvention", {}, "popularity", indexed=False))


def test_postgresql_search_leaves_the_session_settings_alone(varied):
    """The narrow query turns sequential scans off for itself only (SET LOCAL in a savepoint rolled
    back at once), whether the caller is in a transaction or not."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner setting")
    from django.db import transaction

    def setting():
        with connection.cursor() as cur:
            cur.execute("SHOW enable_seqscan")
            return cur.fetchone()[0]

    assert len(search.narrow_ordered_ids("subvention", "relevance")) == 4
    assert setting() == "on"
    with transaction.atomic():
        assert len(search.narrow_ordered_ids("subvention", "popularity")) == 4
        assert setting() == "on"
    assert setting() == "on"
