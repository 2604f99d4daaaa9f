"""Obligations monitor benchmark → var/bench/obligations.json.

    python benchmarks/bench_datarequests.py [--size 100000]

For each database (SQLite, and PostgreSQL when REGIO_BENCH_PG_URL is set), in a child process:
load the territory of all France (~35,000 communes, ``all_france=True``), create one organisation
per commune, EPCI, département and région, bulk-create ``--size`` harvested datasets varied from
the real records of ../shared/standards (udata, CKAN, SCDL schemas: titles, publishers spread over
every collectivité, schemas, dates), record agent counts for two thirds of the collectivités of
3,500 inhabitants or more (the rest stay « à vérifier »), then measure: the full recompute of the
monitor (``obligations.compute``, twice), the page ``/obligations/`` (Django test client: routing,
view, template) with sorts, filters and pages — first load apart, then p50/p95 —, the first
rendering of the map (its own SVG URL, cached afterwards), the JSON API and the CSV export.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import databases, peak_rss_mb, percentiles_ms, setup_django, write_result  # noqa: E402

PAGES = [
    "/obligations/", "/obligations/?sort=-jeux", "/obligations/?sort=completude&page=3", "/obligations/?subject=oui",
    "/obligations/?status=en_defaut&sort=-population", "/obligations/?kind=epci", "/obligations/?departement=80",
    "/obligations/?q=Saint", "/obligations/?sort=fraicheur&page=40", "/obligations/?subject=a_verifier&page=2",
    "/obligations/?sort=-qualite&kind=commune", "/obligations/?q=Saint&sort=-jeux&page=5",
]


def build(size: int) -> dict:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from regio.accounts.models import Organisation
    from regio.catalog.demo import real_records, schema_records
    from regio.catalog.models import Dataset
    from regio.core.models import PublicationStatus
    from regio.datarequests.models import AgentCount
    from regio.quality.catalog_link import FREQUENCIES
    from regio.quality.models import DatasetQuality
    from regio.quality.scoring import DatasetMeta, quality_score
    from regio.territory.loader import load_territory
    from regio.territory.models import EPCI, Commune, Departement, Region

    start = time.perf_counter()
    load_territory(str(Path(settings.SHARED_DIR) / "data" / "territory"), region_code="32", all_france=True, force=True)
    territory_s = time.perf_counter() - start
    start = time.perf_counter()
    orgs = [Organisation(kind="region", name=f"Région {r.name}", slug=f"region-{r.code}", region=r) for r in Region.objects.all()]
    orgs += [Organisation(kind="departement", name=f"Département {d.name}", slug=f"departement-{d.code}", departement=d, region_id=d.region_id)
             for d in Departement.objects.all()]
    orgs += [Organisation(kind="epci", name=e.name, slug=f"epci-{e.siren}", epci=e, siren=e.siren, region_id=e.region_id)
             for e in EPCI.objects.filter(is_active=True)]
    orgs += [Organisation(kind="commune", name=f"Commune de {name}", slug=f"commune-{code}", commune_id=code, departement_id=dep,
                          region_id=reg, epci_id=epci)
             for code, name, dep, reg, epci in Commune.objects.filter(is_active=True).values_list("code", "name", "departement_id", "region_id", "epci_id")]
    Organisation.objects.bulk_create(orgs, batch_size=2000)
    org_rows = list(Organisation.objects.values_list("id", "kind", "commune__population", "epci__population", "departement__population", "region__population"))
    publishers = [row[0] for row in org_rows]
    agents = []
    for i, (org_id, _kind, *pops) in enumerate(org_rows):
        population = next((p for p in pops if p is not None), None)
        if population and population >= 3500 and i % 3:
            agents.append(AgentCount(organisation_id=org_id, agents=max(10, population // 60), source="benchmark"))
    AgentCount.objects.bulk_create(agents, batch_size=2000)
    records = real_records() + schema_records()
    now = timezone.now()
    made = 0
    while made < size:
        n = min(5000, size - made)
        batch = []
        for i in range(made + 1, made + n + 1):
            rec = records[i % len(records)]
            # Skewed: a few collectivités publish a lot, most publish nothing (like the real landscape).
            org = publishers[(i * i * 7919) % max(1, len(publishers) // 3)]
            batch.append(Dataset(
                title=f"{rec['title']} {i}"[:250], slug=f"jeu-{i}", description=rec["description"] if i % 5 else "",
                publisher_id=org, keywords=rec["keywords"], themes=rec["themes"], frequency=rec["frequency"],
                licence="lov2", conforms_to=rec.get("conforms_to", "") if i % 2 else "", status=PublicationStatus.PUBLISHED,
                published_at=now, origin="harvested", harvest_source=f"source-{i % 40}", remote_id=str(i),
                metadata_modified_at=now - timedelta(days=i % 1500),
                facet_terms="\n".join([f"theme:{t}" for t in rec["themes"]] + [f"keyword:{k.lower()}" for k in rec["keywords"][:3]]),
            ))
        with transaction.atomic():
            Dataset.objects.bulk_create(batch, batch_size=1000)
        made += n
    # Quality scores (regio.quality's stored score): the real scoring function on each record's
    # metadata, for 9 datasets out of 10 (the rest "not scored yet", as after a fresh harvest).
    scores = [
        quality_score(DatasetMeta(title=rec["title"], description=rec["description"], license="lov2",
                                  frequency=FREQUENCIES.get(rec["frequency"], rec["frequency"]), last_update=now)).score
        for rec in records
    ]
    qualities, computed_at = [], timezone.now()
    for pk, slug in Dataset.objects.filter(slug__startswith="jeu-").values_list("id", "slug").iterator(chunk_size=5000):
        i = int(slug[4:])
        if i % 10:
            qualities.append(DatasetQuality(dataset_id=pk, score=max(0, scores[i % len(records)] - (i % 7) * 5), criteria=[],
                                            computed_at=computed_at))
    DatasetQuality.objects.bulk_create(qualities, batch_size=2000)
    return {"territory_load_s": round(territory_s, 2), "corpus_build_s": round(time.perf_counter() - start, 2),
            "collectivites": len(org_rows), "agent_counts": len(agents), "datasets": size, "scored_datasets": len(qualities)}


def measure(size: int, out: Path, calls: int) -> None:
    from django.test import Client

    from regio.datarequests import obligations

    figures = build(size)
    figures["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    t = time.perf_counter()
    run = obligations.compute()
    figures["recompute_first_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    run = obligations.compute()
    figures["recompute_s"] = round(time.perf_counter() - t, 2)
    figures["snapshot"] = {"collectivites": run.collectivites, "subject": run.subject, "subject_publishing": run.subject_publishing,
                           "to_check": run.to_check, "publishing": run.publishing, "datasets": run.datasets}
    client = Client()
    t = time.perf_counter()
    assert client.get("/obligations/").status_code == 200
    figures["page_first_load_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t = time.perf_counter()
    map_response = client.get("/obligations/carte.svg")
    figures["map_svg_first_render_ms"] = round((time.perf_counter() - t) * 1000, 1)
    figures["map_svg_bytes"] = len(map_response.content)
    samples = []
    for i in range(calls):
        path = PAGES[i % len(PAGES)]
        t = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - t)
        assert response.status_code == 200, path
    figures["page_http"] = percentiles_ms(samples)
    # The same pages with the per-snapshot row counts not cached yet (a fresh process, or the
    # first visitor of a filter after a recompute).
    from django.core.cache import cache

    cold = []
    for i in range(max(20, calls // 4)):
        path = PAGES[i % len(PAGES)]
        cache.clear()
        t = time.perf_counter()
        response = client.get(path)
        cold.append(time.perf_counter() - t)
        assert response.status_code == 200, path
    figures["page_http_counts_not_cached"] = percentiles_ms(cold)
    api = []
    for i in range(calls // 2):
        t = time.perf_counter()
        assert client.get("/api/1/obligations", {"sort": "-jeux", "page": i % 20 + 1}).status_code == 200
        api.append(time.perf_counter() - t)
    figures["api_json_http"] = percentiles_ms(api)
    t = time.perf_counter()
    csv_bytes = len(client.get("/api/1/obligations?format=csv").content)
    figures["csv_export_all_s"] = round(time.perf_counter() - t, 2)
    figures["csv_export_bytes"] = csv_bytes
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["peak_rss_mb"] = peak_rss_mb()
    out.write_text(json.dumps(figures))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        setup_django(os.environ.get("BENCH_DB") or None)
        measure(args.size, Path(args.out), args.calls)
        return 0
    results = {"rows": args.size, "calls_per_measure": args.calls, "by_database": {}}
    for label, url in databases():
        tmp = Path(tempfile.mkdtemp(prefix="regio-bench-obligations-"))
        out = tmp / "figures.json"
        env = {**os.environ, "BENCH_DB": url or ""}
        print(f"obligations/{label}…", flush=True)
        cmd = [sys.executable, __file__, "--child", "--size", str(args.size), "--calls", str(args.calls), "--out", str(out)]
        if subprocess.run(cmd, env=env).returncode != 0:
            print(f"obligations/{label} a échoué", flush=True)
            return 1
        results["by_database"][label] = json.loads(out.read_text())
    results["targets"] = {"recompute_s": 60, "page_p95_ms": 200}
    write_result("obligations", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
