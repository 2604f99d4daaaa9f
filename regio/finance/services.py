"""Writes of the finance app: imports (upload, command line, catalogue resources) and the
consolidated subsidies dataset published in the catalogue."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from regio.accounts.models import Organisation
from regio.accounts.permissions import can_edit_for
from regio.tabular.engine.errors import TabularError

from .importers import balance, scdl, totem
from .importers.reader import read_rows
from .models import BudgetLine, ImportBatch, QuarantinedRow, Subsidy

log = logging.getLogger(__name__)
CHUNK = 5000

CommuneResolver = Callable[[dict], "str | None"]


class ImportRefused(Exception):
    """The whole file was refused (French message); the previous good state is kept."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def require_import_for(user, organisation: Organisation) -> None:
    if not can_edit_for(user, organisation):
        raise PermissionDenied(
            f"Vous ne pouvez pas importer de données financières au nom de « {organisation.name} » : "
            "il faut en être éditeur ou administrateur."
        )


def _siren_communes() -> dict[str, str]:
    """SIREN of a collectivité organisation → INSEE code of its commune (beneficiary resolution)."""
    out = {}
    for org in Organisation.objects.exclude(siren="").select_related("commune"):
        if org.commune_id:
            out[org.siren] = org.commune_id
    return out


def commune_of_siren(siren: str) -> str | None:
    """A commune's SIREN is ``21`` + département + ``0`` + commune number + key (INSEE numbering of
    collectivités): ``218601946`` is Poitiers, INSEE ``86194``."""
    if len(siren) == 9 and siren.startswith("21") and siren[4] == "0":
        return siren[2:4] + siren[5:8]
    return None


def organisation_of_siren(siren: str) -> Organisation | None:
    """The collectivité organisation publishing under ``siren`` (SIREN stored, or département
    ``22DD…`` / commune ``21DD0CCC…`` numbering)."""
    org = Organisation.objects.filter(siren=siren).first() if siren else None
    if org is None and len(siren) == 9 and siren.startswith("22"):
        org = Organisation.objects.filter(kind="departement", departement_id=siren[2:4]).first()
    if org is None and commune_of_siren(siren):
        org = Organisation.objects.filter(kind="commune", commune_id=commune_of_siren(siren)).first()
    return org


def default_resolver() -> CommuneResolver:
    sirens = _siren_communes()

    def resolve(record: dict) -> str | None:
        siret = record.get("beneficiary_siret") or ""
        if not siret:
            return None
        return sirens.get(siret[:9]) or commune_of_siren(siret[:9])

    return resolve


def _commune_parents(codes) -> dict[str, tuple[str, str]]:
    from regio.territory.models import Commune

    codes = list(set(codes))
    out = {}
    for i in range(0, len(codes), 500):
        for code, epci, dep in Commune.objects.filter(code__in=codes[i : i + 500]).values_list("code", "epci_id", "departement_id"):
            out[code] = (epci or "", dep or "")
    return out


def _existing(model, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(hashes), 900):
        found.update(model.objects.filter(row_hash__in=hashes[i : i + 900]).values_list("row_hash", flat=True))
    return found


def run_import(
    kind: str, path: Path, *, organisation: Organisation | None, user=None, origin: str = ImportBatch.Origin.UPLOAD,
    file_name: str = "", source_key: str = "", nomenclature: str = "M57", is_demo: bool = False,
    resolver: CommuneResolver | None = None, check_permission: bool = True, publish: bool = True, siren: str = "",
) -> ImportBatch:
    """Import one SCDL file (or, for budgets, a TOTEM document or a DGFiP account balance). Valid
    rows are imported, failing rows quarantined with their French reason; a file already imported
    (same SHA-256 and kind) changes nothing. ``siren`` keeps the lines of one collectivité of a
    DGFiP balance (default: the organisation's SIREN)."""
    path = Path(path)
    if check_permission and organisation is not None:
        require_import_for(user, organisation)
    if kind not in ImportBatch.Kind.values:
        raise ImportRefused(f"Type d'import « {kind} » inconnu (subventions ou budget).")
    digest = sha256_of(path)
    scope = siren or (organisation.siren if organisation is not None else "")
    previous = next((
        b for b in ImportBatch.objects.filter(kind=kind, file_sha256=digest, status=ImportBatch.Status.DONE)
        # one DGFiP balance file holds many collectivités: the same file for another SIREN is a new import
        if "balance_dgfip" not in b.report or b.report["balance_dgfip"].get("siren", "") == scope
    ), None)
    if previous is not None:
        previous.report = {**previous.report, "reimport": "Ce fichier a déjà été importé : rien n'a changé."}
        return previous
    totem_header = totem_stats = balance_stats = None
    if kind == "budget" and totem.looks_like_totem(path):
        try:
            totem_header, rows, totem_stats = totem.read_document(path)
        except totem.TotemError as exc:
            raise ImportRefused(str(exc)) from exc
        nomenclature = totem_header["nomenclature"] or nomenclature
        missing = []
    else:
        try:
            columns, rows = read_rows(path)
        except TabularError as exc:
            raise ImportRefused(str(exc)) from exc
        if kind == "budget" and balance.looks_like_balance(columns):
            missing = balance.missing_columns(columns)
            if not scope and origin == ImportBatch.Origin.UPLOAD:
                # a national balance holds every collectivité of France: an agent imports their own lines only
                raise ImportRefused(
                    "Cette balance comptable DGFiP ne peut être importée que pour une collectivité identifiée : "
                    f"le SIREN de « {organisation.name if organisation else 'l’organisation'} » n'est pas renseigné "
                    "(à compléter dans la fiche de l'organisation)."
                )
            balance_stats = {"lines": 0, "other_collectivites": 0, "non_budget_accounts": 0, "zero_lines": 0, "siren": scope}
            rows = balance.translate(balance.read_lines(path, columns, siren=scope, stats=balance_stats),
                                     siren=scope, stats=balance_stats)
        else:
            missing = scdl.missing_subsidy_columns(columns) if kind == "subventions" else scdl.missing_budget_columns(columns)
    if missing and balance_stats is not None:
        raise ImportRefused(
            f"Colonnes obligatoires absentes de la balance comptable DGFiP : {', '.join(missing)}. "
            f"Colonnes trouvées : {', '.join(columns)}."
        )
    if missing:
        raise ImportRefused(
            f"Colonnes obligatoires absentes du fichier : {', '.join(missing)}. "
            f"Colonnes trouvées : {', '.join(columns)}. Est-ce bien un fichier SCDL {kind} ?"
        )
    if kind == "budget" and nomenclature.upper() not in ("M57", "M14", "M52", "M71"):
        raise ImportRefused(f"Nomenclature « {nomenclature} » inconnue (attendu : M57, M14, M52, M71).")
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            kind=kind, origin=origin, organisation=organisation, source_key=source_key[:200],
            file_name=(file_name or path.name)[:255], file_sha256=digest, is_demo=is_demo,
            created_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        )
        if kind == "subventions":
            _import_subsidies(batch, path, resolver or default_resolver())
        else:
            _import_budget(batch, rows, nomenclature.upper())
            batch.report = {**batch.report, "nomenclature": nomenclature.upper()}
            if totem_header is not None:
                batch.report.update({"format": "TOTEM (DocumentBudgetaire XML)", "totem": totem_header,
                                     "zero_lines": totem_stats["zero_lines"]})
                batch.rows_read += totem_stats["zero_lines"]
            # the nomenclatures the batch's lines were filed under, read once for both reports below
            found = sorted(batch.budget_lines.order_by().values_list("nomenclature", flat=True).distinct())
            if balance_stats is not None:
                _check_balance_scope(batch, balance_stats, found)
            batch.report["unchecked_codes"] = _unchecked_codes(batch, found)
            batch.save(update_fields=["report", "rows_read"])
    if publish and kind == "subventions":
        transaction.on_commit(_schedule_publication)
    return batch


def _unchecked_codes(batch: ImportBatch, nomenclatures: list[str]) -> list[str]:
    """French warnings for the nomenclatures of the batch without an official plan de compte: their
    codes were accepted unchecked (only labelled from the partial tables when known)."""
    from . import nomenclature

    out = []
    for nomen in nomenclatures:
        plan = nomenclature.plan(nomen)
        if plan is not None and plan.complete:
            continue
        codes = batch.budget_lines.filter(nomenclature=nomen).values_list("nature_code", flat=True).distinct()
        unlabelled = sum(1 for code in codes if plan is None or not plan.knows("nature", code))
        out.append(
            f"Codes {nomen} non vérifiés : aucun plan de compte officiel {nomen} n'est chargé "
            f"(commande « regio finance load-plan FICHIER ») ; {unlabelled} code(s) nature sans libellé "
            "propre (libellé du compte parent, ou aucun)."
        )
    return out


def _check_balance_scope(batch: ImportBatch, stats: dict, found: list[str]) -> None:
    """Record what a DGFiP balance import left aside; refuse (rolling back) a balance holding no
    line of the requested collectivité."""
    kept = stats["lines"] - stats["other_collectivites"]
    if stats["siren"] and stats["lines"] and not kept:
        raise ImportRefused(
            f"Aucune ligne de cette balance comptable ne concerne le SIREN {stats['siren']} "
            f"({stats['lines']} ligne(s) lue(s), toutes d'autres collectivités)."
        )
    # the nomenclature is that of each line (``nomen``), not the form's default
    batch.report.update({"format": balance.FORMAT, "balance_dgfip": stats, "nomenclature": ", ".join(found) or "—"})


def _quarantine(batch, line, raw, reasons, parsed=None) -> QuarantinedRow:
    return QuarantinedRow(
        batch=batch, line=line, raw=raw, reasons=reasons,
        amount_cents=parsed.amount_cents if parsed else None, year=parsed.year if parsed else None,
    )


def _flush(model, batch, pending: list[tuple[int, dict, dict]], quarantined: list, stats: dict, seen: set) -> None:
    existing = _existing(model, [rec["row_hash"] for _, rec, _ in pending])
    rows = []
    for line, rec, _raw in pending:
        if rec["row_hash"] in existing:
            stats["unchanged"] += 1
            continue
        rows.append({"batch_id": batch.pk, "organisation_id": batch.organisation_id, "line": line, "is_demo": batch.is_demo, **rec})
    _insert(model, rows)
    stats["imported"] += len(rows)
    pending.clear()
    if quarantined:
        QuarantinedRow.objects.bulk_create(quarantined, batch_size=1000)
        stats["quarantined"] += len(quarantined)
        quarantined.clear()


def _insert(model, rows: list[dict]) -> None:
    """Plain ``executemany`` INSERT: the same values ``bulk_create`` would write (every column given,
    values prepared by each field), ~3× faster on large files."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    defaults = {f.attname: f.get_default() for f in fields}
    # plain values (str, int, float, bool, None) go as they are; only dates need the backend's adapter
    prepared = {f.attname for f in fields if f.get_internal_type() in ("DateField", "DateTimeField", "JSONField")}
    params = [
        [f.get_db_prep_save(row.get(name, defaults[name]), connection) if name in prepared else row.get(name, defaults[name])
         for f, name in zip(fields, names, strict=True)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for i in range(0, len(params), 2000):
            cursor.executemany(sql, params[i : i + 2000])


def _pair_resolver(resolver: CommuneResolver):
    """The per-record resolver applied once per distinct (beneficiary SIRET, normalised name)."""

    def resolve(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str, str]]:
        codes = {pair: resolver({"beneficiary_siret": pair[0], "beneficiary_name_search": pair[1]}) for pair in pairs}
        parents = _commune_parents(c for c in codes.values() if c)
        return {pair: (code, *parents[code]) for pair, code in codes.items() if code and code in parents}

    return resolve


def _existing_hashes_into(con, grantor_sirets: list[str]) -> None:
    """Row hashes already in the database for these grantors → DuckDB table ``existing`` (a row
    hash includes the grantor's SIRET: no other row can collide)."""
    import pyarrow as pa

    con.execute("CREATE OR REPLACE TABLE existing (row_hash VARCHAR)")
    if not grantor_sirets:
        return
    table = connection.ops.quote_name(Subsidy._meta.db_table)
    with connection.cursor() as cursor:
        for i in range(0, len(grantor_sirets), 500):
            part = grantor_sirets[i : i + 500]
            cursor.execute(f"SELECT row_hash FROM {table} WHERE grantor_siret IN ({', '.join(['%s'] * len(part))})", part)
            while rows := cursor.fetchmany(50_000):
                con.register("_existing_arrow", pa.table({"row_hash": [r[0] for r in rows]}))
                con.execute("INSERT INTO existing SELECT row_hash FROM _existing_arrow")
                con.unregister("_existing_arrow")


def _copy_into_database(con, select_sql: str, names: list[str], folder: Path) -> None:
    """Insert the rows of a DuckDB query: ``COPY … FROM STDIN`` on PostgreSQL (DuckDB writes the
    CSV), ``executemany`` in chunks on SQLite."""
    table = connection.ops.quote_name(Subsidy._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(n) for n in names)
    if connection.vendor == "postgresql":
        path = folder / "insert.csv"
        con.execute(f"COPY ({select_sql}) TO '{path}' (FORMAT csv, HEADER false, FORCE_QUOTE *)")
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                with open(path, "rb") as handle:
                    while block := handle.read(1 << 20):
                        copy.write(block)
        path.unlink()
        return
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
    incoming = con.execute(f"SELECT count(*) FROM ({select_sql})").fetchone()[0]
    result = con.execute(select_sql)
    with connection.cursor() as cursor:
        # a bigger page cache for the time of the insert: the unique row-hash index of millions of
        # lines no longer fits in SQLite's default 2 MB
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -524288")
        try:
            with _secondary_indexes_deferred(cursor, Subsidy._meta.db_table, incoming):
                while rows := result.fetchmany(50_000):
                    cursor.executemany(sql, rows)
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


# below this many new lines, or when the table already holds more lines than arrive, inserting
# into the indexes costs less than rebuilding them
BULK_LOAD_MIN_ROWS = 50_000


@contextmanager
def _secondary_indexes_deferred(cursor, table: str, incoming: int):
    """On SQLite, for a bulk load at least as big as the table: drop the table's secondary indexes,
    insert, then create them again (one sort per index instead of millions of random B-tree
    inserts). Inside the import's transaction: a failure rolls the indexes back with the rows.
    The unique row-hash index (part of the table, no SQL of its own) stays and checks every row."""
    cursor.execute("SELECT max(id) FROM " + connection.ops.quote_name(table))
    present = cursor.fetchone()[0] or 0  # ids only grow: an upper bound of the table's size, free to read
    if incoming < BULK_LOAD_MIN_ROWS or present > incoming:
        yield
        return
    cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                   [table])
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute("DROP INDEX " + connection.ops.quote_name(name))
    yield
    for _, create in indexes:
        cursor.execute(create)


def _import_subsidies(batch: ImportBatch, path: Path, resolver: CommuneResolver) -> None:
    """Vectorised import (DuckDB, see ``importers/vector.py``): same checks and French reasons as
    the row parser, bulk insert, and the batch's Parquet snapshot written from the same rows."""
    import duckdb

    from regio.tabular.engine.duck import BASE_CONFIG

    from . import snapshot
    from .importers import vector

    with tempfile.TemporaryDirectory(prefix="regio-finance-") as tmp:
        folder = Path(tmp)
        con = duckdb.connect(str(folder / "import.duckdb"), config={
            **BASE_CONFIG, "threads": 2, "memory_limit": "1GB", "temp_directory": str(folder / "spill")})
        try:
            try:
                columns = vector.load(con, path, folder)
            except duckdb.Error as exc:
                raise ImportRefused(f"Le fichier CSV est illisible : {str(exc).splitlines()[0]}") from exc
            counts = vector.check_subsidies(con, columns, _pair_resolver(resolver))
            grantors = [r[0] for r in con.execute("SELECT DISTINCT g_siret FROM checked WHERE len(reasons) = 0").fetchall()]
            _existing_hashes_into(con, grantors)
            con.execute("""
                CREATE OR REPLACE TABLE new_rows AS
                SELECT c.*, pl.commune, pl.epci, pl.dep FROM checked c
                LEFT JOIN places pl ON pl.b = c.b_siret AND pl.ns = c.name_search
                WHERE len(c.reasons) = 0 AND c.row_hash NOT IN (SELECT row_hash FROM existing)
            """)
            # every concrete column of the model but the primary key, in model order
            fields = [f for f in Subsidy._meta.concrete_fields if not f.primary_key]
            exprs = vector.record_columns(batch.pk, batch.organisation_id, batch.is_demo)
            exprs = {k: v.replace("pl.commune", "c.commune").replace("pl.epci", "c.epci").replace("pl.dep", "c.dep")
                     for k, v in exprs.items()}
            names = [f.attname for f in fields]
            missing = set(names) ^ set(exprs)
            if missing:  # a model field without its expression (or the reverse): fail loudly in tests
                raise RuntimeError(f"colonnes sans expression : {sorted(missing)}")
            date_cast = {"decision_date"} if connection.vendor != "postgresql" else set()
            select_sql = "SELECT " + ", ".join(
                (f"CAST({exprs[n]} AS VARCHAR)" if n in date_cast else exprs[n]) + f" AS {vector.q(n)}" for n in names
            ) + " FROM new_rows c ORDER BY c.n"
            _copy_into_database(con, select_sql, [f.column for f in fields], folder)
            imported = con.execute("SELECT count(*) FROM new_rows").fetchone()[0]
            staging = snapshot.staging_path()
            con.execute(snapshot.copy_sql(select_sql, staging))
            reasons_count, quarantined = _quarantine_from(con, batch, columns)
            years = dict(con.execute(
                "SELECT year, count(*) FROM checked WHERE len(reasons) = 0 GROUP BY year ORDER BY year").fetchall())
        finally:
            con.close()
    stats = {"read": counts["read"], "imported": imported, "unchanged": counts["valid"] - imported, "quarantined": quarantined}
    _finish(batch, stats, reasons_count, {"years": {int(k): v for k, v in years.items()}})
    if imported:
        transaction.on_commit(lambda: snapshot.install(staging, batch.pk, imported, batch.created_at))
    else:
        staging.unlink(missing_ok=True)


def _quarantine_from(con, batch: ImportBatch, columns: list[str]) -> tuple[dict[str, int], int]:
    """Quarantined rows (with the file's raw values) from DuckDB's ``checked``, in file order."""
    reasons_count: dict[str, int] = defaultdict(int)
    select = ", ".join(vector_q(c) for c in columns)
    result = con.execute(
        f"SELECT c.line, c.reasons, CASE WHEN c.amount_dec IS NOT NULL THEN c.amount_cents END, c.year, {select} "
        "FROM checked c JOIN raw r ON r.rowid = c.n WHERE len(c.reasons) > 0 ORDER BY c.n"
    )
    total = 0
    while rows := result.fetchmany(5000):
        batch_rows = []
        for line, reasons, cents, year, *values in rows:
            for r in reasons:
                reasons_count[r.split("«")[0].split("(")[0].strip()] += 1
            raw = {c: (v or "").strip() for c, v in zip(columns, values, strict=True)}
            batch_rows.append(QuarantinedRow(batch=batch, line=line, raw=raw, reasons=list(reasons), amount_cents=cents, year=year))
        QuarantinedRow.objects.bulk_create(batch_rows, batch_size=1000)
        total += len(batch_rows)
    return dict(reasons_count), total


def vector_q(name: str) -> str:
    return 'r."' + name.replace('"', '""') + '"'


def _accept(batch, line, raw, parsed, seen: dict, reasons_count: dict, quarantined: list) -> bool:
    """True for a valid, not yet seen row; otherwise quarantine it with its reasons (duplicates included)."""
    if not parsed.reasons and parsed.record["row_hash"] in seen:
        parsed.reasons.append(f"Ligne en double (identique à la ligne {seen[parsed.record['row_hash']]}).")
    if parsed.reasons:
        for r in parsed.reasons:
            reasons_count[r.split("«")[0].split("(")[0].strip()] += 1
        quarantined.append(_quarantine(batch, line, raw, parsed.reasons, parsed))
        return False
    seen[parsed.record["row_hash"]] = line
    return True


def _import_budget(batch: ImportBatch, rows, nomenclature: str) -> None:
    stats = {"read": 0, "imported": 0, "unchanged": 0, "quarantined": 0}
    reasons_count: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = {}
    pending: list = []
    quarantined: list = []
    for line, raw in rows:
        stats["read"] += 1
        parsed = scdl.parse_budget(raw, nomenclature)
        if _accept(batch, line, raw, parsed, seen, reasons_count, quarantined):
            pending.append((line, parsed.record, raw))
        if len(pending) >= CHUNK:
            _flush(BudgetLine, batch, pending, quarantined, stats, set())
    _flush(BudgetLine, batch, pending, quarantined, stats, set())
    from .selectors import balance_checks

    _finish(batch, stats, reasons_count, {"balance": balance_checks(batch)})


def _finish(batch: ImportBatch, stats: dict, reasons_count: dict, extra: dict) -> None:
    batch.rows_read = stats["read"]
    batch.rows_imported = stats["imported"]
    batch.rows_unchanged = stats["unchanged"]
    batch.rows_quarantined = stats["quarantined"]
    batch.report = {"reasons": dict(sorted(reasons_count.items(), key=lambda kv: -kv[1])), **extra}
    batch.save()


# ---------------------------------------------------------------- quarantine corrections

def can_correct(user, batch: ImportBatch) -> bool:
    """Editors of the batch's organisation (superusers for batches without organisation)."""
    if not user or not user.is_authenticated:
        return False
    if batch.organisation_id is None:
        return bool(user.is_superuser)
    return can_edit_for(user, batch.organisation)


def _batch_nomenclature(batch: ImportBatch) -> str:
    found = batch.report.get("nomenclature") or batch.budget_lines.values_list("nomenclature", flat=True).first() or ""
    found = found.split(",")[0].strip()  # a DGFiP balance may list several ("M14, M52")
    return found if found in scdl.nomenclature.NOMENCLATURES else "M57"


def correct_quarantined_row(user, row: QuarantinedRow, values: dict[str, str]) -> tuple[object | None, list[str]]:
    """An authorised agent re-submits a quarantined row with corrected ``values`` (column → text,
    the file's columns). Imported if it now passes the import's checks (same parser, same French
    reasons, duplicate and commune resolution included): the quarantined row is removed and the
    batch's counts updated. Otherwise nothing changes and the new reasons are returned."""
    batch = row.batch
    if not can_correct(user, batch):
        raise PermissionDenied(
            "Vous ne pouvez pas corriger les lignes de cet import : il faut être éditeur ou administrateur de "
            f"« {batch.organisation.name if batch.organisation else 'l’organisation'} »."
        )
    raw = {column: (values.get(column) or "").strip() for column in row.raw}
    if batch.kind == ImportBatch.Kind.SUBSIDIES:
        parsed = scdl.parse_subsidy(raw)
        model = Subsidy
    else:
        parsed = scdl.parse_budget(raw, _batch_nomenclature(batch))
        model = BudgetLine
    if parsed.reasons:
        return None, parsed.reasons
    if model.objects.filter(row_hash=parsed.record["row_hash"]).exists():
        return None, ["Ligne en double : une ligne identique est déjà importée."]
    record = dict(parsed.record)
    if model is Subsidy:
        from . import themes

        record["theme"] = themes.classify(record["object"], record["nature"], record["beneficiary_name"])
        code = default_resolver()(record)
        parents = _commune_parents([code]) if code else {}
        if code in parents:
            record["beneficiary_commune_id"] = code
            record["beneficiary_epci_id"], record["beneficiary_departement_id"] = parents[code]
    with transaction.atomic():
        obj = model.objects.create(batch=batch, organisation_id=batch.organisation_id, line=row.line, is_demo=batch.is_demo, **record)
        corrections = list(batch.report.get("corrections", []))
        corrections.append({"line": row.line, "reasons": row.reasons,
                            "by": getattr(user, "email", ""), "at": timezone.now().isoformat()})
        row.delete()
        batch.rows_imported += 1
        batch.rows_quarantined = max(0, batch.rows_quarantined - 1)
        batch.report = {**batch.report, "corrections": corrections}
        if model is BudgetLine:
            from .selectors import balance_checks

            batch.report["balance"] = balance_checks(batch)
        batch.save()
        if model is Subsidy:
            from . import snapshot

            transaction.on_commit(lambda: snapshot.forget_batch(batch.pk))
            transaction.on_commit(_schedule_publication)
    return obj, []


def import_upload(user, organisation: Organisation, kind: str, upload, *, nomenclature: str = "M57") -> ImportBatch:
    """An agent uploads a file for an organisation they edit for."""
    require_import_for(user, organisation)
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as tmp:
        for chunk in upload.chunks():
            tmp.write(chunk)
    try:
        return run_import(
            kind, Path(tmp.name), organisation=organisation, user=user, origin=ImportBatch.Origin.UPLOAD,
            file_name=upload.name, nomenclature=nomenclature, check_permission=False,
        )
    finally:
        Path(tmp.name).unlink(missing_ok=True)


# ---------------------------------------------------------------- catalogue integration

CONSOLIDATED_SLUG = "subventions-consolidees-du-territoire"


def scdl_kind_of_schema(schema: str) -> str | None:
    """``subventions`` / ``budget`` for an SCDL schema URL or name, else None."""
    text = (schema or "").lower()
    if "scdl" not in text and "opendatafrance" not in text:
        return None
    if "subvention" in text:
        return "subventions"
    if "budget" in text:
        return "budget"
    return None


def import_catalog_resource(resource) -> ImportBatch | None:
    """Import a catalogue resource whose schema is SCDL budget or subventions (local file or URL
    fetched through the SSRF-safe client). The consolidated dataset itself is skipped."""
    kind = scdl_kind_of_schema(resource.schema)
    if kind is None or resource.dataset.slug == CONSOLIDATED_SLUG:
        return None
    key = f"catalog.resource:{resource.pk}"
    with tempfile.TemporaryDirectory(prefix="regio-finance-") as tmp:
        target = Path(tmp) / "resource.csv"
        if resource.file:
            with resource.file.open("rb") as src, open(target, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    out.write(chunk)
        elif resource.url:
            from regio.core.http import fetch

            response = fetch(resource.url)
            target.write_bytes(response.content)
        else:
            return None
        try:
            return run_import(
                kind, target, organisation=resource.dataset.publisher, origin=ImportBatch.Origin.CATALOG,
                file_name=resource.title, source_key=key, check_permission=False,
            )
        except ImportRefused as exc:
            return ImportBatch.objects.create(
                kind=kind, origin=ImportBatch.Origin.CATALOG, organisation=resource.dataset.publisher,
                source_key=key, file_name=resource.title[:255], file_sha256=sha256_of(target),
                status=ImportBatch.Status.FAILED, error=str(exc),
            )


def _schedule_publication() -> None:
    from .tasks import publish_consolidated_task

    try:
        publish_consolidated_task.enqueue()
    except Exception:  # a failed publication must never undo an import
        log.exception("publication des subventions consolidées non planifiée")


def publish_consolidated() -> object | None:
    """(Re)publish every imported subsidy as one catalogue dataset with CSV and Parquet resources
    in the SCDL subventions columns. Published by the région's organisation through a platform
    account that is an editor of it."""
    from django.core.files.base import File

    from regio.catalog import services as catalog
    from regio.catalog.models import Dataset
    from regio.territory.selectors import platform_region

    from .exports import write_consolidated

    region = platform_region()
    org = Organisation.objects.filter(kind="region", region=region).first() if region else None
    if org is None:
        return None
    bot = catalog.service_account(org)
    schema_url = "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"
    dataset = Dataset.objects.filter(slug=CONSOLIDATED_SLUG).first()
    if dataset is None:
        dataset = catalog.create_dataset(bot, org, {
            "title": "Subventions consolidées du territoire",
            "slug": CONSOLIDATED_SLUG,
            "description": (
                "Toutes les subventions publiées au format SCDL par les collectivités du territoire et importées "
                "dans la plateforme (dépôts, ressources du catalogue, ligne de commande), consolidées en un seul "
                "fichier. Mis à jour automatiquement à chaque import."
            ),
            "licence": "lov2", "frequency": "CONT", "conforms_to": schema_url,
            "keywords": ["subventions", "SCDL", "finances publiques"],
        }, publish=True)
    with tempfile.TemporaryDirectory(prefix="regio-finance-") as tmp:
        csv_path, parquet_path = write_consolidated(Path(tmp))
        with transaction.atomic():
            old = list(dataset.resources.all())
            for path, fmt, media in ((csv_path, "csv", "text/csv"), (parquet_path, "parquet", "application/vnd.apache.parquet")):
                with open(path, "rb") as handle:
                    upload = File(handle, name=path.name)
                    upload.content_type = media
                    catalog.add_resource(
                        bot, dataset, title=f"Subventions consolidées ({fmt.upper()})", upload=upload, format=fmt,
                        schema=schema_url, media_type=media,
                    )
            for resource in old:
                if resource.file:
                    resource.file.delete(save=False)
                resource.delete()
    return dataset
