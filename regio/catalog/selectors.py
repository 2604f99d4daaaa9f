"""Reads of the catalogue: the one search interface, facets, dataset lookups, territory figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse

from regio.accounts.models import Organisation
from regio.core.models import PublicationStatus
from regio.core.registry import TerritoryFigure
from regio.quality.catalog_link import BUCKET_LABELS as QUALITY_BUCKET_LABELS
from regio.quality.catalog_link import BUCKETS as QUALITY_BUCKETS
from regio.quality.catalog_link import bucket as quality_bucket

from . import search
from .models import Dataset, DatasetTerm, DatasetTerritory, Resource, theme_labels
from .vocabularies import LICENCES, TERRITORY_LEVELS, THEMES

FACETS = ("publisher", "publisher_kind", "territory", "theme", "format", "licence", "schema", "origin", "quality")
FACET_LABELS = {
    "publisher": "Producteur",
    "publisher_kind": "Type de producteur",
    "territory": "Territoire",
    "theme": "Thème",
    "format": "Format",
    "licence": "Licence",
    "schema": "Schéma",
    "origin": "Origine",
    "quality": "Qualité",
}
SORTS = {
    "relevance": "Pertinence",
    "modified": "Dernière modification",
    "popularity": "Popularité",
    "quality": "Score de qualité",
}
FACET_SIZE = 15


def public_datasets() -> QuerySet:
    return Dataset.objects.filter(status=PublicationStatus.PUBLISHED).exclude(moderation=Dataset.Moderation.PENDING)


def get_public_dataset(id_or_slug: str) -> Dataset:
    """By slug, public uuid or numeric id (the /api/1/ and CKAN ``id`` parameter)."""
    qs = public_datasets().select_related("publisher")
    key = str(id_or_slug)
    cond = Q(slug=key)
    if key.isdigit():
        cond |= Q(pk=int(key))
    if len(key) == 36:
        cond |= Q(uid=key) if _is_uuid(key) else Q()
    return qs.get(cond)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class DatasetPage:
    """Ordered hits, sliced lazily: the database sorts ids only (a narrow top-N sort), then the
    datasets of the requested slice are fetched with their publisher, resources and territories."""

    ordered = True  # for Paginator: the order is the search's

    def __init__(self, ordered: QuerySet, total: int, first_ids=None):
        """``first_ids``: the ids of the first hits in order (list or numpy array), when already
        known (count_facets, the facet index)."""
        self._ordered, self.total, self._first_ids = ordered, total, first_ids

    def __len__(self) -> int:
        return self.total

    def count(self) -> int:
        return self.total

    def prefetch_related(self, *lookups) -> DatasetPage:
        return self  # always fetched

    def __iter__(self):
        return iter(self[0 : self.total])

    def __getitem__(self, index):
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop
        known = self._first_ids
        if known is not None and index.step is None and stop is not None and 0 <= start <= stop and (
            stop <= len(known) or len(known) >= self.total
        ):
            ids = known[start:stop]
            ids = ids.tolist() if hasattr(ids, "tolist") else ids  # a numpy array from the facet index
        else:
            ids = search.ids_of(self._ordered.values_list("id", flat=True)[index])
        found = Dataset.objects.select_related("publisher").prefetch_related("resources", "territories").in_bulk(ids)
        return [found[i] for i in ids if i in found]


@dataclass
class SearchResult:
    queryset: DatasetPage  # ordered hits, sliceable
    total: int
    facets: dict[str, list[dict]] = field(default_factory=dict)
    sort: str = "relevance"
    searched: bool = False


FILTERS = ("publisher", "publisher_kind", "territory", "territory_any", "theme", "keyword", "format", "licence", "schema",
           "origin", "quality")


def filter_condition(name: str, value: str, *, via_terms: bool = False) -> Q:
    """The condition "the dataset has ``value`` for the facet ``name``".

    ``via_terms`` (when a text query already narrows the rows): the multi-valued facets are tested
    row by row (``EXISTS`` on the covering unique indexes of themes/keywords, resources and
    territories) rather than through the full list of ids having the value (better for
    browsing, costly under a text query for a common value such as the CSV format).
    """
    if name == "publisher":
        return Q(publisher__slug=value)
    if name == "publisher_kind":
        return Q(publisher__kind=value)
    if name in ("theme", "keyword"):
        value = value.upper() if name == "theme" else value.lower()
        if via_terms:
            return Q(Exists(DatasetTerm.objects.filter(dataset_id=OuterRef("pk"), kind=name, value=value)))
        return Q(id__in=DatasetTerm.objects.filter(kind=name, value=value).values("dataset_id"))
    if name == "format":
        if via_terms:
            return Q(Exists(Resource.objects.filter(dataset_id=OuterRef("pk"), format=value.lower())))
        return Q(id__in=Resource.objects.filter(format=value.lower()).values("dataset_id"))
    if name == "territory":
        level, _, code = value.rpartition(":")
        cond = Q(code=code) & (Q(level=level) if level else Q())
        if via_terms:
            return Q(Exists(DatasetTerritory.objects.filter(cond, dataset_id=OuterRef("pk"))))
        return Q(id__in=DatasetTerritory.objects.filter(cond).values("dataset_id"))
    if name == "territory_any":
        level, _, code = value.rpartition(":")
        return Q(id__in=datasets_for_territory(level or "commune", code).values("id"))
    if name == "licence":
        return Q(licence=value)
    if name == "schema":
        return Q(conforms_to=value)
    if name == "origin":
        return Q(origin=value)
    if name == "quality":
        # Score buckets of regio.quality (stored in quality.DatasetQuality), e.g. "80-100".
        low, high = QUALITY_BUCKETS.get(value, (-1, -1))
        return Q(quality__score__gte=low, quality__score__lte=high)
    raise ValueError(f"unknown filter {name!r}")


def filter_items(filters: dict, key: str) -> list:
    """The non-empty items given for one facet filter (a single value or a list of them)."""
    raw = filters.get(key)
    if not raw:
        return []
    return [v for v in (raw if isinstance(raw, list | tuple) else [raw]) if v]


def apply_filters(qs: QuerySet, filters: dict[str, str | list], *, via_terms: bool = False) -> QuerySet:
    """Facet filters: ``{name: value or [value, …]}``, every value required (AND).

    An item of the list may itself be a list or tuple: any of its values (OR). A key ``-name``
    excludes the datasets having any of its values (CKAN ``fq=-res_format:PDF``). See
    :func:`filter_condition` for ``via_terms``.
    """

    for name in FILTERS:
        for item in filter_items(filters, name):
            if isinstance(item, list | tuple):
                cond = Q()
                for value in item:
                    cond |= filter_condition(name, value, via_terms=via_terms)
                qs = qs.filter(cond)
            else:
                qs = qs.filter(filter_condition(name, item, via_terms=via_terms))
        for item in filter_items(filters, f"-{name}"):
            for value in item if isinstance(item, list | tuple) else [item]:
                qs = qs.exclude(filter_condition(name, value, via_terms=via_terms))
    return qs


def schema_label(url: str) -> str:
    """A readable name for a schema URL: ``…/scdl/subventions/…`` → ``scdl/subventions``."""
    parts = [p for p in url.split("/") if p and p not in ("latest", "schema.json", "http:", "https:")]
    for i, part in enumerate(parts):
        if part == "schemas" and i + 2 < len(parts) + 1:
            return "/".join(parts[i + 1 : i + 3])
    return "/".join(parts[-2:]) if len(parts) >= 2 else url


def search_datasets(
    q: str = "",
    filters: dict | None = None,
    sort: str = "",
    *,
    facets: tuple[str, ...] | None = FACETS,
    base: QuerySet | None = None,
    indexed: bool = True,
) -> SearchResult:
    """The catalogue search: French full text (both backends), facet filters, facet counts, sort.

    ``sort``: ``relevance`` (default when ``q`` is given), ``modified`` (default otherwise) or
    ``popularity``; a leading ``-`` is accepted and ignored (always descending).

    The database sorts and pages the hits. Facets are counted in Python from one query that
    fetches a few columns of every hit (``facet_terms`` holds the multi-valued ones); without a
    text query, the counts are cached (keyed by the catalogue's version, 60 s at most).

    With a text query (and ``indexed``, the default), the database returns only the ordered ids
    matching the words (visibility, full text, sort); the facet filters and counts are then
    computed in numpy by the in-memory :mod:`facet_index`. ``indexed=False`` keeps everything in
    SQL (``count_facets``): the reference the tests compare the index with.
    """
    unfiltered = base if base is not None else public_datasets()
    qs = apply_filters(unfiltered, filters or {}, via_terms=bool(search.query_words(q)))
    qs, searched = search.apply_text_query(qs, q)
    sort = (sort or "").lstrip("-")
    if sort not in SORTS or (sort == "relevance" and not searched):
        sort = "relevance" if searched else "modified"
    ordered = _ordered(qs, sort)
    if searched and indexed:
        ids = search.narrow_ordered_ids(q, sort) if base is None else None
        if ids is None:
            ids = search.ids_of(_ordered(search.apply_text_query(unfiltered, q)[0], sort).values_list("id", flat=True))
        matched = _indexed_search(ids, filters or {}, facets or ())
        if matched is not None:
            total, facet_counts, hit_ids = matched
            return SearchResult(DatasetPage(ordered, total, hit_ids), total, facet_counts, sort, searched)
    total, facet_counts, first_ids = None, {}, None
    if facets:
        key = None
        if not searched:
            key = f"catalog:facets:{search.current_version()}:{hash((str(qs.query), facets))}"
            cached = cache.get(key)
            if cached is not None:
                total, facet_counts = cached
        if total is None:
            total, facet_counts, first_ids = count_facets(qs, facets, _PAGE_ORDERS.get(sort, ()) if searched else ())
            if key:
                cache.set(key, (total, facet_counts), 60)
    if total is None and searched:  # the total and the first hits in one statement
        total, _, first_ids = count_facets(qs, (), _PAGE_ORDERS.get(sort, ()))
    if total is None:
        total = search.count_of(qs)
    return SearchResult(
        queryset=DatasetPage(ordered, total, first_ids),
        total=total,
        facets=facet_counts,
        sort=sort,
        searched=searched,
    )


def _ordered(qs: QuerySet, sort: str) -> QuerySet:
    if sort == "quality":
        return qs.order_by(F("quality__score").desc(nulls_last=True), "-metadata_modified_at", "-id")
    return qs.order_by(*_PAGE_ORDERS.get(sort, _PAGE_ORDERS["modified"]))


def _indexed_search(ids: list[int], filters: dict, wanted: tuple[str, ...]):
    """(total, facets, every hit id in order) of a text search, or None when a matched id is
    unknown to the facet index even after rebuilding it (a write being committed meanwhile).

    ``ids``: the ordered ids of the text match with visibility and sort, without the facet
    filters: one narrow query that the database orders; numpy filters and counts the rest.
    """
    import numpy as np

    from . import facet_index

    ids = np.asarray(ids, dtype=np.int64)
    index = facet_index.current()
    rows = index.rows_of(ids)
    if rows is None:  # a dataset written without bump_version (e.g. a direct ORM write)
        index = facet_index.current(rebuild=True)
        rows = index.rows_of(ids)
        if rows is None:
            return None
    mask = index.filter_mask(rows, filters)
    rows = rows[mask]
    hit_ids = ids[mask]
    found = {name: index.facet_rows(name, rows, _LIMITS.get(name)) for name in wanted}
    return len(hit_ids), _facet_items(found, wanted), hit_ids


# search.SORT_KEYS as ORM orderings, also the columns of the matched set of count_facets.
_PAGE_ORDERS = {
    sort: tuple(f"-{'metadata_modified_at' if key == 'modified' else key}" for key in keys)
    for sort, keys in search.SORT_KEYS.items()
}
_LIMITS = {"publisher": FACET_SIZE, "schema": FACET_SIZE, "format": FACET_SIZE, "territory": FACET_SIZE, "keyword": 50}


def _facet_sql(name: str, collate: str) -> str | None:
    """One arm of the facet query: rows (facet, value, label, count) over the matched set ``m``.

    ``CROSS JOIN`` keeps ``m`` as the outer loop on SQLite (a nested loop over the matched ids
    reading covering indexes); PostgreSQL plans it as an ordinary join. Ties are broken by the
    value in binary (``"C"``) order on both databases, so both give the same top N.
    """
    limit = _LIMITS.get(name)
    top = f" LIMIT {limit}" if limit else ""
    if name == "publisher":
        return (
            "SELECT 'publisher', o.slug, o.name, p.n FROM (SELECT publisher_id, COUNT(*) AS n FROM m GROUP BY publisher_id "
            f"ORDER BY COUNT(*) DESC, CAST(publisher_id AS TEXT){collate}{top}) p CROSS JOIN accounts_organisation o "
            "WHERE o.id = p.publisher_id"
        )
    if name == "publisher_kind":
        return (
            "SELECT 'publisher_kind', o.kind, NULL, SUM(p.n) FROM (SELECT publisher_id, COUNT(*) AS n FROM m GROUP BY publisher_id) p "
            "CROSS JOIN accounts_organisation o WHERE o.id = p.publisher_id GROUP BY o.kind"
        )
    if name in ("licence", "origin"):
        return f"SELECT '{name}', {name}, NULL, COUNT(*) FROM m GROUP BY {name}"
    if name == "schema":
        return (
            "SELECT 'schema', conforms_to, NULL, COUNT(*) FROM m WHERE conforms_to <> '' GROUP BY conforms_to "
            f"ORDER BY COUNT(*) DESC, conforms_to{collate}{top}"
        )
    if name in ("theme", "keyword"):
        return (
            f"SELECT '{name}', t.value, NULL, COUNT(*) FROM m CROSS JOIN catalog_datasetterm t "
            f"WHERE t.dataset_id = m.id AND t.kind = '{name}' GROUP BY t.value ORDER BY COUNT(*) DESC, t.value{collate}{top}"
        )
    if name == "format":
        return (
            "SELECT 'format', r.format, NULL, COUNT(DISTINCT r.dataset_id) FROM m CROSS JOIN catalog_resource r "
            f"WHERE r.dataset_id = m.id AND r.format <> '' GROUP BY r.format ORDER BY COUNT(DISTINCT r.dataset_id) DESC, r.format{collate}{top}"
        )
    if name == "territory":
        return (
            "SELECT 'territory', x.level || ':' || x.code, (SELECT tn.name FROM catalog_datasetterritory tn "
            "WHERE tn.code = x.code AND tn.level = x.level ORDER BY tn.id LIMIT 1), x.n FROM ("
            "SELECT t.level, t.code, COUNT(*) AS n FROM m CROSS JOIN catalog_datasetterritory t WHERE t.dataset_id = m.id "
            f"GROUP BY t.level, t.code ORDER BY COUNT(*) DESC, t.level{collate}, t.code{collate}{top}) x"
        )
    if name == "quality":
        return (
            "SELECT 'quality', CAST(q.score AS TEXT), NULL, COUNT(*) FROM m CROSS JOIN quality_datasetquality q "
            "WHERE q.dataset_id = m.id GROUP BY q.score"
        )
    return None


_PG_LINE_FACETS = ("theme", "format", "territory", "keyword")
PAGE_AHEAD = 50  # ids of the first hits fetched with the facets (a first page needs no other query)


def _pg_line_sql(name: str, collate: str) -> str:
    """PostgreSQL: a multi-valued facet counted from ``facet_terms`` (split into ``lines``).

    The bitmap heap scan of the full-text match visits every matched row anyway: splitting the
    short ``facet_terms`` it carries costs less than three index lookups per matched id.
    """
    limit = _LIMITS.get(name)
    top = f" LIMIT {limit}" if limit else ""
    if name == "territory":
        return (
            "SELECT 'territory', k, MIN(label), SUM(n) FROM (SELECT split_part(l, ':', 2) || ':' || split_part(l, ':', 3) AS k, "
            "substr(l, length(split_part(l, ':', 2)) + length(split_part(l, ':', 3)) + 13) AS label, n FROM lines "
            f"WHERE l LIKE 'territory:%%') t GROUP BY k ORDER BY SUM(n) DESC, k{collate}{top}"
        )
    prefix = f"{name}:"
    return (
        f"SELECT '{name}', substr(l, {len(prefix) + 1}), NULL, n FROM lines WHERE l LIKE '{prefix}%%' "
        f"ORDER BY n DESC, l{collate}{top}"
    )


def count_facets(qs: QuerySet, wanted: tuple[str, ...], order: tuple[str, ...] = ()) -> tuple[int, dict[str, list[dict]], list[int] | None]:
    """The number of datasets of ``qs``, the counts of the ``wanted`` facets and (when ``order``
    is given: columns of the matched set, ``-`` for descending) the ids of the first
    :data:`PAGE_AHEAD` hits — all from one statement.

    The matched set is materialised once (ids, single-valued facet columns and sort keys: no
    model instances); every facet is a ``GROUP BY`` over it (joined, on SQLite, to the covering
    indexes of the tables holding the multi-valued facets; split from ``facet_terms`` on
    PostgreSQL), and the database returns only the top values of each facet.
    """
    from django.core.exceptions import EmptyResultSet
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    columns = ["id", "publisher_id", "licence", "origin", "conforms_to"]
    columns += [c.lstrip("-") for c in order if c.lstrip("-") not in columns]
    if postgres:
        columns.append("facet_terms")
    try:
        m_sql, params = search.matched_sql(qs.order_by().values_list(*columns))
    except EmptyResultSet:  # a filter that cannot match (e.g. an empty id list)
        return 0, _facet_items({}, wanted), [] if order else None
    collate = ' COLLATE "C"' if postgres else ""
    ctes = [f"m AS MATERIALIZED ({m_sql})"]
    arms = ["SELECT 'total', NULL, NULL, COUNT(*) FROM m"]
    for name in wanted:
        if postgres and name in _PG_LINE_FACETS:
            arms.append(_pg_line_sql(name, collate))
        else:
            arms.append(_facet_sql(name, collate))
    if postgres and any(n in _PG_LINE_FACETS for n in wanted):
        keywords = "" if "keyword" in wanted else " AND l NOT LIKE 'keyword:%%'"
        ctes.append(
            "lines AS (SELECT l, COUNT(*) AS n FROM m CROSS JOIN LATERAL unnest(string_to_array(m.facet_terms, chr(10))) AS l "
            f"WHERE l <> ''{keywords} GROUP BY l)"
        )
    if order:
        keys = ", ".join(f"{c.lstrip('-')} DESC" if c.startswith("-") else c for c in order)
        arms.append(
            "SELECT 'page', CAST(id AS TEXT), NULL, ROW_NUMBER() OVER (ORDER BY " + keys + ") FROM "
            f"(SELECT * FROM m ORDER BY {keys} LIMIT {PAGE_AHEAD}) page"
        )
    sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(
        f"SELECT * FROM ({arm}) f{i}" for i, arm in enumerate(filter(None, arms))
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    total = 0
    found: dict[str, list[tuple]] = {}
    for name, value, label, n in rows:
        if name == "total":
            total = int(n)
        else:
            found.setdefault(name, []).append((value, label, int(n)))
    first = [int(v) for v, _, _ in sorted(found.pop("page", []), key=lambda r: r[2])] if order else None
    return total, _facet_items(found, wanted), first


def _ranked(rows, limit=None):
    return sorted(rows, key=lambda r: (-r[2], str(r[0])))[:limit]


def _facet_items(found: dict[str, list[tuple]], wanted) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    kinds = dict(Organisation.Kind.choices)
    origins = dict(Dataset.Origin.choices)
    for name in wanted:
        rows = _ranked(found.get(name, []), _LIMITS.get(name))
        if name == "publisher":
            out[name] = [{"value": v, "label": label, "count": n} for v, label, n in rows]
        elif name == "publisher_kind":
            out[name] = [{"value": v, "label": kinds.get(v, v), "count": n} for v, _, n in rows]
        elif name == "licence":
            out[name] = [{"value": v, "label": LICENCES[v].title if v in LICENCES else v, "count": n} for v, _, n in rows]
        elif name == "origin":
            out[name] = [{"value": v, "label": origins.get(v, v), "count": n} for v, _, n in rows]
        elif name == "schema":
            out[name] = [{"value": v, "label": schema_label(v), "count": n} for v, _, n in rows]
        elif name == "theme":
            labels = theme_labels() if any(v not in THEMES for v, _, _ in rows) else THEMES
            out[name] = [{"value": v, "label": labels.get(v, v), "count": n} for v, _, n in rows]
        elif name == "format":
            out[name] = [{"value": v, "label": v.upper(), "count": n} for v, _, n in rows]
        elif name == "territory":
            items = []
            for v, label, n in rows:
                level, _, code = v.partition(":")
                items.append({"value": v, "label": f"{label or code} ({TERRITORY_LEVELS.get(level, level).lower()})", "count": n})
            out[name] = items
        elif name == "quality":
            buckets = Counter()
            for score, _, n in rows:
                buckets[quality_bucket(int(score))] += n
            out[name] = [{"value": k, "label": QUALITY_BUCKET_LABELS[k], "count": buckets[k]} for k in QUALITY_BUCKETS if buckets[k]]
        elif name == "keyword":
            out[name] = [{"value": v, "label": v, "count": n} for v, _, n in rows]
    return out


def covering_territories(level: str, code: str) -> list[tuple[str, str]]:
    """(level, code) of a territory and, for a commune, of its EPCI, département and région."""
    from regio.territory.models import Commune, Departement

    pairs = [(level, code)]
    if level == "commune":
        commune = Commune.objects.filter(pk=code).values("epci_id", "departement_id").first()
        if commune:
            if commune.get("epci_id"):
                pairs.append(("epci", commune["epci_id"]))
            pairs.append(("departement", commune["departement_id"]))
            dept = Departement.objects.filter(pk=commune["departement_id"]).values("region_id").first()
            if dept:
                pairs.append(("region", dept["region_id"]))
    return pairs


def datasets_for_territory(level: str, code: str) -> QuerySet:
    """Public datasets covering a territory: itself, or (for a commune) its EPCI, département, région."""

    cond = Q()
    for lvl, c in covering_territories(level, code):
        cond |= Q(level=lvl, code=c)
    return public_datasets().filter(id__in=DatasetTerritory.objects.filter(cond).values("dataset_id"))


def territory_figures(level: str, code: str) -> list[TerritoryFigure]:
    own = public_datasets().filter(id__in=DatasetTerritory.objects.filter(level=level, code=code).values("dataset_id")).count()
    covering = datasets_for_territory(level, code).count()
    url = reverse("catalog:search") + f"?territory={level}:{code}"
    figures = [TerritoryFigure("Jeux de données ouverts sur ce territoire", own, "jeux", url)]
    if covering != own:
        figures.append(
            TerritoryFigure(
                "Jeux de données couvrant aussi ce territoire (intercommunalité, département, région)",
                covering, "jeux", reverse("catalog:search") + f"?territory_any={level}:{code}",
            )
        )
    return figures


def publisher_datasets(organisation: Organisation) -> QuerySet:
    return public_datasets().filter(publisher=organisation).prefetch_related("resources")
