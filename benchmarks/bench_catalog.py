"""Catalogue benchmark → var/bench/catalog.json.

    python benchmarks/bench_catalog.py [--size 20000]
    REGIO_BENCH_CATALOG_SIZE=100000 python benchmarks/run.py catalog

The issue asks for 100,000 datasets; on this 2-core machine shared with other jobs that takes ~10
minutes per database (corpus insertion ~5 min, indexing ~3 min, searches, a DCAT export of
~800 MB of Turtle), so the default is 20,000 and ``--size 100000`` (or the environment variable,
since benchmarks/run.py passes no arguments) gives the full figure.

For each database (SQLite, and PostgreSQL when REGIO_BENCH_PG_URL is set), in a child process:
build a corpus of ``--size`` datasets by varying the real records of ../shared/standards (udata,
CKAN, SCDL schemas: new ids, titles, publishers = real collectivités of région 32, territories),
then measure: full-text indexing time; p50/p95 of 20 French queries with facets
(selectors.search_datasets: count + facets + first page); CKAN ``package_search`` p95 through HTTP
(Django test client: URL routing, view, JSON; the corpus is quality-scored first, as the platform
scores what it writes, and each query is run once before timing); and, in a fresh child process, the full DCAT-AP
Turtle export of every dataset (streamed) with its time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import cpu_clock, databases, peak_rss_mb, percentiles_ms, setup_django, write_result  # noqa: E402

QUERIES = [
    ("subvention", {}),
    ("subventions associations", {"publisher_kind": "commune"}),
    ("budget primitif", {}),
    ("délibérations du conseil", {"publisher_kind": "epci"}),
    ("transport", {"theme": "TRAN"}),
    ("horaires bus", {}),
    ("adresse", {"format": "csv"}),
    ("base adresse locale", {}),
    ("stationnement", {"licence": "lov2"}),
    ("parkings", {}),
    ("déchetterie", {"theme": "ENVI"}),
    ("équipements collectifs", {}),
    ("logements sociaux", {}),
    ("vaccination covid", {}),
    ("marchés publics", {"format": "json"}),
    ("défibrillateur", {}),
    ("recharge véhicules électriques", {}),
    ("catalogue des données", {"origin": "local"}),
    ("entreprises établissements", {}),
    ("subvention", {"territory_any": "commune:80021"}),
]
CKAN_QUERIES = ["subvention", "budget", "transport", "adresse", "parking", "déchetterie", "covid", "équipements",
                "délibérations", "marchés publics"]
YEARS = list(range(2015, 2026))
DEFAULT_SIZE = 20_000


def build_corpus(size: int) -> dict:
    from django.conf import settings
    from django.db import connection, transaction

    from regio.accounts.models import Organisation
    from regio.accounts.services import sync_collectivites
    from regio.catalog.demo import real_records, schema_records
    from regio.catalog.models import Dataset, DatasetTerm, DatasetTerritory, Resource
    from regio.catalog.services import facet_terms_for
    from regio.core.models import PublicationStatus
    from regio.territory.loader import load_territory

    load_territory(str(Path(settings.SHARED_DIR) / "data" / "territory"), region_code="32")
    sync_collectivites("32")
    with connection.cursor() as cur:
        for table in ("catalog_datasetterm", "catalog_datasetterritory", "catalog_resource", "catalog_activitylog", "catalog_dataset"):
            cur.execute(f"DELETE FROM {table}")
        if connection.vendor == "sqlite":
            cur.execute("DELETE FROM catalog_dataset_fts")
    publishers = list(Organisation.objects.filter(kind__in=["region", "departement", "epci", "commune"]).order_by("pk"))
    records = real_records() + schema_records()
    ids = iter(range(1, size + 1))
    start = time.perf_counter()
    batch = 2000
    made = 0
    while made < size:
        n = min(batch, size - made)
        datasets, plan = [], []
        for _ in range(n):
            i = next(ids)
            rec = records[i % len(records)]
            org = publishers[(i * 7919) % len(publishers)]
            year = YEARS[i % len(YEARS)]
            title = f"{rec['title']} — {org.name} {year}"
            datasets.append(Dataset(
                id=i, title=title[:250], slug=f"jeu-{i}", description=rec["description"], publisher=org,
                keywords=rec["keywords"], themes=rec["themes"], frequency=rec["frequency"],
                licence=("lov2", "lov2", "odc-odbl", "cc-by")[i % 4],
                conforms_to=rec.get("conforms_to", ""), status=PublicationStatus.PUBLISHED,
                origin="harvested" if i % 4 == 0 else "local", popularity=(i * 31) % 1000,
                facet_terms=facet_terms_for(
                    rec["themes"], list(dict.fromkeys(k.lower() for k in rec["keywords"])),
                    [r["format"] for r in rec["resources"][:3]],
                    [(org.territory_level, org.territory_code, org.name)] if org.territory_code else [],
                ),
            ))
            plan.append((i, rec, org))
        with transaction.atomic():
            Dataset.objects.bulk_create(datasets, batch_size=500)
            DatasetTerritory.objects.bulk_create([
                DatasetTerritory(dataset_id=i, level=org.territory_level, code=org.territory_code, name=org.name)
                for i, _rec, org in plan if org.territory_code
            ], batch_size=1000)
            DatasetTerm.objects.bulk_create([
                DatasetTerm(dataset_id=i, kind=kind, value=value[:100])
                for i, rec, _org in plan
                for kind, values in (("theme", rec["themes"]), ("keyword", dict.fromkeys(k.lower() for k in rec["keywords"])))
                for value in values
            ], batch_size=1000)
            Resource.objects.bulk_create([
                Resource(dataset_id=i, title=r["title"], url=r["url"], format=r["format"], media_type=r.get("media_type") or "",
                         size=r.get("size"), position=p)
                for i, rec, _org in plan for p, r in enumerate(rec["resources"][:3])
            ], batch_size=1000)
        made += n
    return {"rows": size, "corpus_insert_s": round(time.perf_counter() - start, 2), "source_records": len(records),
            "publishers": len(publishers)}


def measure(label: str, size: int, out: Path) -> None:
    from django.db import connection
    from django.test import Client

    from regio.catalog import search, selectors

    figures = build_corpus(size)
    start = time.perf_counter()
    indexed = search.rebuild_index()
    figures["indexing_s"] = round(time.perf_counter() - start, 2)
    figures["indexed"] = indexed
    # The platform scores every dataset it writes (on save, or one background task after a bulk
    # write such as a harvest); the corpus above was inserted behind its back, so score it the way
    # that task does. Without it the first package_search of each query scored its page (~60 ms).
    start = time.perf_counter()
    from regio.quality.catalog_link import recompute_scores

    figures["quality_scored"] = recompute_scores()["created"]
    figures["quality_scoring_s"] = round(time.perf_counter() - start, 2)
    if connection.vendor == "postgresql":
        # What autovacuum does on a live server after such a bulk load: the indexing pass rewrote
        # every row of the search table (trigger), leaving 100,000 dead versions behind.
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")

    def run_query(q, filters):
        result = selectors.search_datasets(q, filters, "")
        list(result.queryset[:20])
        return result.total

    hits = {}
    for q, f in QUERIES:  # warm-up (caches, statement preparation)
        hits[f"{q} {f}".strip()] = run_query(q, f)
    clock = cpu_clock(connection)
    figures["load_avg_1min_before_search"] = round(os.getloadavg()[0], 2)
    samples, cpu = [], []
    for _ in range(5):
        for q, f in QUERIES:
            t, c = time.perf_counter(), clock()
            run_query(q, f)
            samples.append(time.perf_counter() - t)
            cpu.append(clock() - c)
    figures["search_with_facets"] = percentiles_ms(samples)
    # CPU time of each search: this process (Django + SQLite, which runs in-process) plus, on
    # PostgreSQL, the server backend serving this connection (/proc/<pid>/schedstat). On a
    # shared machine, wall-clock latency ≈ CPU time × load / cores: the CPU time is what an idle
    # machine would show (no I/O wait: the corpus is in cache).
    figures["search_with_facets_cpu"] = percentiles_ms(cpu)
    figures["load_avg_1min_after_search"] = round(os.getloadavg()[0], 2)
    figures["search_hits"] = hits
    no_facets = []
    for _ in range(5):
        for q, f in QUERIES:
            t = time.perf_counter()
            result = selectors.search_datasets(q, f, "", facets=None)
            list(result.queryset[:20])
            no_facets.append(time.perf_counter() - t)
    figures["search_without_facets"] = percentiles_ms(no_facets)
    client = Client()

    def package_search(q):
        response = client.get("/api/3/action/package_search", {"q": q, "rows": 20, "facet.field": '["organization","res_format","license_id"]'})
        assert response.status_code == 200, response.content[:300]

    for q in CKAN_QUERIES:  # warm-up, as for the searches (first request: URL configuration, imports)
        package_search(q)
    ckan = []
    for _ in range(5):
        for q in CKAN_QUERIES:
            t = time.perf_counter()
            package_search(q)
            ckan.append(time.perf_counter() - t)
    figures["ckan_package_search_http"] = percentiles_ms(ckan)
    figures["peak_rss_mb_build_and_search"] = peak_rss_mb()
    out.write_text(json.dumps(figures))


def export(out: Path) -> None:
    from django.test import Client

    client = Client()
    start = time.perf_counter()
    response = client.get("/catalog.ttl", {"page_size": "all"})
    size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
    elapsed = time.perf_counter() - start
    out.write_text(json.dumps({"load_avg_1min_after_export": round(os.getloadavg()[0], 2), "dcat_export_full_s": round(elapsed, 2), "dcat_export_bytes": size, "dcat_export_peak_rss_mb": peak_rss_mb()}))


def child(args) -> None:
    url = os.environ.get("BENCH_CATALOG_DB") or None
    if args.phase == "measure":
        setup_django(url)
        measure(args.db, args.size, Path(args.out))
    else:
        os.environ["REGIO_DATABASE_URL"] = url
        setup_django(url, migrate=False)
        export(Path(args.out))


def main() -> int:
    parser = argparse.ArgumentParser()
    # benchmarks/run.py passes no arguments: REGIO_BENCH_CATALOG_SIZE sets the size there.
    parser.add_argument("--size", type=int, default=int(os.environ.get("REGIO_BENCH_CATALOG_SIZE", DEFAULT_SIZE)))
    parser.add_argument("--phase", choices=["measure", "export"])
    parser.add_argument("--db")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.phase:
        child(args)
        return 0
    results = {
        "rows": args.size,
        "note": "default 20,000 datasets (100,000 takes ~10 min per database on 2 shared cores: "
        "--size 100000, or REGIO_BENCH_CATALOG_SIZE=100000 through benchmarks/run.py)"
        if args.size < 100_000 else "full size (100,000 datasets)",
    }
    for label, url in databases():
        tmp = Path(tempfile.mkdtemp(prefix="regio-bench-catalog-"))
        db_url = url or f"sqlite:///{tmp / 'catalog.sqlite3'}"
        env = {**os.environ, "BENCH_CATALOG_DB": db_url}
        figures = {}
        for phase in ("measure", "export"):
            out = tmp / f"{phase}.json"
            cmd = [sys.executable, __file__, "--phase", phase, "--db", label, "--size", str(args.size), "--out", str(out)]
            print(f"catalog/{label}: {phase}…", flush=True)
            if subprocess.run(cmd, env=env).returncode != 0:
                print(f"catalog/{label}: {phase} a échoué", flush=True)
                return 1
            figures.update(json.loads(out.read_text()))
        results[label] = figures
    results["targets"] = {"search_p95_ms": 50, "dcat_export_peak_rss_mb": 300}
    write_result("catalog", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
