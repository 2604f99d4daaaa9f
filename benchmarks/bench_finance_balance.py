"""DGFiP account balance import benchmark → var/bench/finance_balance.json.

A national DGFiP balance holds every collectivité of France (several million lines a year); an
import keeps the lines of one SIREN. Measured, on SQLite and PostgreSQL: importing one
collectivité's lines out of a ``--lines`` file (the common case), and importing every
collectivité of a smaller ``--all-lines`` file (the command line without ``--siren``). The file is
built in the DGFiP layout (``;``, decimal points) with Luhn-valid commune SIRETs, 60 real M14
accounts per budget and made-up amounts. Wall time, CPU time of this process and of the
PostgreSQL backend (from /proc), rows per second.

    python benchmarks/run.py finance_balance [--no-postgres] -- [--lines 1000000] [--all-lines 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import databases, peak_rss_mb, setup_django, stopwatch, write_result  # noqa: E402

ACCOUNTS = ["6411", "6413", "6451", "6453", "60611", "60612", "6063", "6068", "611", "6156", "6231", "6574", "6531",
            "66111", "6811", "73111", "7411", "74121", "74123", "7066", "7067", "752", "2313", "2152", "2183", "2184",
            "2188", "2031", "2041", "2042", "1641", "10222", "1021", "1068", "4011", "515"]
HEADER = "exer;ident;ndept;lbudg;insee;cbudg;ctype;cstyp;nomen;siren;cregi;categ;compte;obnetdeb;obnetcre;onbdeb;onbcre;sd;sc\n"
TARGET = "215903501"  # Lille


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _with_key(base: str) -> str:
    return next(base + d for d in "0123456789" if _luhn_ok(base + d))


def build_file(path: Path, lines: int, rng: random.Random) -> dict:
    """``lines`` balance lines: the target's budget first, then communes numbered through France."""
    written = 0
    collectivites = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        n = 0
        while written < lines:
            if n == 0:
                siren = TARGET
            else:
                dep = 1 + n % 95
                siren = _with_key(f"21{dep:02d}0{(n // 95) % 1000:03d}")
            siret = _with_key(siren + "0001")
            for compte in ACCOUNTS:
                if written >= lines:
                    break
                debit = rng.randint(0, 5_000_000) / 100 if compte[:1] in "26" or compte in ("1641", "4011", "515") else 0
                credit = rng.randint(0, 5_000_000) / 100 if compte[:1] in "7" or compte in ("1641", "10222", "1021", "1068", "4011", "515") else 0
                out.write(f"2021;{siret};{siren[2:4]};COMMUNE {n};{siren[5:8]};1;101;00;M14;{siren};032;Commune;{compte};"
                          f"{debit:.2f};{credit:.2f};0.00;0.00;{max(debit - credit, 0):.2f};{max(credit - debit, 0):.2f}\n")
                written += 1
            collectivites += 1
            n += 1
    return {"lines": written, "collectivites": collectivites, "file_mb": round(path.stat().st_size / 1e6, 1)}


def _backend_cpu_s() -> float | None:
    """CPU seconds (user + system) of this connection's PostgreSQL backend, from /proc (same machine)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed_import(path: Path, siren: str) -> dict:
    from regio.finance import services

    cpu0, pg0 = _cpu_s(), _backend_cpu_s()
    with stopwatch() as sw:
        batch = services.run_import("budget", path, organisation=None, origin="cli", check_permission=False,
                                    publish=False, siren=siren)
    pg1 = _backend_cpu_s()
    return {
        "wall_s": round(sw["s"], 2), "cpu_process_s": round(_cpu_s() - cpu0, 2),
        "cpu_postgres_backend_s": round(pg1 - pg0, 2) if pg0 is not None and pg1 is not None else None,
        "budget_rows_imported": batch.rows_imported, "rows_quarantined": batch.rows_quarantined,
        "balance_lines_per_s": round(batch.report["balance_dgfip"]["lines"] / sw["s"]),
    }


def measure(url: str | None, lines: int, all_lines: int) -> dict:
    work = setup_django(url)
    rng = random.Random(6)
    out: dict = {}
    big = work / "balance-national.csv"
    with stopwatch() as sw:
        out["file"] = build_file(big, lines, rng)
    out["file"]["build_s"] = round(sw["s"], 1)
    out["one_siren"] = _timed_import(big, TARGET)
    small = work / "balance-all.csv"
    out["all_file"] = build_file(small, all_lines, rng)
    out["all_collectivites"] = _timed_import(small, "")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--all-lines", type=int, default=20_000)
    parser.add_argument("--child", nargs=2, metavar=("LABEL", "URL"))
    args = parser.parse_args()
    if args.child:
        label, url = args.child
        print("RESULT " + json.dumps(measure(None if url == "-" else url, args.lines, args.all_lines)))
        return
    figures = {"lines": args.lines, "all_lines": args.all_lines, "load_before": os.getloadavg()}
    for label, url in databases():
        cmd = [sys.executable, __file__, "--child", label, url or "-", "--lines", str(args.lines), "--all-lines", str(args.all_lines)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            raise SystemExit(f"{label} a échoué")
        line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
        figures[label] = {**json.loads(line[len("RESULT "):]), "load_after": os.getloadavg()}
        print(label, json.dumps(figures[label], indent=1), flush=True)
    write_result("finance_balance", figures)


if __name__ == "__main__":
    main()
