"""Helpers shared by every benchmark script.

A benchmark script ``benchmarks/bench_<name>.py`` runs standalone (``python benchmarks/bench_x.py``),
prepares a fresh database of its own (SQLite in a temporary directory, and PostgreSQL when
``REGIO_BENCH_PG_URL`` is set — ``benchmarks/run.py`` starts a throw-away server for that), and
writes its figures with :func:`write_result` to ``var/bench/<name>.json`` (units in key names).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))


def setup_django(database_url: str | None = None, *, migrate: bool = True) -> Path:
    """Point Regio at a fresh database (SQLite in a temp dir by default), set up Django, migrate."""
    work = Path(tempfile.mkdtemp(prefix="regio-bench-"))
    os.environ["REGIO_VAR_DIR"] = str(work)
    os.environ["REGIO_DATABASE_URL"] = database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regio.settings")
    os.environ.setdefault("REGIO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return work


def databases() -> list[tuple[str, str | None]]:
    """(label, url) pairs to measure: SQLite always, PostgreSQL when a server was provided."""
    found = [("sqlite", None)]
    if os.environ.get("REGIO_BENCH_PG_URL"):
        found.append(("postgresql", os.environ["REGIO_BENCH_PG_URL"]))
    return found


def percentiles_ms(samples_s: list[float]) -> dict:
    ordered = sorted(samples_s)

    def pct(p: float) -> float:
        k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
        return round(ordered[k] * 1000, 3)

    return {"p50_ms": pct(50), "p95_ms": pct(95), "mean_ms": round(statistics.fmean(ordered) * 1000, 3), "calls": len(ordered)}


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@contextmanager
def stopwatch():
    box = {}
    start = time.perf_counter()
    yield box
    box["s"] = time.perf_counter() - start


def write_result(name: str, figures: dict) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.json"
    payload = {"benchmark": name, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine_cpus": os.cpu_count(), **figures}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return path


def cpu_clock(connection):
    """A clock of the CPU time used by this process and, on PostgreSQL, by its server backend."""
    if connection.vendor != "postgresql":
        return time.process_time
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cur.fetchone()[0]}/schedstat")
    if not os.access(stat, os.R_OK):  # server elsewhere: the client's CPU only
        return time.process_time

    def clock():
        return time.process_time() + int(stat.read_text().split()[0]) / 1e9

    return clock
