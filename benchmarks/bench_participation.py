"""Debates registry benchmark → var/bench/debates.json.

* ``near_query``: p95 of "open debates on theme X within 15 km of commune Y, sorted by distance"
  (``selectors.search`` exactly as /api/1/debates runs it: commune resolution, every match sorted
  by distance, the first page of 20 debates loaded) over
  N debates spread over the région's communes, on SQLite and PostgreSQL;
* ``digest``: time to build the daily digests (matching + rendering each e-mail, unsubscribe token
  included; sent through Django's dummy mail backend) for S confirmed subscribers and 200 new debates.

    python benchmarks/bench_participation.py [--debates 100000] [--subscribers 100000] [--queries 200]

Each database is measured in its own process (Django is set up once per process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import databases, peak_rss_mb, percentiles_ms, setup_django, stopwatch, timed, write_result  # noqa: E402


def measure(url: str | None, n_debates: int, n_subscribers: int, n_queries: int, digest: bool) -> dict:
    os.environ["REGIO_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    setup_django(url)
    from django.conf import settings
    from django.utils import timezone

    from regio.participation import selectors, services
    from regio.participation.models import THEMES, Debate, Subscription, pack
    from regio.territory.loader import load_territory
    from regio.territory.models import Commune

    load_territory(str(Path(settings.SHARED_DIR) / "data" / "territory"), region_code="32", force=True)
    rng = random.Random(32)
    communes = list(Commune.objects.filter(region_id="32", lat__isnull=False).values_list("code", "lat", "lon"))
    themes = list(THEMES)
    today = timezone.localdate()
    out: dict = {"communes": len(communes)}
    with stopwatch() as load:
        batch = []
        for i in range(n_debates):
            code, lat, lon = rng.choice(communes)
            opens = today + timedelta(days=rng.randint(-120, 60))
            d = Debate(
                title=f"Débat {i} sur {rng.choice(themes)}", organiser_name=f"Commune {code}", level="commune",
                themes=pack(rng.sample(themes, rng.randint(1, 3))), territory_codes=pack([code]), commune_id=code,
                lat=lat + rng.uniform(-0.01, 0.01), lon=lon + rng.uniform(-0.01, 0.01),
                opens_on=opens, closes_on=opens + timedelta(days=rng.randint(0, 90)),
                moderation=Debate.Moderation.APPROVED,
            )
            d.refresh_derived()
            batch.append(d)
            if len(batch) == 5000:
                Debate.objects.bulk_create(batch)
                batch = []
        Debate.objects.bulk_create(batch)
    out["load_s"] = round(load["s"], 1)
    out["debates"] = Debate.objects.count()
    out["open_debates"] = Debate.objects.filter(status="open").count()

    centres = [rng.choice(communes)[0] for _ in range(n_queries)]
    theme_cycle = [rng.choice(themes) for _ in range(n_queries)]
    sizes = []
    state = {"i": 0}

    def query():
        i = state["i"]
        state["i"] += 1
        filters = selectors.DebateFilters(theme=theme_cycle[i % n_queries], status="open", near=centres[i % n_queries], radius_km=15).validate()
        hits = selectors.search(filters)
        first_page = hits[:20]  # what /api/1/debates serialises
        sizes.append(len(hits))
        assert all(first_page[k].distance_km <= first_page[k + 1].distance_km for k in range(len(first_page) - 1))

    timed(query, 10)  # warm-up
    sizes.clear()
    out["near_query"] = {**percentiles_ms(timed(query, n_queries)), "radius_km": 15, "page_loaded": 20,
                         "mean_results": round(sum(sizes) / max(1, len(sizes)), 1)}

    if digest:
        now = timezone.now()
        Debate.objects.update(created_at=now - timedelta(days=30))
        Debate.objects.filter(pk__in=list(Debate.objects.filter(status="open").values_list("pk", flat=True)[:200])).update(
            created_at=now - timedelta(hours=2))
        subs = []
        for i in range(n_subscribers):
            code = rng.choice(communes)[0] if rng.random() < 0.7 else None
            subs.append(Subscription(
                email=f"abonne{i}@exemple.fr", themes=pack(rng.sample(themes, rng.randint(0 if code else 1, 2))),
                commune_id=code, radius_km=rng.choice([5, 10, 20, 30]), frequency="daily",
                confirmed_at=now - timedelta(days=3), last_sent_at=now - timedelta(days=1),
            ))
        Subscription.objects.bulk_create(subs, batch_size=5000)
        with stopwatch() as gen:
            sent = services.send_digests("daily", now)
        out["digest"] = {"subscribers": n_subscribers, "new_debates": 200, "emails": sent, "seconds": round(gen["s"], 2)}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debates", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--child", nargs=2, metavar=("LABEL", "URL"))
    parser.add_argument("--no-digest", action="store_true")
    args = parser.parse_args()
    if args.child:
        label, url = args.child
        result = measure(None if url == "-" else url, args.debates, args.subscribers, args.queries, not args.no_digest)
        print("RESULT " + json.dumps(result))
        return
    figures = {"debates": args.debates, "target_p95_ms": 50, "target_digest_s": 120}
    for label, url in databases():
        cmd = [sys.executable, __file__, "--child", label, url or "-", "--debates", str(args.debates),
               "--subscribers", str(args.subscribers), "--queries", str(args.queries)]
        if args.no_digest or label != "sqlite":  # the digest is CPU-bound Python: measured once
            cmd.append("--no-digest")
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            raise SystemExit(f"{label} a échoué")
        line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
        figures[label] = {**json.loads(line[len("RESULT "):]), "total_s": round(time.perf_counter() - start, 1)}
    write_result("debates", figures)


if __name__ == "__main__":
    main()
