"""Per-process, in-memory facet index of the catalogue: facet filters and counts in numpy.

A text search asks the database only for the ordered ids of the datasets matching the words
(visibility, full text and sort stay in SQL, unchanged); this index then applies the facet filters
as boolean masks and counts every facet with ``np.bincount`` over the matched rows.

The index holds, for every dataset (any status) by position in the sorted id array, the code of
each single-valued facet (publisher, licence, origin, schema, quality score) and, for the
multi-valued ones (theme, keyword, format, territory), CSR arrays (``indptr`` per dataset,
``values`` = codes). It is read from the tables that hold the facets (the same sources as the SQL
counting of ``selectors.count_facets`` on SQLite) and rebuilt lazily when the catalogue's
generation token (``search.current_tokens``, replaced by every write) differs from the one it
was built under, or when a matched id is unknown to it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from django.db import connection

from . import search
from .sort_keys import SortKeys

NO_SCORE = np.iinfo(np.int32).min  # a dataset without a quality row


@dataclass
class Multi:
    """A multi-valued facet: the codes of dataset row ``i`` are ``values[indptr[i]:indptr[i + 1]]``."""

    indptr: np.ndarray
    values: np.ndarray
    vocab: list

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(codes, position in ``rows`` of the row each code belongs to) for the given rows."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        total = int(lengths.sum())
        owner = np.repeat(np.arange(len(rows)), lengths)
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return self.values[np.arange(total) + offsets], owner

    def has_any(self, rows: np.ndarray, codes: list[int]) -> np.ndarray:
        values, owner = self.gather(rows)
        found = np.zeros(len(rows), dtype=bool)
        found[owner[np.isin(values, codes)]] = True
        return found

    def counts(self, rows: np.ndarray) -> np.ndarray:
        return np.bincount(self.gather(rows)[0], minlength=len(self.vocab))


def binary_ranks(values: list) -> np.ndarray:
    """Rank of each value in ascending (code point, i.e. binary UTF-8) order: the tie-breaking
    order of the SQL facet counting (``COLLATE "C"`` on PostgreSQL, binary on SQLite)."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return ranks


def top_codes(counts: np.ndarray, ranks: np.ndarray, limit: int | None) -> np.ndarray:
    """Codes counted at least once; only the ``limit`` first by (count descending, binary order)."""
    present = np.flatnonzero(counts)
    if limit is not None and len(present) > limit:
        present = present[np.lexsort((ranks[present], -counts[present]))[:limit]]
    return present


class Encoder:
    """Strings (or tuples) → dense integer codes, in order of first appearance."""

    def __init__(self):
        self.codes: dict = {}
        self.vocab: list = []

    def __call__(self, value) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.vocab)
            self.vocab.append(value)
        return code


def _multi(ids: np.ndarray, pairs: list[tuple[int, int]], vocab: list) -> Multi:
    """CSR arrays from (dataset id, code) pairs; a code appears once per dataset."""
    if pairs:
        arr = np.array(pairs, dtype=np.int64)
        rows, codes = np.searchsorted(ids, arr[:, 0]), arr[:, 1]
        order = np.lexsort((codes, rows))
        rows, codes = rows[order], codes[order]
        keep = np.ones(len(rows), dtype=bool)
        keep[1:] = (rows[1:] != rows[:-1]) | (codes[1:] != codes[:-1])
        rows, codes = rows[keep], codes[keep]
    else:
        rows, codes = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=len(ids))))).astype(np.int64)
    return Multi(indptr, codes.astype(np.int32), vocab)


class FacetIndex:
    def __init__(self, token: str, scores_token: str):
        self.token = token
        with connection.cursor() as cur:
            cur.execute("SELECT id, publisher_id, licence, origin, conforms_to FROM catalog_dataset ORDER BY id")
            datasets = cur.fetchall()
            cur.execute("SELECT id, slug, name, kind FROM accounts_organisation ORDER BY id")
            organisations = cur.fetchall()
            cur.execute("SELECT dataset_id, kind, value FROM catalog_datasetterm")
            terms = cur.fetchall()
            cur.execute("SELECT dataset_id, format FROM catalog_resource WHERE format <> ''")
            formats = cur.fetchall()
            cur.execute("SELECT dataset_id, level, code, name FROM catalog_datasetterritory ORDER BY id")
            territories = cur.fetchall()
        self.ids = np.array([d[0] for d in datasets], dtype=np.int64)
        self.publisher_ids = np.array([o[0] for o in organisations], dtype=np.int64)
        self.publisher_slug = [o[1] for o in organisations]
        self.publisher_code = {slug: i for i, slug in enumerate(self.publisher_slug)}
        self.publisher_ranks = binary_ranks([str(o[0]) for o in organisations])  # SQL: CAST(publisher_id AS TEXT)
        self.publisher_name = [o[2] for o in organisations]
        kind = Encoder()
        self.publisher_kind_of = np.array([kind(o[3]) for o in organisations], dtype=np.int32)
        self.publisher_kinds = kind.vocab
        self.publisher = np.searchsorted(self.publisher_ids, [d[1] for d in datasets]).astype(np.int32)
        self.single = {}
        for name, column in (("licence", 2), ("origin", 3), ("schema", 4)):
            enc = Encoder()
            self.single[name] = (np.array([enc(d[column]) for d in datasets], dtype=np.int32), enc.vocab)
        self.load_scores(scores_token)
        self.multi = {}
        for kind_name in ("theme", "keyword"):
            enc = Encoder()
            pairs = [(d, enc(v)) for d, k, v in terms if k == kind_name]
            self.multi[kind_name] = _multi(self.ids, pairs, enc.vocab)
        enc = Encoder()
        self.multi["format"] = _multi(self.ids, [(d, enc(f)) for d, f in formats], enc.vocab)
        enc = Encoder()
        # The label of a territory is the name of its first row (by id), as in the SQL counting.
        self.territory_name: dict[tuple[str, str], str] = {}
        pairs = []
        for d, level, code, name in territories:
            self.territory_name.setdefault((level, code), name)
            pairs.append((d, enc((level, code))))
        self.multi["territory"] = _multi(self.ids, pairs, enc.vocab)
        self.ranks = {name: binary_ranks(multi.vocab) for name, multi in self.multi.items()}
        self.ranks["schema"] = binary_ranks(self.single["schema"][1])
        self.sort_keys = SortKeys(self.ids) if connection.vendor == "sqlite" else None

    @property
    def sorts_hits(self) -> bool:
        """Whether :meth:`ordered_ids` can order a search's hits (SQLite, change log installed)."""
        return self.sort_keys is not None and self.sort_keys.usable

    def ordered_ids(self, matched: np.ndarray, title: np.ndarray, sort: str) -> np.ndarray | None:
        """The public datasets among ``matched`` (full-text rowids) in the order of ``sort``,
        ``title`` being the rowids whose title matches; None if an id is unknown to the index."""
        rows = self.rows_of(matched)
        if rows is None:
            return None
        self.sort_keys.refresh()
        title_hit = np.isin(matched, title, assume_unique=True)
        return self.ids[self.sort_keys.ordered_rows(rows, title_hit, sort)]

    def load_scores(self, scores_token: str) -> None:
        """(Re)read the quality scores: they change without any other facet (regio.quality)."""
        with connection.cursor() as cur:
            cur.execute("SELECT dataset_id, score FROM quality_datasetquality")
            scores = cur.fetchall()
        score = np.full(len(self.ids), NO_SCORE, dtype=np.int32)
        if scores:
            arr = np.array(scores, dtype=np.int64)
            rows = np.minimum(np.searchsorted(self.ids, arr[:, 0]), max(len(self.ids) - 1, 0))
            known = self.ids[rows] == arr[:, 0] if len(self.ids) else np.zeros(len(rows), dtype=bool)
            score[rows[known]] = arr[known, 1]  # a dataset created since is unknown: rows_of() rebuilds
        self.score, self.scores_token = score, scores_token

    def rows_of(self, ids: list[int]) -> np.ndarray | None:
        """Positions of ``ids`` in the index, or None if one of them is unknown to it."""
        wanted = np.asarray(ids, dtype=np.int64)
        rows = np.searchsorted(self.ids, wanted)
        if len(rows) and (rows.max() >= len(self.ids) or not np.array_equal(self.ids[rows], wanted)):
            return None
        return rows

    # ------------------------------------------------------------------ filters

    def condition(self, name: str, value: str, rows: np.ndarray) -> np.ndarray:
        """Mask over ``rows``: "the dataset has ``value`` for the facet ``name``"
        (the semantics of ``selectors.filter_condition``)."""
        if name == "publisher":
            return self.publisher[rows] == self.publisher_code.get(value, -1)
        if name == "publisher_kind":
            kind = self.publisher_kinds.index(value) if value in self.publisher_kinds else -1
            return self.publisher_kind_of[self.publisher[rows]] == kind
        if name in ("theme", "keyword", "format"):
            value = value.upper() if name == "theme" else value.lower()
            multi = self.multi[name]
            return multi.has_any(rows, [i for i, v in enumerate(multi.vocab) if v == value])
        if name in ("territory", "territory_any"):
            multi = self.multi["territory"]
            wanted = territory_pairs(name, value)
            codes = [i for i, (level, code) in enumerate(multi.vocab) if (level, code) in wanted or (None, code) in wanted]
            return multi.has_any(rows, codes)
        if name in self.single:
            codes, vocab = self.single[name]
            return np.isin(codes[rows], [i for i, v in enumerate(vocab) if v == value])
        if name == "quality":
            from regio.quality.catalog_link import BUCKETS

            low, high = BUCKETS.get(value, (-1, -1))
            score = self.score[rows]
            return (score >= low) & (score <= high)
        raise ValueError(f"unknown filter {name!r}")

    def filter_mask(self, rows: np.ndarray, filters: dict) -> np.ndarray:
        """The rows passing every facet filter (``selectors.apply_filters``: items ANDed, a list
        item ORs its values, ``-name`` excludes every value given)."""
        from .selectors import FILTERS, filter_items

        mask = np.ones(len(rows), dtype=bool)
        for name in FILTERS:
            for item in filter_items(filters, name):
                values = item if isinstance(item, list | tuple) else [item]
                any_of = np.zeros(len(rows), dtype=bool)
                for value in values:
                    any_of |= self.condition(name, value, rows)
                mask &= any_of
            for item in filter_items(filters, f"-{name}"):
                for value in item if isinstance(item, list | tuple) else [item]:
                    mask &= ~self.condition(name, value, rows)
        return mask

    # ------------------------------------------------------------------ counts

    def facet_rows(self, name: str, rows: np.ndarray, limit: int | None) -> list[tuple]:
        """(value, label, count) of facet ``name`` over ``rows``: the rows ``count_facets`` gets
        from SQL for it (the top ``limit`` values where its SQL cuts them, ties in binary order)."""
        if name in ("publisher", "publisher_kind"):
            per_publisher = np.bincount(self.publisher[rows], minlength=len(self.publisher_ids))
            present = np.flatnonzero(per_publisher)
            if name == "publisher_kind":
                per_kind = np.bincount(self.publisher_kind_of[present], weights=per_publisher[present],
                                       minlength=len(self.publisher_kinds))
                return [(self.publisher_kinds[k], None, int(per_kind[k])) for k in np.flatnonzero(per_kind)]
            top = top_codes(per_publisher, self.publisher_ranks, limit).tolist()
            return [(self.publisher_slug[p], self.publisher_name[p], int(per_publisher[p])) for p in top]
        if name == "quality":
            score = self.score[rows]
            values, counts = np.unique(score[score != NO_SCORE], return_counts=True)
            return [(str(v), None, int(n)) for v, n in zip(values.tolist(), counts.tolist(), strict=True)]
        if name in self.single:
            codes, vocab = self.single[name]
            counts = np.bincount(codes[rows], minlength=len(vocab))
            if name == "schema":
                if "" in vocab:
                    counts[vocab.index("")] = 0  # SQL: conforms_to <> ''
                return [(vocab[c], None, int(counts[c])) for c in top_codes(counts, self.ranks["schema"], limit).tolist()]
            return [(vocab[c], None, int(counts[c])) for c in np.flatnonzero(counts).tolist()]
        multi = self.multi[name]
        counts = multi.counts(rows)
        top = top_codes(counts, self.ranks[name], limit).tolist()
        if name == "territory":
            return [
                (f"{level}:{code}", self.territory_name[(level, code)], int(counts[c]))
                for c in top
                for level, code in [multi.vocab[c]]
            ]
        return [(multi.vocab[c], None, int(counts[c])) for c in top]


def territory_pairs(name: str, value: str) -> set[tuple[str | None, str]]:
    """The (level, code) pairs a territory filter accepts; level None: any level."""
    level, _, code = value.rpartition(":")
    if name == "territory":
        return {(level or None, code)}
    from .selectors import covering_territories

    return set(covering_territories(level or "commune", code))


_lock = threading.Lock()
_indexes: dict[str, FacetIndex] = {}


def current(*, rebuild: bool = False) -> FacetIndex:
    """The index of this process for the default database, rebuilt if the catalogue changed
    (only its scores reloaded if only quality scores changed)."""
    token, scores_token = search.current_tokens()
    key = connection.settings_dict.get("NAME") or ""
    index = _indexes.get(key)
    if index is None or index.token != token or rebuild:
        with _lock:
            index = _indexes.get(key)
            if index is None or index.token != token or rebuild:
                index = _indexes[key] = FacetIndex(token, scores_token)
    if index.scores_token != scores_token:
        with _lock:
            if index.scores_token != scores_token:
                index.load_scores(scores_token)
    return index
