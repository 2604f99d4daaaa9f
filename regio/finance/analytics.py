"""The explorer's aggregates on DuckDB over the Parquet snapshot of subsidy lines.

Same filters and same figures as the SQL selectors (``selectors.py``, kept as the reference and
tested equal on the real samples), without scanning the database: on millions of lines a GROUP
BY over a sorted, compressed columnar file is an order of magnitude faster than on SQLite or
PostgreSQL rows."""

from __future__ import annotations

import heapq
import threading
import time

from django.conf import settings

from regio.core.lru import BoundedCache
from regio.core.text import normalize_text
from regio.tabular.engine.duck import reader_cursor
from regio.territory.selectors import urban_rural_split

from . import aggregate, snapshot
from .selectors import SubsidyFilters, epci_rows, ranked_per_inhabitant

_communes: tuple[float, dict] = (0.0, {})


def _result_cache_rows() -> int:
    return int(getattr(settings, "FINANCE_RESULT_CACHE_ROWS", 500_000))


# Query results keyed by the snapshot files they read (path, modification time, size) + SQL +
# parameters. A snapshot file never changes once written (an import, a correction or a rebuild
# writes a new file), so an entry can never be stale: new data means new keys, and old entries
# just age out. Bounded by the total number of cached rows (``FINANCE_RESULT_CACHE_ROWS``,
# default 500 000 ≈ tens of MB; 0 turns the cache off), least recently used dropped first.
results = BoundedCache(_result_cache_rows, weigh=lambda rows: len(rows) + 1)


def _commune_table() -> dict[str, tuple[str, int | None]]:
    """INSEE code → (name, population) of every commune, kept five minutes in the process (the
    reference territory changes only when it is reloaded)."""
    global _communes
    from regio.territory.models import Commune

    stamp, table = _communes
    if time.monotonic() - stamp > 300 or not table:
        table = {code: (name, population) for code, name, population in Commune.objects.values_list("code", "name", "population")}
        _communes = (time.monotonic(), table)
    return table


def _communes_stamp() -> float:
    _commune_table()
    return _communes[0]


def _where(f: SubsidyFilters, dictionary=None) -> tuple[str, list]:
    """WHERE clause of ``f`` on the line-level snapshot, or on a rollup when ``dictionary`` (the
    aggregate's beneficiary dictionary) is given: the beneficiary filter then selects keys."""
    from regio.accounts.models import Organisation

    conds: list[str] = []
    params: list = []
    outer = conds
    if f.grantor:
        org_ids = [int(pk) for pk in Organisation.objects.filter(slug=f.grantor).values_list("pk", flat=True)]
        conds.append("(grantor_siret = ?" + (f" OR organisation_id IN ({', '.join(map(str, org_ids))})" if org_ids else "") + ")")
        params.append(f.grantor)
    if f.beneficiary:
        if dictionary is not None:
            conds = []
        text = f.beneficiary.strip()
        if text.replace(" ", "").isdigit():
            conds.append("starts_with(beneficiary_siret, ?)")
            params.append(text.replace(" ", ""))
        else:
            for word in normalize_text(text).split():
                conds.append("contains(beneficiary_name_search, ?)")
                params.append(word)
        if dictionary is not None:
            outer.append(f"beneficiary_key IN (SELECT beneficiary_key FROM read_parquet('{dictionary}') WHERE {' AND '.join(conds)})")
            conds = outer
    if f.q:
        for word in f.q.split():
            conds.append("contains(lower(object), lower(?))")
            params.append(word)
    if f.year:
        conds.append("year = ?")
        params.append(int(f.year))
    if f.nature:
        conds.append("lower(nature) = lower(?)")
        params.append(f.nature)
    if f.theme:
        conds.append("theme = ?")
        params.append(f.theme)
    if f.min_eur is not None:
        conds.append("amount_cents >= ?")
        params.append(round(f.min_eur * 100))
    if f.max_eur is not None:
        conds.append("amount_cents <= ?")
        params.append(round(f.max_eur * 100))
    if f.territory:
        code = f.territory.strip()
        column = "beneficiary_epci_id" if len(code) == 9 else "beneficiary_departement_id" if len(code) in (2, 3) else "beneficiary_commune_id"
        conds.append(f"{column} = ?")
        params.append(code)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def filtered_columns(f: SubsidyFilters) -> set[str] | None:
    """The rollup columns the filters of ``f`` read; None when a rollup cannot answer them
    (amounts and object words are only in the line-level snapshot)."""
    if f.q or f.min_eur is not None or f.max_eur is not None:
        return None
    columns: set[str] = set()
    if f.grantor:
        columns |= {"grantor_siret", "organisation_id"}
    if f.beneficiary:
        columns.add("beneficiary_key")
    if f.year:
        columns.add("year")
    if f.nature:
        columns.add("nature")
    if f.theme:
        columns.add("theme")
    if f.territory:
        code = f.territory.strip()
        columns.add("beneficiary_epci_id" if len(code) == 9 else "beneficiary_departement_id" if len(code) in (2, 3)
                    else "beneficiary_commune_id")
    return columns


# the line-level measures and their rollup sums (same figures)
# BIGINT, not DuckDB's default HUGEINT for sums: turning 128-bit integers into Python ints costs
# ~2 µs each (40 ms for 20,000 beneficiaries); 2^63 cents is far beyond any total
LINE_MEASURES = {"amount": "sum(amount_cents)::BIGINT", "n": "count(*)", "above": "count(*) FILTER (WHERE amount_cents > 2300000)",
                 "above_nosiret": "count(*) FILTER (WHERE amount_cents > 2300000 AND beneficiary_siret = '')"}
ROLLUP_MEASURES = {"amount": "sum(amount_cents)::BIGINT", "n": "sum(n)::BIGINT", "above": "sum(n_above)::BIGINT",
                   "above_nosiret": "sum(n_above_nosiret)::BIGINT"}
_dictionaries: dict[str, tuple[dict[int, tuple[str, str]], bool]] = {}
_dictionaries_lock = threading.Lock()


def _dictionary(path) -> tuple[dict[int, tuple[str, str]], bool]:
    """Beneficiary key → (SIRET, name) of one aggregate, and whether each (SIRET, name) has one key
    only (its file never changes: kept in the process, the last two only)."""
    key = str(path)
    with _dictionaries_lock:
        found = _dictionaries.get(key)
    if found is None:
        cur = reader_cursor()
        try:
            names = {k: (s, n) for k, s, n in cur.execute(
                f"SELECT beneficiary_key, beneficiary_siret, beneficiary_name FROM read_parquet('{key}')").fetchall()}
            found = (names, len(set(names.values())) == len(names))
        finally:
            cur.close()
        with _dictionaries_lock:
            _dictionaries[key] = found
            while len(_dictionaries) > 2:
                _dictionaries.pop(next(iter(_dictionaries)))
    return found


class Explorer:
    """Aggregates of the subsidies matching ``filters`` (all of them when None)."""

    def __init__(self, filters: SubsidyFilters | None = None, files=None, *, use_aggregate: bool = True):
        filters = filters or SubsidyFilters()
        self.files = snapshot.current_files() if files is None else files
        self.where, self.params = _where(filters)
        self.source = "read_parquet([" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.files) + "])"
        self.aggregate = aggregate.current(self.files) if use_aggregate else None
        self._columns = filtered_columns(filters)
        self._rollup_where = _where(filters, self.aggregate.dictionary) if self.aggregate and self._columns is not None else None
        self.sources: list[str] = []  # the rollup (or "lines") read by each query, for tests and benchmarks
        self._identity: tuple | None = None
        self._beneficiaries: list[tuple[str, str, int, int]] | None = None
        self._seen: dict[tuple, list[tuple]] = {}

    def _plan(self, filtered: bool, columns: set[str]) -> tuple[str, str, list, dict]:
        """(source, where, params, measures): the smallest rollup holding the filtered and grouped
        columns, else the line-level snapshot."""
        if self.aggregate is not None and (not filtered or self._columns is not None):
            name, path = self.aggregate.rollup_for(columns | (self._columns if filtered else set()))
            where, params = self._rollup_where if filtered else ("", [])
            self.sources.append(name)
            return f"read_parquet('{path}')", where, params, ROLLUP_MEASURES
        self.sources.append("lines")
        where, params = (self.where, self.params) if filtered else ("", [])
        return self.source, where, params, LINE_MEASURES

    def identity(self) -> tuple:
        """What the files are: path, modification time and size of each (a rebuilt file, even
        under the same name, is a different file)."""
        if self._identity is None:
            found = []
            for path in self.files:
                try:
                    st = path.stat()
                    found.append((str(path), st.st_mtime_ns, st.st_size))
                except OSError:
                    found.append((str(path), None, None))
            self._identity = tuple(found)
        return self._identity

    def rows(self, select: str, tail: str = "", *, filtered: bool = True, columns: frozenset | set = frozenset()) -> list[tuple]:
        """``select`` over the matching subsidies; ``{amount}`` is the sum of amounts, ``{n}``, ``{above}``, ``{above_nosiret}``
        the line counts (all, above 23 000 €, of which without SIRET) and ``columns`` the snapshot
        columns ``select`` and ``tail`` read besides ``amount_cents``."""
        if not self.files:
            return []
        source, where, params, measures = self._plan(filtered, set(columns))
        sql = f"SELECT {select.format(**measures)} FROM {source}{where} {tail}"
        key = (self.identity(), sql, tuple(params))
        if key in self._seen:  # the same query twice in one page (per commune, then urban/rural)
            return list(self._seen[key])
        cached = results.get(key) if results.bound() > 0 else None
        if cached is not None:
            return list(cached)
        cur = reader_cursor()  # the tabular engine's process-wide read-only DuckDB
        try:
            found = cur.execute(sql, params).fetchall()
        finally:
            cur.close()
        self._seen[key] = found
        if results.bound() > 0:
            results.put(key, list(found))
        return list(found)

    def totals(self) -> dict:
        found = self.rows("{amount}, {n}")
        total, count = found[0] if found else (None, 0)
        return {"total_cents": int(total or 0), "count": int(count or 0)}

    def _on_rollups(self) -> bool:
        return self.aggregate is not None and self._columns is not None

    def _key_totals(self) -> list[tuple[int, int, int]]:
        """(beneficiary key, total cents, lines) per key, from the rollups."""
        return self.rows("beneficiary_key, {amount}, {n}", "GROUP BY ALL", columns={"beneficiary_key"})

    def beneficiaries(self) -> list[tuple[str, str, int, int]]:
        """(SIRET, name, total cents, lines) of every beneficiary. The GROUP BY is the costliest
        query of the page: run once per explorer, shared by the top N and the Lorenz curve (which
        needs every total anyway). On the rollups, grouped by the integer key, names from the
        dictionary; a (SIRET, name) with several normalised names (never seen) has several keys,
        summed together."""
        if self._beneficiaries is None:
            if self._on_rollups():
                names, _ = _dictionary(self.aggregate.dictionary)
                merged: dict[tuple[str, str], list[int]] = {}
                for key, t, c in self._key_totals():
                    found = merged.get(names[key])
                    if found is None:
                        merged[names[key]] = [t, c]
                    else:
                        found[0] += t
                        found[1] += c
                self._beneficiaries = [(s, n, t, c) for (s, n), (t, c) in merged.items()]
            else:
                self._beneficiaries = self.rows("beneficiary_siret, beneficiary_name, {amount}, {n}", "GROUP BY ALL")
        return self._beneficiaries

    def _one_key_each(self) -> dict[int, tuple[str, str]] | None:
        """The dictionary when the rollups are read and each beneficiary has one key (the usual
        case: no merging, names looked up for the top N only)."""
        if not self._on_rollups():
            return None
        names, injective = _dictionary(self.aggregate.dictionary)
        return names if injective else None

    def top_beneficiaries(self, limit: int = 10) -> list[dict]:
        # largest total first, then by name (DuckDB and Python both compare strings by code point)
        names = self._one_key_each()
        if names is not None:
            best = [(*names[k], t, c) for k, t, c in heapq.nsmallest(int(limit), self._key_totals(),
                                                                     key=lambda r: (-r[1], names[r[0]][1]))]
        else:
            best = heapq.nsmallest(int(limit), self.beneficiaries(), key=lambda r: (-r[2], r[1]))
        return [{"beneficiary_siret": s, "beneficiary_name": n, "total": t, "n": c} for s, n, t, c in best]

    def by_year(self, *, filtered: bool = True) -> list[dict]:
        return [{"year": y, "total": int(t), "n": int(c)}
                for y, t, c in self.rows("year, {amount}, {n}", "GROUP BY ALL ORDER BY year", filtered=filtered,
                                         columns={"year"})]

    def by_grantor(self, *, filtered: bool = True) -> list[dict]:
        return [{"grantor_siret": s, "grantor_name": n, "total": int(t), "n": int(c)}
                for s, n, t, c in self.rows("grantor_siret, grantor_name, {amount} AS t, {n}",
                                            "GROUP BY ALL ORDER BY t DESC, grantor_name", filtered=filtered,
                                            columns={"grantor_siret", "grantor_name"})]

    def by_commune_cents(self) -> dict[str, int]:
        return {code: int(t) for code, t in self.rows("beneficiary_commune_id, {amount}", "GROUP BY ALL",
                                                              columns={"beneficiary_commune_id"})
                if code is not None}

    def beneficiary_totals(self) -> list[int]:
        if self._one_key_each() is not None:
            return [t for _, t, _ in self._key_totals()]
        return [t for _, _, t, _ in self.beneficiaries()]

    def territory_per_inhabitant(self, level: str = "commune") -> list[dict]:
        """Same figures as ``selectors.territory_per_inhabitant`` (populations from the territory tables)."""
        if level == "commune":
            totals = self.by_commune_cents()
            found = _commune_table()
            out = [{"code": code, "name": found[code][0], "total": cents / 100, "population": found[code][1] or None}
                   for code, cents in totals.items() if code in found]
        elif level == "epci":
            out = epci_rows({code: int(t) for code, t in self.rows("beneficiary_epci_id, {amount}", "GROUP BY ALL",
                                                                             columns={"beneficiary_epci_id"}) if code})
        else:
            raise ValueError(f"Niveau territorial inconnu : {level}")
        return ranked_per_inhabitant(out)

    def urban_rural(self) -> dict[str, float]:
        """Kept in the result cache like a query, keyed also on the commune table's load time (the
        density classes are read from the territory tables: one query per 500 communes)."""
        key = ("urban_rural", self.identity(), self.where, tuple(map(str, self.params)), self.aggregate is not None,
               _communes_stamp())
        cached = results.get(key) if results.bound() > 0 else None
        if cached is not None:
            return dict(cached)
        split = urban_rural_split({code: cents / 100 for code, cents in self.by_commune_cents().items()})
        if results.bound() > 0:
            results.put(key, list(split.items()))
        return split

    def decree_completeness(self) -> list[dict]:
        """Per grantor, over every subsidy (see ``selectors.decree_completeness``)."""
        out = []
        for siret, name, n, above, without in self.rows(
            "grantor_siret, grantor_name, {n}, {above}, {above_nosiret}",
            "GROUP BY ALL ORDER BY grantor_name", filtered=False, columns={"grantor_siret", "grantor_name"},
        ):
            n, above, without = int(n), int(above), int(without)
            if without:
                verdict = f"{without} subvention(s) de plus de 23 000 € sans SIRET du bénéficiaire."
            elif not above:
                verdict = "Aucune subvention de plus de 23 000 € publiée : vérifiez que le fichier est complet."
            else:
                verdict = "Conforme en apparence."
            out.append({"grantor_siret": siret, "grantor_name": name, "n": n, "above": above,
                        "above_without_siret": without, "verdict": verdict, "ok": bool(above) and not without})
        return out

    def themes(self) -> list[dict]:
        return [{"theme": t, "total": int(s), "n": int(c)}
                for t, s, c in self.rows("theme, {amount} AS s, {n}", "GROUP BY ALL ORDER BY s DESC", columns={"theme"})]

    def has_demo(self) -> bool:
        found = self.rows("bool_or(is_demo)", filtered=False, columns={"is_demo"})
        return bool(found and found[0][0])
