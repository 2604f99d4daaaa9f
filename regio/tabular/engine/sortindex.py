"""Sort and filter indexes of one Parquet file version, stored beside it as memory-mapped numpy arrays.

Per column (built on first use, then read from disk):

- ``distinct``: a small Parquet file of the column's distinct non-null values in DuckDB's own
  ``ORDER BY col ASC`` order, each with its rank (``__rang``);
- ``ranks``: for every row, in file order, the rank of its value (nulls get ``len(distinct)``,
  i.e. after every value, as ``NULLS LAST``).

Sorting then never compares values again: a sort specification (one or more columns, each
ascending or descending, nulls last, ties in file order) is a stable argsort of one integer key
combined from the ranks, stored once as ``perm-*.npy``. A filter is evaluated by DuckDB with the
very same WHERE clause on the few distinct values (a boolean per rank), so its semantics
(types, decimal commas, ``contains`` lower-casing) are exactly those of the plain query.

Everything lives in ``<file>.parquet.index/<mtime_ns>-<size>/``: another version of the file
(a re-conversion, or the file rewritten in place) gets another folder and never reads these arrays.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from regio.core.lru import BoundedCache

from .duck import quote_ident, quote_literal

RANK = "__rang"
ROW_NUMBER = "file_row_number"  # DuckDB's virtual Parquet column; a data column of that name disables the index
BATCH_ROWS = 1_000_000
_build_lock = threading.Lock()
_opened = BoundedCache(64)  # arrays mapped from disk, by path


class IndexUnavailable(Exception):
    """This column cannot be indexed faithfully: the caller uses the plain DuckDB query instead."""


@dataclass(frozen=True)
class ColumnIndex:
    ranks: np.ndarray  # one rank per row, file order
    distinct: Path  # Parquet file (__rang, <column>) of the distinct non-null values, ranked
    per_rank: np.ndarray  # how many rows have each rank (``count + 1`` entries, nulls last)

    @property
    def count(self) -> int:
        """Distinct non-null values; nulls have rank ``count``."""
        return len(self.per_rank) - 1

    def positions(self, low: int, high: int, descending: bool) -> tuple[int, int]:
        """Where the rows of ranks ``low..high`` (non-null) lie in a permutation whose first key is this column."""
        before = self.per_rank[high + 1 : self.count] if descending else self.per_rank[:low]
        start = int(before.sum())
        return start, start + int(self.per_rank[low : high + 1].sum())


def index_root(parquet: Path) -> Path:
    return Path(parquet).with_name(Path(parquet).name + ".index")


def index_dir(parquet: Path) -> Path:
    st = Path(parquet).stat()
    return index_root(parquet) / f"{st.st_mtime_ns}-{st.st_size}"


def remove_index(parquet: Path) -> None:
    """Drop every index of ``parquet`` (called when the file itself is deleted)."""
    shutil.rmtree(index_root(parquet), ignore_errors=True)


def _name(prefix: str, key: str, suffix: str) -> str:
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:24]}{suffix}"


def _load(path: Path) -> np.ndarray:
    # a plain ndarray view: numpy's memmap subclass slows every indexing
    return _opened.get_or_build(str(path), lambda: np.asarray(np.load(path, mmap_mode="r")))


def _save(path: Path, array: np.ndarray) -> None:
    """Write atomically: a reader never sees half an array, concurrent builders just replace each other."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


def _prepare_dir(parquet: Path) -> Path:
    folder = index_dir(parquet)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        for other in index_root(parquet).iterdir():  # arrays of older versions of this file are dead
            if other != folder:
                shutil.rmtree(other, ignore_errors=True)
    return folder


def _smallest_unsigned(values: np.ndarray, upper: int) -> np.ndarray:
    """uint8/uint16 when they fit: smaller files, and numpy's stable argsort is a radix sort on them."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if upper <= np.iinfo(dtype).max:
            return values.astype(dtype, copy=False)
    return values.astype(np.int64, copy=False)


def column_index(con, parquet: Path, column: str) -> ColumnIndex:
    folder = _prepare_dir(parquet)
    ranks_path = folder / _name("ranks", column, ".npy")
    distinct_path = folder / _name("distinct", column, ".parquet")
    per_rank_path = folder / _name("per-rank", column, ".npy")
    if not per_rank_path.is_file():  # written last
        with _build_lock:
            if not per_rank_path.is_file():
                _build_column(con, Path(parquet), column, ranks_path, distinct_path, per_rank_path)
    return ColumnIndex(ranks=_load(ranks_path), distinct=distinct_path, per_rank=_load(per_rank_path))


def _build_column(con, parquet: Path, column: str, ranks_path: Path, distinct_path: Path, per_rank_path: Path) -> None:
    col = quote_ident(column)
    source = f"read_parquet({quote_literal(str(parquet))})"
    tmp = distinct_path.with_name(f".{distinct_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        # DuckDB itself orders the distinct values: collation, numbers, dates exactly as ORDER BY.
        con.execute(
            f"COPY (SELECT (row_number() OVER (ORDER BY v ASC) - 1)::BIGINT AS {RANK}, v AS {col} "
            f"FROM (SELECT DISTINCT {col} AS v FROM {source} WHERE {col} IS NOT NULL) ORDER BY {RANK}) "
            f"TO {quote_literal(str(tmp))} (FORMAT parquet)"
        )
        values = con.sql(f"SELECT {col} FROM read_parquet({quote_literal(str(tmp))}) ORDER BY {RANK}").to_arrow_table().column(0)
        values = values.combine_chunks()
        count = len(values)
        parts = []
        for batch in con.sql(f"SELECT {col} FROM {source}").to_arrow_reader(BATCH_ROWS):
            data = batch.column(0)
            positions = pc.index_in(data, value_set=values)
            if positions.null_count != data.null_count:
                # A value DuckDB grouped with another (e.g. -0.0 and 0.0) that Arrow tells apart.
                raise IndexUnavailable(column)
            parts.append(pc.fill_null(positions, count).to_numpy(zero_copy_only=False))
        ranks = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        _save(ranks_path, _smallest_unsigned(ranks, count))
        os.replace(tmp, distinct_path)
        _save(per_rank_path, np.bincount(ranks, minlength=count + 1).astype(np.int64))
    finally:
        tmp.unlink(missing_ok=True)


def permutation(con, parquet: Path, keys: list[tuple[str, bool]]) -> np.ndarray:
    """The row numbers in the order of ``ORDER BY k1 [DESC] NULLS LAST, …, file row number``."""
    folder = _prepare_dir(parquet)
    path = folder / _name("perm", repr(keys), ".npy")
    if not path.is_file():
        indexes = [(column_index(con, parquet, column), descending) for column, descending in keys]
        with _build_lock:
            if not path.is_file():
                _save(path, _argsort(indexes))
    return _load(path)


def order_rows(con, parquet: Path, keys: list[tuple[str, bool]], rows: np.ndarray) -> np.ndarray:
    """``rows`` (increasing row numbers) in the order of :func:`permutation`: a stable sort of their
    combined key, so that equal keys keep the file order — for a few rows, cheaper than walking."""
    indexes = [(column_index(con, parquet, column), descending) for column, descending in keys]
    return rows[_argsort(indexes, rows)]


def _argsort(indexes: list[tuple[ColumnIndex, bool]], rows: np.ndarray | None = None) -> np.ndarray:
    """Stable argsort (of every row, or of ``rows``) on one integer key combined from the ranks, kept
    in the smallest unsigned type: numpy sorts 8- and 16-bit keys by radix, in linear time."""
    span = 1
    for index, _descending in indexes:
        span *= index.count + 1
    if len(indexes) == 1:
        key = _directed(*indexes[0], rows)
    elif span < 2**62:
        key = np.zeros(len(indexes[0][0].ranks) if rows is None else len(rows), dtype=np.int64)
        for index, descending in indexes:
            key *= index.count + 1
            key += _directed(index, descending, rows)
        key = _smallest_unsigned(key, span - 1)
    else:  # one combined integer key would overflow: numpy's lexsort is stable too
        key = None
        order = np.lexsort([_directed(index, descending, rows) for index, descending in reversed(indexes)])
    if key is not None:
        order = np.argsort(key, kind="stable")
    return order.astype(np.int32 if len(order) < 2**31 else np.int64, copy=False)


def _directed(index: ColumnIndex, descending: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """The ranks as sort key (same small dtype); descending reverses the values but keeps nulls last."""
    ranks = np.asarray(index.ranks) if rows is None else index.ranks[rows]
    if not descending:
        return ranks
    reversed_ranks = np.subtract(index.count - 1, ranks, dtype=np.int64)
    reversed_ranks[ranks == index.count] = index.count
    return _smallest_unsigned(reversed_ranks, index.count)


def matching_ranks(con, index: ColumnIndex, where: str, params: list) -> np.ndarray:
    """A boolean per rank (nulls included, last): does a row with that value pass ``where``?"""
    selected = con.execute(f"SELECT {RANK} FROM read_parquet({quote_literal(str(index.distinct))}){where}", params).fetchnumpy()[RANK]
    table = np.zeros(index.count + 1, dtype=bool)
    table[selected.astype(np.int64)] = True
    # Rows whose value is NULL: no comparison or ``contains`` is ever true on NULL in DuckDB.
    return table


class Selection:
    """The rows of one file version passing one filter set: a boolean per row (and, on demand, their row numbers)."""

    def __init__(self, mask: np.ndarray, passes: dict[str, np.ndarray]):
        self.mask = mask
        self.passes = passes  # column → a boolean per rank
        self.count = int(np.count_nonzero(mask))
        self._rows = None

    @property
    def rows(self) -> np.ndarray:
        if self._rows is None:
            self._rows = np.flatnonzero(self.mask)
        return self._rows

    @property
    def nbytes(self) -> int:
        return self.mask.nbytes + (self._rows.nbytes if self._rows is not None else 0)


def passing_run(passes: np.ndarray) -> tuple[int, int] | None:
    """(low, high) when the passing ranks are exactly ``low..high`` (a comparison on an ordered column, an exact value)."""
    passing = np.flatnonzero(passes)
    if len(passing) and passing[-1] - passing[0] + 1 == len(passing):
        return int(passing[0]), int(passing[-1])
    return None


BLOCK_ROWS = 262_144  # the rows of one block and their temporaries stay in the CPU cache


def filter_mask(tests: list[tuple[np.ndarray, np.ndarray]], rows: int) -> np.ndarray:
    """A boolean per row: ``passes[ranks[row]]`` for every (ranks, passes-per-rank) test.

    A contiguous run of passing ranks (any comparison on an ordered column, an exact value) is one
    or two integer comparisons, several times faster than a table lookup; all tests are applied
    block by block so that the memory is read once instead of once per comparison."""
    plans = []
    for ranks, passes in tests:
        run = passing_run(passes)
        if run is None and not passes.any():
            return np.zeros(rows, dtype=bool)
        if run is None:
            plans.append((ranks, [(None, passes)]))
        elif run[0] == run[1]:
            plans.append((ranks, [(np.equal, run[0])]))
        else:
            low, high = run
            plans.append((ranks, [(np.greater_equal, low)] * (low > 0) + [(np.less_equal, high)] * (high < len(passes) - 1)))
    mask = np.empty(rows, dtype=bool)
    scratch = np.empty(BLOCK_ROWS, dtype=bool)
    for start in range(0, rows, BLOCK_ROWS):
        block = mask[start : start + BLOCK_ROWS]
        block[:] = True
        part = scratch[: len(block)]
        for ranks, steps in plans:
            values = ranks[start : start + BLOCK_ROWS]
            for compare, bound in steps:
                if compare is None:
                    np.take(bound, values, out=part)
                else:
                    compare(values, bound, out=part)
                block &= part
    return mask


_selections = BoundedCache(256 * 1024**2, weigh=lambda found: found.nbytes)


def selection(key: str, build) -> Selection:
    """The selection of a filter set, kept in memory (least recently used first out, 256 MB at most).

    ``key`` must identify the file version and the filters (``query.total_cache_key``)."""
    return _selections.get_or_build(key, lambda: Selection(*build()))


def build_all_columns(con, parquet: Path, columns) -> None:
    """Rank every column now (after a conversion, in the worker), so that the first filter or sort of a
    page only combines arrays; a column that cannot be indexed is simply left to the plain query."""
    for column in columns:
        try:
            column_index(con, parquet, column)
        except IndexUnavailable:
            continue
