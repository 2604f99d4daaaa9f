"""Tabular benchmark: ingest throughput (Regio vs sqlite-utils vs pandas), page query p95, peak memory.

The input CSV is built by repeating the real SCDL subsidies sample of the Haute-Garonne
(``../shared/standards/schemas/scdl-subventions/real/``) rewritten the French way: ``;`` separator,
decimal commas, dd/mm/yyyy dates. Each loader runs in its own child process so that its peak
memory (RSS, from ``wait4``) and wall time are its own.

    python benchmarks/bench_tabular.py [--mb 1024] [--queries 60] [--sqlite-utils-rows N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, percentiles_ms, setup_django, write_result

SAMPLE = "standards/schemas/scdl-subventions/real/SCDL_DEP_Haute_Garonne_datalocale-subvention.csv"
PYTHON = sys.executable
DEFAULT_MB = 100
SQLITE_UTILS_FULL_MB = 200
SQLITE_UTILS_DEFAULT_ROWS = 500_000


def shared_dir() -> Path:
    return Path(os.environ.get("REGIO_SHARED_DIR", ROOT.parent / "shared"))


def build_csv(target: Path, size_bytes: int, max_rows: int | None = None) -> tuple[int, int]:
    """Repeat the real sample (French style) until ``size_bytes`` (or exactly ``max_rows`` rows); return (rows, bytes)."""
    with open(shared_dir() / SAMPLE, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], rows[1:]
    amount, percent, day = header.index("montant"), header.index("pourcentageSubvention"), header.index("dateConvention")
    french = []
    for row in body:
        row = list(row)
        row[amount] = f"{float(row[amount]):.2f}".replace(".", ",")
        if row[percent]:
            row[percent] = row[percent].replace(".", ",")
        y, m, d = row[day].split("-")
        row[day] = f"{d}/{m}/{y}"
        french.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows(french)
    block = buffer.getvalue().encode("utf-8")
    head = io.StringIO()
    csv.writer(head, delimiter=";", lineterminator="\r\n").writerow(header)
    lines = block.split(b"\r\n")[:-1]  # no embedded line breaks in this sample
    count = 0
    with open(target, "wb") as out:
        out.write(head.getvalue().encode("utf-8"))
        written = out.tell()
        while (written < size_bytes) if max_rows is None else (count + len(french) <= max_rows):
            out.write(block)
            written += len(block)
            count += len(french)
        if max_rows is not None and count < max_rows:
            rest = max_rows - count
            out.write(b"\r\n".join(lines[:rest]) + b"\r\n")
            count += rest
    return count, target.stat().st_size


def run_child(argv: list[str], env=None) -> dict:
    """Run a child process, return its wall time and peak RSS (MB) from wait4, plus its JSON output."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout = process.stdout.read()
    stderr = process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[:3]} a échoué : {stderr.decode()[-2000:]}")
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    return {
        "wall_s": elapsed,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        **(json.loads(lines[-1]) if lines else {}),
    }


def head_rows(source: Path, target: Path, count: int) -> Path:
    """The header and the first ``count`` records of ``source`` (records never span lines here)."""
    with open(source, "rb") as inp, open(target, "wb") as out:
        out.write(inp.readline())
        for _ in range(count):
            out.write(inp.readline())
    return target


def count_sqlite(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("select count(*) from subventions").fetchone()[0]


# --------------------------------------------------------------------------- children


def child_regio(csv_path: str, work: str) -> None:
    setup_django()
    from regio.tabular import services
    from regio.tabular.models import TabularResource

    ranking = []  # the sort index built at the end of the conversion (timed apart, included in "s")
    build_sort_index = services._build_sort_index

    def timed_build(*args):
        began = time.perf_counter()
        build_sort_index(*args)
        ranking.append(time.perf_counter() - began)

    services._build_sort_index = timed_build
    resource = TabularResource.objects.create(resource_key="bench:1", source=csv_path, source_name=Path(csv_path).name)
    start = time.perf_counter()
    resource = services.convert_resource(resource)
    elapsed = time.perf_counter() - start
    if resource.status != "ready":
        raise SystemExit(resource.error)
    print(json.dumps({"s": elapsed, "sort_index_s": round(sum(ranking), 2), "rows": resource.row_count, "parquet": resource.parquet_path, "dialect": {k: resource.dialect[k] for k in ("encoding", "delimiter", "decimal_comma", "date_formats")}}))


def child_pandas(csv_path: str, work: str) -> None:
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(csv_path, sep=";", decimal=",", encoding="utf-8", dtype={"idAttribuant": str, "idBeneficiaire": str})
    frame.to_parquet(Path(work) / "pandas.parquet")
    print(json.dumps({"s": time.perf_counter() - start, "rows": len(frame)}))


# --------------------------------------------------------------------------- page queries

PAGE_QUERY_DESCRIPTION = (
    "sessions de 1 à 5 requêtes : un jeu de filtres tiré au hasard (montant > X parmi 8 seuils, et parfois "
    "conditionsVersement = … et/ou dateConvention >= …), puis des pages 1–50 de 20 lignes avec un tri tiré parmi 5 "
    "(montant, -montant, -dateConvention, nomBeneficiaire, -montant,nomBeneficiaire) ; total compris, via "
    "selectors.page (cache Django du total par version du fichier et filtres, les pages ne sont jamais en cache)"
)
THRESHOLDS = [500, 1000, 2500, 5000, 7500, 10000, 15000, 20000]
CONDITIONS = [None, "Unique", "Echelonné"]
DATES_FROM = [None, "01/01/2016", "01/07/2016", "01/01/2017"]
SORTS = ["montant", "-montant", "-dateConvention", "nomBeneficiaire", "-montant,nomBeneficiaire"]


def page_workload(rng: random.Random, count: int):
    """``count`` varied page queries (params, sort, page, new_filter): a user picks filters, then pages and re-sorts."""
    produced = 0
    while produced < count:
        params = [("montant__gt", str(rng.choice(THRESHOLDS)))]
        condition, date_from = rng.choice(CONDITIONS), rng.choice(DATES_FROM)
        if condition:
            params.append(("conditionsVersement__exact", condition))
        if date_from:
            params.append(("dateConvention__gte", date_from))
        for step in range(min(rng.randint(1, 5), count - produced)):
            yield params, rng.choice(SORTS), rng.randint(1, 50), step == 0
            produced += 1


def page_queries(parquet: Path, queries: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """Time ``queries`` page queries through the code path of the API and the preview (``selectors.page``)."""
    django_dir = setup_django()  # its own temporary database; Django's default cache (local memory) keeps the totals
    from regio.tabular import selectors
    from regio.tabular.engine.query import read_page
    from regio.tabular.models import Status, TabularResource

    resource = TabularResource.objects.create(
        resource_key="bench:page", source=str(parquet), status=Status.READY, parquet_path=str(parquet)
    )
    selectors.page(resource, [], page=1, page_size=1)  # warm-up: opens the shared reader database once per process
    samples, cold, warm, cpu = [], [], [], []
    seen: dict[tuple, int] = {}
    for params, sort, page, _first_of_session in page_workload(random.Random(5), queries):
        key = tuple(sorted(params))
        new_filter = key not in seen  # never counted before: the total is computed during this query
        start, start_cpu = time.perf_counter(), time.process_time()
        result = selectors.page(resource, params, sort=sort, page=page, page_size=20)
        elapsed = time.perf_counter() - start
        cpu.append(time.process_time() - start_cpu)  # this process and its DuckDB threads (no database query here)
        samples.append(elapsed)
        (cold if new_filter else warm).append(elapsed)
        if new_filter:  # checked once per filter set, outside the timing: the total is the real count
            seen[key] = read_page(parquet, filters_params=params, page=1, page_size=1)["total"]
        assert result["total"] == seen[key], (params, result["total"], seen[key])
        assert len(result["rows"]) == max(0, min(20, result["total"] - (page - 1) * 20)), (params, page)
    shutil.rmtree(django_dir, ignore_errors=True)
    return samples, cold, warm, cpu


def page_figures(samples: list[float], cold: list[float], warm: list[float], cpu: list[float], load: tuple) -> dict:
    page = percentiles_ms(samples)
    return {
        "page_query": {"description": PAGE_QUERY_DESCRIPTION, **page},
        "page_query_cpu": {"description": "temps CPU du processus (fils DuckDB compris) par requête", **percentiles_ms(cpu)},
        "page_query_slowest_ms": [round(x * 1000, 1) for x in sorted(samples)[-6:]],
        "page_query_load_average": {"start": load[0], "end": load[1]},
        "page_query_p95_ms": page["p95_ms"],
        "page_query_new_filter": {"description": "filtres jamais vus : le total est compté pendant la requête", **(percentiles_ms(cold) if cold else {"calls": 0})},
        "page_query_same_filter": {"description": "page ou tri suivant sur des filtres déjà vus (total en cache)", **(percentiles_ms(warm) if warm else {"calls": 0})},
    }


# --------------------------------------------------------------------------- main


def measure(size_mb: int, queries: int, sqlite_utils_rows: int | None = None, max_rows: int | None = None, only_regio: bool = False) -> dict:
    work = Path(tempfile.mkdtemp(prefix="regio-bench-tabular-"))
    regio_var = None
    try:
        source = work / "subventions.csv"
        rows, size = build_csv(source, size_mb * 1024 * 1024, max_rows)
        env = {**os.environ, "REGIO_VAR_DIR": str(work / "var")}
        regio = run_child([PYTHON, __file__, "--child", "regio", str(source), str(work)], env=env)
        regio_var = Path(regio["parquet"]).parents[2]
        if only_regio:
            load_start = os.getloadavg()
            samples, cold, warm, cpu = page_queries(Path(regio["parquet"]), queries)
            load = (load_start, os.getloadavg())
            assert regio["rows"] == rows, (regio["rows"], rows)
            return {
                "rows": rows,
                "bytes": size,
                "only_regio": True,
                "regio_ingest_s": round(regio["s"], 2),
                "regio_rows_per_s": round(rows / regio["s"]),
                "regio_peak_rss_mb": regio["peak_rss_mb"],
                "regio_cpu_s": regio["cpu_s"],
                "regio_sort_index_s": regio["sort_index_s"],
                **page_figures(samples, cold, warm, cpu, load),
            }
        # sqlite-utils exactly as a Datasette user types it (4.x detects column types by default, commits
        # one transaction per batch); also with --no-detect-types (all TEXT), its fastest CSV mode. On
        # the first ``sqlite_rows`` rows of the same file when the whole file would take too long.
        sqlite_rows = rows if not sqlite_utils_rows or sqlite_utils_rows >= rows else sqlite_utils_rows
        sqlite_source = source if sqlite_rows == rows else head_rows(source, work / "head.csv", sqlite_rows)
        sqlite_utils_bin = str(Path(PYTHON).parent / "sqlite-utils")
        sqlite_utils = run_child(
            [sqlite_utils_bin, "insert", str(work / "s.db"), "subventions", str(sqlite_source), "--csv", "--delimiter", ";", "--encoding", "utf-8"]
        )
        sqlite_text = run_child(
            [sqlite_utils_bin, "insert", str(work / "t.db"), "subventions", str(sqlite_source), "--csv", "--delimiter", ";", "--encoding", "utf-8",
             "--no-detect-types"]
        )
        sqlite_counts = [count_sqlite(work / name) for name in ("s.db", "t.db")]
        assert sqlite_counts == [sqlite_rows, sqlite_rows], (sqlite_counts, sqlite_rows)
        pandas = run_child([PYTHON, __file__, "--child", "pandas", str(source), str(work)])
        assert regio["rows"] == rows and pandas["rows"] == rows, (regio["rows"], pandas["rows"], rows)

        load_start = os.getloadavg()
        samples, cold, warm, cpu = page_queries(Path(regio["parquet"]), queries)
        load = (load_start, os.getloadavg())
        regio_rate = rows / regio["s"]  # the conversion itself (sniff, Parquet, profile), not Django's start-up
        sqlite_rate = sqlite_rows / sqlite_utils["wall_s"]
        sqlite_text_rate = sqlite_rows / sqlite_text["wall_s"]
        pandas_rate = rows / pandas["wall_s"]
        return {
            "rows": rows,
            "bytes": size,
            "input": "SCDL subventions Haute-Garonne répété, séparateur ;, virgule décimale, dates JJ/MM/AAAA",
            "regio_ingest_s": round(regio["s"], 2),
            "regio_child_wall_s": round(regio["wall_s"], 2),
            "regio_cpu_s": regio["cpu_s"],
            "regio_sort_index_s": regio["sort_index_s"],
            "regio_rows_per_s": round(regio_rate),
            "regio_peak_rss_mb": regio["peak_rss_mb"],
            "regio_dialect": regio["dialect"],
            "sqlite_utils_rows": sqlite_rows,
            "sqlite_utils_command": "sqlite-utils insert s.db subventions fichier.csv --csv --delimiter ';' --encoding utf-8",
            "sqlite_utils_ingest_s": round(sqlite_utils["wall_s"], 2),
            "sqlite_utils_rows_per_s": round(sqlite_rate),
            "sqlite_utils_peak_rss_mb": sqlite_utils["peak_rss_mb"],
            "sqlite_utils_cpu_s": sqlite_utils["cpu_s"],
            "sqlite_utils_no_detect_types_ingest_s": round(sqlite_text["wall_s"], 2),
            "sqlite_utils_no_detect_types_rows_per_s": round(sqlite_text_rate),
            "sqlite_utils_no_detect_types_peak_rss_mb": sqlite_text["peak_rss_mb"],
            "pandas_ingest_s": round(pandas["wall_s"], 2),
            "pandas_rows_per_s": round(pandas_rate),
            "pandas_peak_rss_mb": pandas["peak_rss_mb"],
            "pandas_cpu_s": pandas["cpu_s"],
            "ratio_regio_over_sqlite_utils": round(regio_rate / sqlite_rate, 2),
            "ratio_regio_over_sqlite_utils_no_detect_types": round(regio_rate / sqlite_text_rate, 2),
            "ratio_regio_over_pandas": round(regio_rate / pandas_rate, 2),
            **page_figures(samples, cold, warm, cpu, load),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if regio_var is not None:  # the child's own database and Parquet folder (common.setup_django)
            shutil.rmtree(regio_var, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--mb", type=int, default=DEFAULT_MB,
        help=f"taille du CSV généré, en Mo (défaut : {DEFAULT_MB} ; le ~1 Go de l'issue se lance avec --mb 1024)",
    )
    parser.add_argument(
        "--rows", type=int, default=None,
        help="nombre exact de lignes du CSV généré, à la place de --mb (ex. 10000000 : les ~10 M lignes de l'issue, "
             "soit ~2,5 Go avec ce fichier de 252 octets par ligne)",
    )
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument(
        "--sqlite-utils-rows", type=int, default=None,
        help="sqlite-utils mesuré sur les N premières lignes du même fichier (défaut : tout le fichier jusqu'à "
             f"{SQLITE_UTILS_FULL_MB} Mo, sinon les {SQLITE_UTILS_DEFAULT_ROWS:,} premières lignes ; 0 = tout le fichier)",
    )
    parser.add_argument(
        "--only-regio", action="store_true",
        help="ne mesurer que Regio (conversion et requêtes de pages), sans sqlite-utils ni pandas",
    )
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CSV", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, csv_path, work = args.child
        {"regio": child_regio, "pandas": child_pandas}[kind](csv_path, work)
        return
    start = time.perf_counter()
    sqlite_rows = args.sqlite_utils_rows
    if sqlite_rows is None:
        small = args.rows <= SQLITE_UTILS_FULL_MB * 4000 if args.rows else args.mb <= SQLITE_UTILS_FULL_MB
        sqlite_rows = 0 if small else SQLITE_UTILS_DEFAULT_ROWS
    figures = measure(args.mb, args.queries, sqlite_rows or None, args.rows, only_regio=args.only_regio)
    figures["total_bench_s"] = round(time.perf_counter() - start, 1)
    notes = []
    if args.rows:
        notes.append(f"{args.rows:,} lignes demandées ({figures['bytes'] / 1024**3:.2f} Gio) : l'issue dit ~1 Go et ~10 M lignes, "
                     "incompatibles avec ce fichier réel (252 octets par ligne : 1 Go ≈ 4,2 M lignes).")
    elif args.mb != 1024:
        notes.append(f"Taille {args.mb} Mo au lieu du ~1 Go de l'issue (lancer avec --mb 1024 pour la taille de l'issue).")
    if args.only_regio:
        notes.append("--only-regio : sqlite-utils et pandas non mesurés dans cette exécution.")
    elif figures["sqlite_utils_rows"] < figures["rows"]:
        notes.append(
            f"sqlite-utils mesuré sur les {figures['sqlite_utils_rows']:,} premières lignes du même fichier (Regio et pandas sur "
            f"les {figures['rows']:,}) : il insère quelques milliers de lignes/s ici (une transaction, donc une écriture "
            "synchronisée sur disque, par lot de ~70 lignes, et la détection de types par défaut en 4.x), soit environ "
            f"{figures['rows'] / figures['sqlite_utils_rows_per_s'] / 60:.0f} minutes pour le fichier entier. Son débit est "
            "constant au long du fichier (lots indépendants)."
        )
    if notes:
        figures["note"] = " ".join(notes)
    figures["targets"] = {"ratio_regio_over_sqlite_utils_min": 5, "page_query_p95_ms_max": 100, "peak_rss_mb_max": 2048}
    write_result("tabular", figures)


if __name__ == "__main__":
    main()
