"""Pre-aggregated Parquet files derived from the line-level snapshot (``snapshot.py``).

The explorer's aggregates group millions of lines by text keys (beneficiary SIRET + name); the
same figures come from far fewer rows already summed per combination of the filterable columns,
with the beneficiary as a compact integer key. For one set of snapshot files (named by a digest of
their names, modification times and sizes, so never stale: new lines mean new snapshot files,
hence a new digest) this module writes:

* ``aggregate-<digest>-beneficiaries.parquet``: the beneficiary dictionary, one integer key per
  (SIRET, name, normalised name), shared by every rollup below;
* ``aggregate-<digest>-<rollup>.parquet`` for each of :data:`ROLLUPS`: one row per combination
  of its dimensions with ``amount_cents`` (sum), ``n`` (lines), ``n_above`` (lines above
  23 000 €) and ``n_above_nosiret`` (of which without beneficiary SIRET), sorted by year.

A query uses the smallest rollup holding every column it filters or groups on; filters no rollup
can answer (amount range, words of the object) read the line-level snapshot. Every file is written
under a staging name and renamed into place (atomic), the dictionary last: a reader that finds it
finds the rollups too."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import uuid
from pathlib import Path

from . import snapshot

log = logging.getLogger(__name__)

MEASURES = ["amount_cents", "n", "n_above", "n_above_nosiret"]
FINE = ["year", "organisation_id", "grantor_siret", "grantor_name", "nature", "theme", "beneficiary_commune_id",
        "beneficiary_epci_id", "beneficiary_departement_id", "is_demo", "beneficiary_key"]
# smallest first: a query takes the first one holding its columns
ROLLUPS: dict[str, list[str]] = {
    "grantor": ["year", "organisation_id", "grantor_siret", "grantor_name", "nature", "theme", "is_demo"],
    "territory": ["year", "theme", "beneficiary_commune_id", "beneficiary_epci_id", "beneficiary_departement_id"],
    "beneficiary": ["year", "beneficiary_key"],
    "fine": FINE,
}
DICTIONARY = "beneficiaries"
_build_lock = threading.Lock()


def digest(files: list[Path]) -> str:
    parts = []
    for path in files:
        st = path.stat()
        parts.append(f"{path.name}:{st.st_mtime_ns}:{st.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def paths(key: str) -> dict[str, Path]:
    base = snapshot.folder()
    return {name: base / f"aggregate-{key}-{name}.parquet" for name in [*ROLLUPS, DICTIONARY]}


class Aggregate:
    """The rollup files of one snapshot state."""

    def __init__(self, files: dict[str, Path]):
        self.files = files

    @property
    def dictionary(self) -> Path:
        return self.files[DICTIONARY]

    def rollup_for(self, columns: set[str]) -> tuple[str, Path]:
        for name, dims in ROLLUPS.items():
            if columns <= set(dims):
                return name, self.files[name]
        raise KeyError(f"aucun agrégat ne contient {sorted(columns)}")


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def build(files: list[Path], key: str) -> dict[str, Path]:
    """Write the dictionary and the rollups of ``files`` (DuckDB, two threads)."""
    import duckdb

    from regio.tabular.engine.duck import BASE_CONFIG

    targets = paths(key)
    staging = {name: path.with_name(f".staging-aggregate-{uuid.uuid4().hex}.parquet") for name, path in targets.items()}
    source = "read_parquet([" + ", ".join(_quote(p) for p in files) + "])"
    with tempfile.TemporaryDirectory(prefix="regio-finance-agg-") as tmp:
        con = duckdb.connect(config={**BASE_CONFIG, "threads": 2, "memory_limit": "1GB", "temp_directory": str(Path(tmp) / "spill")})
        try:
            con.execute(f"""
                CREATE TABLE dict AS
                SELECT (row_number() OVER (ORDER BY beneficiary_siret, beneficiary_name, beneficiary_name_search) - 1)::INTEGER
                       AS beneficiary_key, beneficiary_siret, beneficiary_name, beneficiary_name_search
                FROM (SELECT DISTINCT beneficiary_siret, beneficiary_name, beneficiary_name_search FROM {source})""")
            dims = ", ".join(FINE)
            con.execute(f"""
                CREATE TABLE fine AS
                SELECT {dims}, sum(amount_cents)::BIGINT AS amount_cents, count(*)::BIGINT AS n,
                       (count(*) FILTER (WHERE amount_cents > 2300000))::BIGINT AS n_above,
                       (count(*) FILTER (WHERE amount_cents > 2300000 AND beneficiary_siret = ''))::BIGINT AS n_above_nosiret
                FROM {source} l JOIN dict d USING (beneficiary_siret, beneficiary_name, beneficiary_name_search)
                GROUP BY ALL""")
            for name, rollup_dims in ROLLUPS.items():
                cols = ", ".join(rollup_dims)
                sums = ", ".join(f"sum({m})::BIGINT AS {m}" for m in MEASURES)
                con.execute(f"COPY (SELECT {cols}, {sums} FROM fine GROUP BY ALL ORDER BY year) TO {_quote(staging[name])} "
                            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
            con.execute(f"COPY (SELECT * FROM dict ORDER BY beneficiary_key) TO {_quote(staging[DICTIONARY])} "
                        "(FORMAT parquet, COMPRESSION zstd)")
        except BaseException:
            for path in staging.values():
                path.unlink(missing_ok=True)
            raise
        finally:
            con.close()
    for name in [*ROLLUPS, DICTIONARY]:  # the dictionary last: its presence means the set is complete
        os.replace(staging[name], targets[name])
    _remove_older(key)
    return targets


def _remove_older(key: str) -> None:
    """Keep this set and the previous one (a request may be reading it right now), drop older ones."""
    sets = sorted(snapshot.folder().glob(f"aggregate-*-{DICTIONARY}.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    keep = {key} | {p.name.split("-")[1] for p in sets[:2]}
    for path in snapshot.folder().glob("aggregate-*.parquet"):
        if path.name.split("-")[1] not in keep:
            path.unlink(missing_ok=True)


def current(files: list[Path]) -> Aggregate | None:
    """The aggregate of ``files``, written now if missing; None without files or when it cannot
    be written (the explorer then reads the line-level snapshot)."""
    if not files:
        return None
    try:
        key = digest(files)
        found = paths(key)
        if not found[DICTIONARY].exists():
            with _build_lock:
                if not found[DICTIONARY].exists():
                    build(files, key)
        return Aggregate(found)
    except Exception:
        log.exception("agrégats Parquet des subventions non écrits")
        return None


def refresh() -> None:
    """After an import or a rebuild: write the aggregate of the current snapshot."""
    current(snapshot.current_files())
