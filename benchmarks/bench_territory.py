"""Territory benchmark: load all ~35,000 communes of France; p50/p95 of "communes within 20 km of
Lille" and of the commune autocomplete through the API, 1,000 calls each, on SQLite and PostgreSQL.

    python benchmarks/bench_territory.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

AUTOCOMPLETE_QUERIES = ["lil", "chateau thi", "amiens", "saint quentin", "beauvais", "arras", "dunk", "calais",
                        "59000", "80000", "st omer", "laon", "compiegne", "boulogne", "valenc", "roub"]


def measure_one(database_url: str | None, calls: int) -> dict:
    common.setup_django(database_url)
    from django.conf import settings
    from django.test import Client

    from regio.territory.loader import load_territory
    from regio.territory.models import Commune

    source = str(Path(settings.SHARED_DIR) / "data" / "territory")
    with common.stopwatch() as load:
        report = load_territory(source, region_code="32", all_france=True, force=True)
    with common.stopwatch() as reload:
        load_territory(source, region_code="32", all_france=True, force=True)
    client = Client()
    assert client.get("/api/1/communes/near", {"commune": "59350", "radius_km": 20}).status_code == 200
    near = common.timed(lambda: client.get("/api/1/communes/near", {"commune": "59350", "radius_km": 20, "page_size": 200}), calls)
    i = iter(range(10**9))
    auto = common.timed(
        lambda: client.get("/api/1/communes", {"q": AUTOCOMPLETE_QUERIES[next(i) % len(AUTOCOMPLETE_QUERIES)], "page_size": 8}),
        calls,
    )
    return {
        "communes_loaded": report.counts["communes"],
        "communes_in_db": Commune.objects.count(),
        "load_all_communes_s": round(load["s"], 2),
        "reload_all_communes_force_s": round(reload["s"], 2),
        "within_20km_of_lille_http": common.percentiles_ms(near),
        "autocomplete_http": common.percentiles_ms(auto),
        "peak_rss_mb": common.peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--one", nargs=2, metavar=("LABEL", "URL"))
    args = parser.parse_args()
    if args.one:
        url = None if args.one[1] == "-" else args.one[1]
        print("RESULT " + json.dumps(measure_one(url, args.calls)))
        return
    results = {}
    for label, url in common.databases():
        out = subprocess.run(
            [sys.executable, __file__, "--calls", str(args.calls), "--one", label, url or "-"],
            capture_output=True, text=True, check=True,
        ).stdout
        results[label] = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    common.write_result("territory", {"calls_per_measure": args.calls, "by_database": results})


if __name__ == "__main__":
    main()
