"""Harvest benchmark: a CKAN catalogue of N datasets built by varying the real DataSud records, served
from loopback by a small local server (another process), harvested through the ingest engine.

Measures datasets/s for the first harvest and for an unchanged re-harvest, and peak memory (RSS of
the harvesting process). Each database is measured in its own child process.

    python benchmarks/bench_harvest.py [--size N]
"""

from __future__ import annotations

import argparse
import copy
import http.server
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, cpu_clock, databases, peak_rss_mb, setup_django, write_result  # noqa: E402

DEFAULT_SIZE = 3_000
PAGE_ROWS = 1000
SHARED = Path(os.environ.get("REGIO_SHARED_DIR", ROOT.parent / "shared"))


def real_packages() -> list[dict]:
    path = SHARED / "standards" / "apis" / "ckan" / "datasud_package_search.json"
    return json.loads(path.read_text(encoding="utf-8"))["result"]["results"]


def variant(base: list[dict], publishers: list[str], i: int) -> dict:
    pkg = copy.deepcopy(base[i % len(base)])
    pkg["id"] = f"bench-{i:07d}"
    pkg["name"] = f"{pkg['name']}-{i}"
    pkg["title"] = f"{pkg['title']} ({i})"
    pkg["url"] = f"https://portail.exemple.fr/dataset/{pkg['name']}"
    pkg["organization"] = dict(pkg["organization"], title=publishers[i % len(publishers)])
    for n, res in enumerate(pkg.get("resources") or []):
        res["url"] = f"https://portail.exemple.fr/dataset/{i}/resource/{n}/download/"
    return pkg


def build_page(base: list[dict], publishers: list[str], size: int, start: int, rows: int) -> bytes:
    results = [variant(base, publishers, i) for i in range(start, min(size, start + rows))]
    return json.dumps({"help": "", "success": True, "result": {"count": size, "results": results}}).encode()


def serve(size: int, publishers: list[str], page_rows: int, port_queue) -> None:
    base = real_packages()
    # Every page the harvester will ask for is built before the port is published (so before timing): on the
    # shared 2-core machine, building pages while the harvester runs would be counted as Regio's time.
    pages: dict[tuple[int, int], bytes] = {
        (start, page_rows): build_page(base, publishers, size, start, page_rows) for start in range(0, size, page_rows)
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            rows, start = min(int(query.get("rows", 100)), 1000), int(query.get("start", 0))
            # Pages are served as they are (like a portal answering from its cache); one not built yet (other
            # paging) is built once.
            body = pages.get((start, rows))
            if body is None:
                body = pages[(start, rows)] = build_page(base, publishers, size, start, rows)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def child(args) -> None:
    setup_django(os.environ["BENCH_HARVEST_DB"])
    from django.conf import settings
    from django.db import connection

    from regio.accounts.models import Organisation
    from regio.accounts.services import sync_collectivites
    from regio.core.ingest.engine import run_source
    from regio.harvest.models import HarvestSource
    from regio.territory.loader import load_territory

    settings.HTTP_ALLOW_PRIVATE = True  # the benchmark portal is on loopback
    load_territory(str(Path(settings.SHARED_DIR) / "data" / "territory"), region_code="32")
    sync_collectivites("32")
    orgs = list(Organisation.objects.filter(kind__in=["departement", "epci", "commune"]).order_by("pk")[:200])
    publishers = [o.name for o in orgs]
    owner = Organisation.objects.get(kind="region", region_id="32")
    queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.size, publishers, PAGE_ROWS, queue), daemon=True)
    server.start()
    port = queue.get(timeout=600)
    source = HarvestSource.objects.create(kind="ckan", name="Portail de banc d'essai", url=f"http://127.0.0.1:{port}",
                                          owner=owner, filters={"page_size": PAGE_ROWS}, time_limit_s=3600)
    figures = {}
    queries = {"n": 0}

    page_ends: list[float] = []

    def count(execute, sql, params, many, context):
        queries["n"] += 1
        if sql.startswith('UPDATE "core_run"') and '"pages_done"' in sql:  # a page's commit (counts, cursor)
            page_ends.append(time.perf_counter())
        return execute(sql, params, many, context)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    try:
        for label in ("first_harvest", "unchanged_reharvest"):
            queries["n"] = 0
            page_ends.clear()
            clock = cpu_clock(connection)
            cpu_start, load_start = clock(), os.getloadavg()[0]
            start = time.perf_counter()
            with connection.execute_wrapper(count):
                if profiler is not None:
                    profiler.enable()
                run = run_source(source)
                if profiler is not None:
                    profiler.disable()
            elapsed = time.perf_counter() - start
            cpu = clock() - cpu_start
            assert run.status == "succeeded", run.message
            done = run.created + run.updated + run.unchanged
            figures[label] = {
                "seconds": round(elapsed, 2), "datasets_per_s": round(done / elapsed, 1),
                # CPU of the harvesting process (+ its PostgreSQL backend): what a quiet machine would take.
                "cpu_seconds": round(cpu, 2), "datasets_per_cpu_s": round(done / max(cpu, 1e-9), 1),
                "load_1min_start": round(load_start, 2), "load_1min_end": round(os.getloadavg()[0], 2),
                "created": run.created, "updated": run.updated, "unchanged": run.unchanged, "failed": run.failed,
                "pages": run.pages_done, "queries": queries["n"],
                "queries_per_page": round(queries["n"] / max(1, run.pages_done), 1),
            }
            steps = [b - a for a, b in zip([start, *page_ends], page_ends, strict=False)]
            if len(steps) >= 4:  # does a page get slower as the catalogue grows?
                quarter = max(1, len(steps) // 4)
                figures[label]["page_seconds_first_quarter"] = round(sum(steps[:quarter]) / quarter, 3)
                figures[label]["page_seconds_last_quarter"] = round(sum(steps[-quarter:]) / quarter, 3)
            print(f"  {label}: {done} jeux en {elapsed:.1f} s ({done / elapsed:.0f}/s ; CPU {cpu:.1f} s), "
                  f"{queries['n'] / max(1, run.pages_done):.0f} requêtes SQL par page", flush=True)
            if profiler is not None:
                import pstats

                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                profiler = cProfile.Profile()
    finally:
        server.terminate()
    figures["peak_rss_mb"] = peak_rss_mb()
    Path(args.out).write_text(json.dumps(figures))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each run (child process)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    results = {
        "rows": args.size,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "note": (f"default {DEFAULT_SIZE:,} datasets so that both databases finish in a few minutes on 2 cores; "
                 "the issue's 50,000: --size 50000") if args.size < 50_000 else "full size",
        "targets": {"first_harvest_datasets_per_s": 500, "unchanged_reharvest_datasets_per_s": 2000, "peak_rss_mb": 500},
    }
    for label, url in databases():
        tmp = Path(tempfile.mkdtemp(prefix="regio-bench-harvest-"))
        env = {**os.environ, "BENCH_HARVEST_DB": url or f"sqlite:///{tmp / 'harvest.sqlite3'}"}
        out = tmp / "figures.json"
        print(f"harvest/{label}: {args.size} jeux de données…", flush=True)
        cmd = [sys.executable, __file__, "--child", "--size", str(args.size), "--out", str(out), *(["--profile"] if args.profile else [])]
        if subprocess.run(cmd, env=env).returncode != 0:
            print(f"harvest/{label} a échoué", flush=True)
            return 1
        results[label] = json.loads(out.read_text())
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["cpu_count"] = os.cpu_count()
    write_result("harvest", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
