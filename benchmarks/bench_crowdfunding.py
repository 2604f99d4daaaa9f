"""Crowdfunding under load: N concurrent backers (threads, one database connection each) pledge on
projects that share one match-funding envelope, then the invariants are checked.

    python benchmarks/bench_crowdfunding.py [--backers 200] [--projects 8]

Each backer creates a pledge, confirms it (payment received → match reserved under the programme
row lock), then retries the same request (double click) — the retry must change nothing.
Figures per database (SQLite always; PostgreSQL when ``REGIO_BENCH_PG_URL`` is set):
``pledges_per_s``, ``overspend_cents`` (committed match beyond the envelope), ``lost_pledges``
(accepted but not recorded as confirmed), ``double_counted_pledges`` (recorded or posted more than
once), ``ledger_imbalance_cents`` (from ``regio ledger check``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, databases, peak_rss_mb, percentiles_ms, setup_django, write_result  # noqa: E402

RURAL_COMMUNES = ["59663", "59481", "59012", "59241", "62645", "62057", "59435", "62706", "02458", "02053"]


def run_one(database_url: str | None, backers_n: int, projects_n: int) -> dict:
    setup_django(database_url)
    from django.conf import settings
    from django.db import connection, connections
    from django.db.models import Count, Sum
    from django.utils import timezone

    from regio.accounts.models import User
    from regio.crowdfunding import ledger, services
    from regio.crowdfunding.models import MatchReservation, Pledge, Programme, Transaction
    from regio.territory.loader import load_territory
    from regio.territory.models import Commune

    load_territory(str(Path(settings.SHARED_DIR) / "data" / "territory"), region_code="32", force=True)
    now = timezone.now()
    owner = User.objects.create(email="porteur@bench.regio.localhost", is_active=True)
    moderator = User.objects.create(email="moderation@bench.regio.localhost", is_active=True, is_moderator=True)
    backers = User.objects.bulk_create([User(email=f"donateur{i}@bench.regio.localhost", is_active=True) for i in range(backers_n)])
    rng = random.Random(32)
    amounts = [rng.randrange(500, 20_001, 100) for _ in range(backers_n)]
    envelope = sum(min(a, 5_000) for a in amounts) // 3  # the rules would grant three times the envelope
    programme = services.create_programme(
        name="Banc d'essai", slug="banc", envelope_cents=envelope, cap_per_pledge_cents=5_000, density_classes=[5, 6, 7],
        starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1),
    )
    projects = []
    for i in range(projects_n):
        project = services.create_project(
            owner, title=f"Projet {i}", category="agriculture", commune=Commune.objects.get(code=RURAL_COMMUNES[i % len(RURAL_COMMUNES)]),
            goal_cents=10_000_000, deadline=now + timedelta(days=5), description="Banc d'essai.", programme=programme,
            budget_lines=[("Tout", 100_000_000)],
        )
        services.submit_project(owner, project)
        services.moderate_project(moderator, project, approve=True)
        projects.append(project)
    connections.close_all()

    barrier = threading.Barrier(backers_n)
    accepted: dict[str, int] = {}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def backer(i: int) -> None:
        key = f"bench-{i}"
        try:
            barrier.wait()
            start = time.perf_counter()
            pledge, _ = services.create_pledge(backers[i], projects[i % projects_n], amounts[i], idempotency_key=key)
            services.confirm_pledge(pledge.pk)
            retry, created = services.create_pledge(backers[i], projects[i % projects_n], amounts[i], idempotency_key=key)
            services.confirm_pledge(retry.pk)
            elapsed = time.perf_counter() - start
            with lock:
                accepted[key] = amounts[i] if not created and retry.pk == pledge.pk else -1
                latencies.append(elapsed)
        except Exception as exc:  # reported in the figures, never hidden
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=backer, args=(i,)) for i in range(backers_n)]
    wall_start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall_s = time.perf_counter() - wall_start

    programme = Programme.objects.get(pk=programme.pk)
    reserved = MatchReservation.objects.filter(programme=programme).aggregate(s=Sum("amount_cents"))["s"] or 0
    confirmed = dict(Pledge.objects.filter(status=Pledge.Status.AUTHORISED).values_list("idempotency_key", "amount_cents"))
    lost = sum(1 for key, amount in accepted.items() if confirmed.get(key) != amount)
    posted_twice = (
        Transaction.objects.filter(kind=Transaction.Kind.PLEDGE_AUTHORISED).values("pledge_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    extra_rows = Pledge.objects.count() - len(set(Pledge.objects.values_list("idempotency_key", flat=True)))
    report = ledger.check()
    figures = {
        "vendor": connection.vendor,
        "backers": backers_n,
        "projects": projects_n,
        "accepted_pledges": len(accepted),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_s": round(wall_s, 3),
        "pledges_per_s": round(len(accepted) / wall_s, 1) if wall_s else None,
        "pledge_latency": percentiles_ms(latencies) if latencies else None,
        "envelope_cents": programme.envelope_cents,
        "committed_cents": programme.committed_cents,
        "overspend_cents": max(0, reserved - programme.envelope_cents, programme.committed_cents - programme.envelope_cents),
        "lost_pledges": lost,
        "double_counted_pledges": posted_twice + extra_rows + sum(1 for v in accepted.values() if v == -1),
        "ledger_imbalance_cents": report.imbalance_cents,
        "ledger_problems": report.problems[:3],
        "peak_rss_mb": peak_rss_mb(),
    }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backers", type=int, default=200)
    parser.add_argument("--projects", type=int, default=8)
    parser.add_argument("--one", nargs=2, metavar=("LABEL", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        figures = run_one(args.one[1] or None, args.backers, args.projects)
        print("RESULT " + json.dumps(figures))
        return 0
    if not os.environ.get("REGIO_BENCH_PG_URL"):
        print("REGIO_BENCH_PG_URL absent : mesure sur SQLite seulement (PostgreSQL via `python benchmarks/run.py crowdfunding`).")
    results = {}
    for label, url in databases():
        # Django is set up once per process: each database is measured in its own process.
        proc = subprocess.run(
            [sys.executable, __file__, "--one", label, url or "", "--backers", str(args.backers), "--projects", str(args.projects)],
            capture_output=True, text=True, cwd=ROOT,
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            return 1
        results[label] = json.loads(line.removeprefix("RESULT "))
    main_db = results.get("postgresql") or results["sqlite"]
    write_result(
        "crowdfunding",
        {
            "backers": args.backers,
            "projects_sharing_one_envelope": args.projects,
            "measured_on": main_db["vendor"],
            "pledges_per_s": main_db["pledges_per_s"],
            "overspend_cents": max(r["overspend_cents"] for r in results.values()),
            "lost_pledges": sum(r["lost_pledges"] for r in results.values()),
            "double_counted_pledges": sum(r["double_counted_pledges"] for r in results.values()),
            "ledger_imbalance_cents": sum(r["ledger_imbalance_cents"] for r in results.values()),
            "by_database": results,
        },
    )
    bad = any(r["overspend_cents"] or r["lost_pledges"] or r["double_counted_pledges"] or r["ledger_imbalance_cents"] or r["errors"] for r in results.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
