"""The explorer's aggregates on DuckDB over the Parquet snapshot of subsidy lines.

Same filters and same figures as the SQL selectors (``selectors.py``, kept as the reference and
tested equal on the real samples), without scanning the database: on millions of lines a GROUP
BY over a sorted, compressed columnar file is an order of magnitude faster than on SQLite or
PostgreSQL rows."""

from __future__ import annotations

import time

from regio.core.text import normalize_text
from regio.tabular.engine.duck import reader_cursor
from regio.territory.selectors import urban_rural_split

from . import snapshot
from .selectors import SubsidyFilters, epci_rows, ranked_per_inhabitant

_communes: tuple[float, dict] = (0.0, {})


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


def _where(f: SubsidyFilters) -> tuple[str, list]:
    from regio.accounts.models import Organisation

    conds: list[str] = []
    params: list = []
    if f.grantor:
        org_ids = [int(pk) for pk in Organisation.objects.filter(slug=f.grantor).values_list("pk", flat=True)]
        conds.append("(grantor_siret = ?" + (f" OR organisation_id IN ({', '.join(map(str, org_ids))})" if org_ids else "") + ")")
        params.append(f.grantor)
    if f.beneficiary:
        text = f.beneficiary.strip()
        if text.replace(" ", "").isdigit():
            conds.append("starts_with(beneficiary_siret, ?)")
            params.append(text.replace(" ", ""))
        else:
            for word in normalize_text(text).split():
                conds.append("contains(beneficiary_name_search, ?)")
                params.append(word)
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


class Explorer:
    """Aggregates of the subsidies matching ``filters`` (all of them when None)."""

    def __init__(self, filters: SubsidyFilters | None = None, files=None):
        self.files = snapshot.current_files() if files is None else files
        self.where, self.params = _where(filters or SubsidyFilters())
        self.source = "read_parquet([" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.files) + "])"

    def rows(self, select: str, tail: str = "", *, filtered: bool = True) -> list[tuple]:
        if not self.files:
            return []
        where, params = (self.where, self.params) if filtered else ("", [])
        cur = reader_cursor()  # the tabular engine's process-wide read-only DuckDB
        try:
            return cur.execute(f"SELECT {select} FROM {self.source}{where} {tail}", params).fetchall()
        finally:
            cur.close()

    def totals(self) -> dict:
        found = self.rows("sum(amount_cents), count(*)")
        total, count = found[0] if found else (None, 0)
        return {"total_cents": int(total or 0), "count": count}

    def top_beneficiaries(self, limit: int = 10) -> list[dict]:
        return [
            {"beneficiary_siret": s, "beneficiary_name": n, "total": int(t), "n": c}
            for s, n, t, c in self.rows(
                "beneficiary_siret, beneficiary_name, sum(amount_cents) AS t, count(*)",
                f"GROUP BY ALL ORDER BY t DESC, beneficiary_name LIMIT {int(limit)}")
        ]

    def by_year(self, *, filtered: bool = True) -> list[dict]:
        return [{"year": y, "total": int(t), "n": c}
                for y, t, c in self.rows("year, sum(amount_cents), count(*)", "GROUP BY ALL ORDER BY year", filtered=filtered)]

    def by_grantor(self, *, filtered: bool = True) -> list[dict]:
        return [{"grantor_siret": s, "grantor_name": n, "total": int(t), "n": c}
                for s, n, t, c in self.rows("grantor_siret, grantor_name, sum(amount_cents) AS t, count(*)",
                                            "GROUP BY ALL ORDER BY t DESC, grantor_name", filtered=filtered)]

    def by_commune_cents(self) -> dict[str, int]:
        return {code: int(t) for code, t in self.rows("beneficiary_commune_id, sum(amount_cents)", "GROUP BY ALL")
                if code is not None}

    def beneficiary_totals(self) -> list[int]:
        return [int(t) for (t,) in self.rows("sum(amount_cents)", "GROUP BY beneficiary_siret, beneficiary_name")]

    def territory_per_inhabitant(self, level: str = "commune") -> list[dict]:
        """Same figures as ``selectors.territory_per_inhabitant`` (populations from the territory tables)."""
        if level == "commune":
            totals = self.by_commune_cents()
            found = _commune_table()
            out = [{"code": code, "name": found[code][0], "total": cents / 100, "population": found[code][1] or None}
                   for code, cents in totals.items() if code in found]
        elif level == "epci":
            out = epci_rows({code: int(t) for code, t in self.rows("beneficiary_epci_id, sum(amount_cents)", "GROUP BY ALL") if code})
        else:
            raise ValueError(f"Niveau territorial inconnu : {level}")
        return ranked_per_inhabitant(out)

    def urban_rural(self) -> dict[str, float]:
        return urban_rural_split({code: cents / 100 for code, cents in self.by_commune_cents().items()})

    def decree_completeness(self) -> list[dict]:
        """Per grantor, over every subsidy (see ``selectors.decree_completeness``)."""
        out = []
        for siret, name, n, above, without in self.rows(
            "grantor_siret, grantor_name, count(*), count(*) FILTER (WHERE amount_cents > 2300000), "
            "count(*) FILTER (WHERE amount_cents > 2300000 AND beneficiary_siret = '')",
            "GROUP BY ALL ORDER BY grantor_name", filtered=False,
        ):
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
        return [{"theme": t, "total": int(s), "n": c}
                for t, s, c in self.rows("theme, sum(amount_cents) AS s, count(*)", "GROUP BY ALL ORDER BY s DESC")]
