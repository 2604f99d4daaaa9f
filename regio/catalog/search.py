"""Full-text search of datasets: one interface, two backends chosen by the database vendor.

* SQLite: an FTS5 virtual table ``catalog_dataset_fts(title, body)`` whose rowid is the dataset id,
  filled with text folded (accents, case) and stemmed by :mod:`regio.catalog.stemmer`.
* PostgreSQL: a ``search_vector tsvector`` column (GIN index) of
  ``setweight(to_tsvector('french', unaccent(title)), 'A') || setweight(…body…, 'B')``.

Both are created by migration 0002 (only on their own vendor) and maintained by
:func:`index_datasets`, called by the services layer after every write.

Relevance is defined identically on both backends so that they return the same ordered results:
every query word must match (title or body); datasets whose title matches all the words come first
(title weighted over description: SQLite column filter ``title :``, PostgreSQL weight-A query
``word:A``); ties are broken by popularity, then by last modification, then by id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from regio.core.text import normalize_text

from .stemmer import STOP_WORDS, stem_text, stem_tokens

FTS_TABLE = "catalog_dataset_fts"
_WORD = re.compile(r"^[a-z0-9]+$")


def bump_version(*, scores_only: bool = False) -> None:
    """A write changed what searches return: replace the catalogue's generation token.

    Stored in the database (``SearchGeneration``), inside the writer's transaction: other
    processes see the new token exactly when they can see the write. Keys the in-memory facet
    index (``facet_index``) and the cached counts of the browse page. ``scores_only`` (quality
    scores stored by ``regio.quality``): only the ``scores`` token changes, and the facet index
    reloads its score column instead of rebuilding everything.
    """
    import uuid

    from .models import SearchGeneration

    token = uuid.uuid4().hex
    if not SearchGeneration.objects.filter(pk=1).update(**{"scores" if scores_only else "token": token}):
        SearchGeneration.objects.update_or_create(pk=1, defaults={"token": token, "scores": token})


def current_tokens() -> tuple[str, str]:
    """(token, scores) of the catalogue's generation (created on first use)."""
    with connection.cursor() as cur:
        cur.execute("SELECT token, scores FROM catalog_searchgeneration WHERE id = 1")
        row = cur.fetchone()
    if row:
        return row[0], row[1]
    bump_version()
    return current_tokens()


def current_version() -> str:
    return ":".join(current_tokens())


def vendor() -> str:
    return connection.vendor


def document_parts(dataset) -> tuple[str, str]:
    """(title, body) indexed for a dataset: body = description, keywords, publisher, territories."""
    keywords = " ".join(dataset.keywords or [])
    territories = " ".join(t.name for t in dataset.territories.all()) if dataset.pk else ""
    body = " ".join([dataset.description or "", keywords, dataset.publisher.name, territories])
    return dataset.title, body


def index_datasets(datasets: Iterable) -> int:
    """(Re)index the given datasets (publisher and territories should be prefetched)."""
    rows = [(d.pk, *document_parts(d)) for d in datasets]
    if not rows:
        return 0
    with connection.cursor() as cur:
        if vendor() == "sqlite":
            ids = [r[0] for r in rows]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cur.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({','.join('%s' for _ in chunk)})", chunk)
            cur.executemany(
                f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (%s, %s, %s)",
                [(pk, stem_text(title), stem_text(body)) for pk, title, body in rows],
            )
        elif vendor() == "postgresql":
            for start in range(0, len(rows), 1000):  # one statement per 1,000 datasets
                chunk = rows[start : start + 1000]
                cur.execute(
                    "UPDATE catalog_dataset AS d SET search_vector = "
                    "setweight(to_tsvector('french', unaccent(v.title)), 'A') || "
                    "setweight(to_tsvector('french', unaccent(v.body)), 'B') "
                    "FROM unnest(%s::integer[], %s::text[], %s::text[]) AS v(id, title, body) WHERE d.id = v.id",
                    [[r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]],
                )
    return len(rows)


def index_dataset_ids(ids: Iterable[int], batch: int = 1000) -> int:
    """(Re)index the datasets with these ids (bulk writers: call it after writing the rows,
    their territories and publisher). ``facet_terms`` must be up to date too: PostgreSQL counts
    the multi-valued facets from it (services.facet_terms_for)."""
    from .models import Dataset

    ids = list(dict.fromkeys(ids))
    count = 0
    for start in range(0, len(ids), batch):
        chunk = Dataset.objects.filter(pk__in=ids[start : start + batch]).select_related("publisher").prefetch_related("territories")
        count += index_datasets(chunk)
    return count


def remove_from_index(ids: list[int]) -> None:
    if vendor() == "sqlite" and ids:
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({','.join('%s' for _ in ids)})", ids)


def rebuild_index(batch: int = 2000) -> int:
    from .models import Dataset

    if vendor() == "sqlite":
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {FTS_TABLE}")
    count = 0
    qs = Dataset.objects.select_related("publisher").prefetch_related("territories").order_by("pk")
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last)[:batch])
        if not chunk:
            break
        count += index_datasets(chunk)
        last = chunk[-1].pk
    return count


def query_words(q: str) -> list[str]:
    """Folded words of a query, stop words removed (shared by both backends)."""
    return [w for w in normalize_text(q).split() if _WORD.match(w) and w not in STOP_WORDS]


def apply_text_query(qs: QuerySet, q: str) -> tuple[QuerySet, bool]:
    """Restrict ``qs`` to datasets matching every word of ``q``; annotate ``title_hit``.

    Returns (queryset, searched): ``searched`` is False when ``q`` holds no searchable word.
    """
    words = query_words(q)
    if not words:
        return qs, False
    if vendor() == "postgresql":
        match = " & ".join(words)
        title = " & ".join(f"{w}:A" for w in words)
        # A condition on the row itself (not "id IN (…)") so that the planner can use the GIN index.
        qs = qs.filter(RawSQL("catalog_dataset.search_vector @@ to_tsquery('french', %s)", [match], output_field=BooleanField()))
        qs = qs.annotate(
            title_hit=RawSQL("catalog_dataset.search_vector @@ to_tsquery('french', %s)", [title], output_field=BooleanField())
        )
        return qs, True
    stems = stem_tokens(" ".join(words))
    match = " AND ".join(f'"{s}"' for s in stems)
    title = " AND ".join(f'title : "{s}"' for s in stems)
    qs = qs.filter(id__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match]))
    qs = qs.annotate(
        title_hit=RawSQL(
            f"catalog_dataset.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",
            [title],
            output_field=BooleanField(),
        )
    )
    return qs, True


# The sorts of a search as their keys, most significant first, every one descending: the one
# definition the ORM ordering (selectors), the PostgreSQL search table and SQLite's numpy sort keys
# (sort_keys) all follow. ("modified" is the dataset's metadata_modified_at.)
SORT_KEYS = {
    "relevance": ("title_hit", "popularity", "modified", "id"),
    "popularity": ("popularity", "modified", "id"),
    "modified": ("modified", "id"),
}

SEARCH_TABLE = "catalog_datasetsearch"  # PostgreSQL only, migration 0008, kept by triggers


def narrow_ordered_ids(q: str, sort: str) -> np.ndarray | None:
    """The ids of the public datasets matching ``q`` (every word), in the order of ``sort``, as
    ``apply_text_query`` + ``selectors._ordered`` on ``public_datasets()`` give them, without
    visiting the wide dataset rows. None when not applicable (sort, no word, other database).

    * SQLite: :func:`_sqlite_ordered_ids` (FTS5 rowids, ordered in numpy).
    * PostgreSQL: the narrow search table: the rows the GIN match visits are short (visibility,
      sort keys, title lexemes), so a hit costs a fraction of a wide ``catalog_dataset`` page,
      and the title test reads the short title vector.
    """
    words = query_words(q)
    if sort not in SORT_KEYS or not words:
        return None
    if vendor() == "sqlite":
        return _sqlite_ordered_ids(words, sort)
    if vendor() != "postgresql":
        return None
    match = " & ".join(words)
    title = " & ".join(f"{w}:A" for w in words)
    # The planner prices a sequential scan of the table without the cost of reading each row's
    # out-of-line search_vector: for a word in ~20 % of the datasets it may pick it (measured:
    # 190 ms at 100,000 datasets, against 30 ms through the GIN index). Seq scans are turned off
    # for this statement only: SET LOCAL inside a savepoint rolled back at once (nothing written).
    with transaction.atomic(), connection.cursor() as cur:
        savepoint = transaction.savepoint()
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(
            "SELECT id FROM (SELECT id, popularity, modified, title_vector @@ to_tsquery('french', %s) AS title_hit "
            f"FROM {SEARCH_TABLE} WHERE visible AND search_vector @@ to_tsquery('french', %s)) s "
            f"ORDER BY {', '.join(f'{key} DESC' for key in SORT_KEYS[sort])}",
            [title, match],
        )
        rows = cur.fetchall()
        transaction.savepoint_rollback(savepoint)
    return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))


def _sqlite_ordered_ids(words: list[str], sort: str) -> np.ndarray | None:
    """SQLite: the FTS5 table gives the matching rowids and those whose title matches; the facet
    index orders the public ones in numpy (``sort_keys``). None when it cannot (change log
    missing, or a dataset unknown to the index even after rebuilding it)."""
    from . import facet_index

    stems = stem_tokens(" ".join(words))
    found = []
    with connection.cursor() as cur:
        for match in (" AND ".join(f'"{s}"' for s in stems), " AND ".join(f'title : "{s}"' for s in stems)):
            cur.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])
            rows = cur.fetchall()
            found.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    index = facet_index.current()
    if not index.sorts_hits:
        return None
    ids = index.ordered_ids(*found, sort)
    if ids is None:
        ids = facet_index.current(rebuild=True).ordered_ids(*found, sort)
    return ids


COVERING_INDEX = "catalog_dataset_search_cover"  # SQLite only, migration 0005


def matched_sql(qs: QuerySet) -> tuple[str, list]:
    """SQL and parameters of ``qs``, for use inside a larger statement.

    On SQLite, a full-text query reads the dataset columns it needs (visibility, single-valued
    facets, sort keys) from the covering index rather than from the wide table rows: looking
    3,700 ids up in the table costs ~10 times more. The planner does not pick it by itself.
    """
    sql, params = qs.query.sql_with_params()
    if vendor() == "sqlite" and FTS_TABLE in sql:
        sql = sql.replace('FROM "catalog_dataset"', f'FROM "catalog_dataset" INDEXED BY {COVERING_INDEX}', 1)
    return sql, list(params)


def ids_of(qs: QuerySet) -> list[int]:
    """The ids selected by ``qs`` (a ``values_list("id", flat=True)``, possibly sliced)."""
    try:
        sql, params = matched_sql(qs)
    except EmptyResultSet:  # e.g. an empty slice
        return []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]


def count_of(qs: QuerySet) -> int:
    try:
        sql, params = matched_sql(qs.order_by().values_list("id"))
    except EmptyResultSet:
        return 0
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM ({sql}) matched", params)
        return cur.fetchone()[0]
