"""SQLite: the visibility and sort keys of every dataset in memory, to order a text search's hits.

On SQLite the ordered ids of a text search used to come from one SQL statement: the FTS5 match,
then for every hit a probe of the covering index for its visibility and sort keys, then a sort.
At 100,000 datasets a broad query (18,500 hits) spent ~30 ms in those probes. Here the FTS5 table
gives only the matching rowids (and those whose title matches), and numpy looks the keys up in
arrays aligned with the facet index and sorts them with ``np.lexsort`` (same order as
``selectors._ordered``: title hit, popularity, last modification, id, all descending).

Freshness: the arrays are read once per facet-index build (the catalogue's generation token) and
then kept exact by the change log ``catalog_sortchange``, filled by triggers on
``catalog_dataset`` for every update of status, moderation, popularity or modification date and
every deletion, whoever the writer is (services, ``record_view``, harvester bulk writes, raw ORM
updates). Each search reads the log rows after the last one applied (usually none: one index
probe) and re-reads those datasets. Every log row carries a random stamp: if the last applied row
is gone (pruned, or rolled back and its number reused) the keys are read again in full.

The triggers live on ``catalog_dataset``; a Django migration that remakes that table on SQLite
drops them, so they are (re)created after every ``migrate`` (``post_migrate``) and a missing
trigger turns this path off (the SQL path answers) rather than serving stale keys.
"""

from __future__ import annotations

import threading

import numpy as np
from django.db import connection

CHANGES_TABLE = "catalog_sortchange"
KEEP_CHANGES = 20_000  # log rows kept; a process further behind reads the keys again in full
TRIGGERS = ("catalog_sortchange_update", "catalog_sortchange_delete", "catalog_sortchange_prune")
_WATCHED = ("status", "moderation", "popularity", "metadata_modified_at")

DDL = [
    f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "dataset_id INTEGER NOT NULL, stamp INTEGER NOT NULL DEFAULT (random()))",
    f"CREATE TRIGGER IF NOT EXISTS catalog_sortchange_update AFTER UPDATE OF {', '.join(_WATCHED)} "
    f"ON catalog_dataset WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in _WATCHED)} "
    f"BEGIN INSERT INTO {CHANGES_TABLE} (dataset_id) VALUES (NEW.id); END",
    "CREATE TRIGGER IF NOT EXISTS catalog_sortchange_delete AFTER DELETE ON catalog_dataset "
    f"BEGIN INSERT INTO {CHANGES_TABLE} (dataset_id) VALUES (OLD.id); END",
    f"CREATE TRIGGER IF NOT EXISTS catalog_sortchange_prune AFTER INSERT ON {CHANGES_TABLE} "
    f"BEGIN DELETE FROM {CHANGES_TABLE} WHERE seq <= NEW.seq - {KEEP_CHANGES}; END",
]


def install(conn=None) -> None:
    """Create the change log and its triggers (SQLite only; idempotent)."""
    conn = conn or connection
    if conn.vendor != "sqlite":
        return
    with conn.cursor() as cur:
        for sql in DDL:
            cur.execute(sql)


def installed() -> bool:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({', '.join('%s' for _ in TRIGGERS)})",
            list(TRIGGERS),
        )
        return cur.fetchone()[0] == len(TRIGGERS)


_KEYS_SQL = "SELECT id, status, moderation, popularity, metadata_modified_at FROM catalog_dataset"
NO_DATE = np.iinfo(np.int64).min + 1  # sorts after every date when descending, like SQL's NULL


def _microseconds(values: list) -> np.ndarray:
    """Stored datetimes (ISO text on SQLite) as microseconds: the order of the SQL ``ORDER BY``."""
    try:
        dates = np.array(values, dtype="datetime64[us]")
    except ValueError:
        dates = np.array([_parse(v) for v in values], dtype="datetime64[us]")
    micro = dates.astype(np.int64)
    micro[np.isnat(dates)] = NO_DATE
    return micro


def _parse(value):
    try:
        return np.datetime64(value, "us")
    except (TypeError, ValueError):
        return np.datetime64("NaT")


class SortKeys:
    """Visibility, popularity and modification date of the datasets ``ids`` (sorted), by position."""

    def __init__(self, ids: np.ndarray):
        from regio.core.models import PublicationStatus

        from .models import Dataset

        self.ids = ids
        self._published, self._pending = PublicationStatus.PUBLISHED.value, Dataset.Moderation.PENDING.value
        self._lock = threading.Lock()
        self.usable = installed()
        if self.usable:
            self._load_all()

    def _load_all(self) -> None:
        position = self._log_end()  # before the keys: a change in between is applied twice, never missed
        with connection.cursor() as cur:
            cur.execute(_KEYS_SQL)
            rows = cur.fetchall()
        visible = np.zeros(len(self.ids), dtype=bool)
        popularity = np.zeros(len(self.ids), dtype=np.int64)
        modified = np.full(len(self.ids), NO_DATE, dtype=np.int64)
        self.keys = (visible, popularity, modified)
        self._apply(rows, [])
        self.position = position

    def _log_end(self) -> tuple[int, int | None]:
        with connection.cursor() as cur:
            cur.execute(f"SELECT seq, stamp FROM {CHANGES_TABLE} ORDER BY seq DESC LIMIT 1")
            row = cur.fetchone()
        return (row[0], row[1]) if row else (0, None)

    def _apply(self, rows: list, gone: list[int]) -> None:
        """Set the keys of ``rows`` (id, status, moderation, popularity, modified) and make the
        datasets ``gone`` (deleted) invisible, on copies swapped in at once (readers in other
        threads keep a consistent set)."""
        visible, popularity, modified = (a.copy() for a in self.keys)
        if rows:
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            at, known = self._positions(ids)
            visible[at[known]] = np.array([r[1] == self._published and r[2] != self._pending for r in rows], dtype=bool)[known]
            popularity[at[known]] = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))[known]
            modified[at[known]] = _microseconds([r[4] for r in rows])[known]
        if gone:
            at, known = self._positions(np.asarray(gone, dtype=np.int64))
            visible[at[known]] = False
        self.keys = (visible, popularity, modified)

    def _positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``ids`` in the index and which of them it knows (a dataset created since
        the index was built is unknown: ``FacetIndex.rows_of`` rebuilds when a search meets it)."""
        at = np.minimum(np.searchsorted(self.ids, ids), max(len(self.ids) - 1, 0))
        known = self.ids[at] == ids if len(self.ids) else np.zeros(len(ids), dtype=bool)
        return at, known

    def refresh(self) -> None:
        """Apply the changes logged since the last one applied (see the module docstring)."""
        seq, stamp = self.position
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT c.seq, c.stamp, c.dataset_id, d.id, d.status, d.moderation, d.popularity, d.metadata_modified_at "
                f"FROM {CHANGES_TABLE} c LEFT JOIN catalog_dataset d ON d.id = c.dataset_id WHERE c.seq >= %s ORDER BY c.seq",
                [seq],
            )
            changes = cur.fetchall()
        if seq and (not changes or changes[0][:2] != (seq, stamp)):
            lost = True  # the last change applied is no longer in the log
        else:
            lost = bool(changes) and not seq and changes[0][0] != 1
        if seq and not lost:
            changes = changes[1:]
        if not changes and not lost:
            return
        with self._lock:
            if self.position != (seq, stamp):
                return  # another thread applied them
            if lost:
                self._load_all()
                return
            self._apply([c[3:] for c in changes if c[3] is not None], [c[2] for c in changes if c[3] is None])
            self.position = changes[-1][:2]

    def ordered_rows(self, rows: np.ndarray, title_hit: np.ndarray, sort: str) -> np.ndarray:
        """The visible ``rows`` in the order of ``sort`` (relevance, popularity or modified)."""
        visible, popularity, modified = self.keys
        from .search import SORT_KEYS

        shown = visible[rows]
        rows = rows[shown]
        columns = {"title_hit": title_hit[shown].astype(np.int8), "popularity": popularity[rows],
                   "modified": modified[rows], "id": self.ids[rows]}
        # np.lexsort: the last key is the most significant; negated for descending order.
        return rows[np.lexsort([-columns[key] for key in reversed(SORT_KEYS[sort])])]
