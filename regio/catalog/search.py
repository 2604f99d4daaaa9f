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

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from regio.core.text import normalize_text

from .stemmer import STOP_WORDS, stem_text, stem_tokens

FTS_TABLE = "catalog_dataset_fts"
_WORD = re.compile(r"^[a-z0-9]+$")


VERSION_KEY = "catalog:search-version"


def bump_version() -> None:
    """Invalidate cached facet counts (they are keyed by this version; 60 s at most elsewhere)."""
    from django.core.cache import cache

    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, None)


def current_version() -> int:
    from django.core.cache import cache

    return cache.get_or_set(VERSION_KEY, 1, None)


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
            cur.executemany(
                "UPDATE catalog_dataset SET search_vector = "
                "setweight(to_tsvector('french', unaccent(%s)), 'A') || "
                "setweight(to_tsvector('french', unaccent(%s)), 'B') WHERE id = %s",
                [(title, body, pk) for pk, title, body in rows],
            )
    return len(rows)


def index_dataset_ids(ids: list[int]) -> int:
    """(Re)index many datasets given by id in a constant number of queries (bulk writers: harvesting).

    Same documents as :func:`index_datasets`; on PostgreSQL one ``UPDATE … FROM (VALUES …)`` per
    500 datasets instead of one statement each.
    """
    from .models import Dataset

    ids = list(dict.fromkeys(ids))
    if not ids:
        return 0
    datasets = list(Dataset.objects.filter(pk__in=ids).select_related("publisher").prefetch_related("territories"))
    if vendor() != "postgresql":
        return index_datasets(datasets)
    rows = [(d.pk, *document_parts(d)) for d in datasets]
    with connection.cursor() as cur:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            cur.execute(
                "UPDATE catalog_dataset AS d SET search_vector = "
                "setweight(to_tsvector('french', unaccent(v.title)), 'A') || "
                "setweight(to_tsvector('french', unaccent(v.body)), 'B') "
                f"FROM (VALUES {', '.join(['(%s::integer, %s::text, %s::text)'] * len(chunk))}) AS v(id, title, body) "
                "WHERE d.id = v.id",
                [value for row in chunk for value in row],
            )
    return len(rows)


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
