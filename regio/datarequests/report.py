"""The CDO's annual public report: figures, one HTML rendering, the PDF printed from it (WeasyPrint), CSV files."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from .models import DataRequest, LegalGround, ObligationRun, ObligationStatus, Status
from .obligations import STATUS_LABELS


def _year_bounds(year: int):
    tz = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(datetime(year, 1, 1).date(), time.min, tz), datetime.combine(datetime(year + 1, 1, 1).date(), time.min, tz)


def collect(year: int) -> dict:
    """Every figure of the report for ``year`` as tables: ``{name: {"title", "columns", "rows"}}`` plus a summary."""
    from regio.catalog.models import Reuse
    from regio.catalog.selectors import public_datasets
    from regio.catalog.vocabularies import THEMES

    start, end = _year_bounds(year)
    tables: dict[str, dict] = {}

    released = public_datasets().filter(published_at__gte=start, published_at__lt=end)
    by_producer = released.order_by().values_list("publisher__name", "publisher__kind").annotate(n=Count("id")).order_by("-n", "publisher__name")
    tables["donnees_publiees_par_producteur"] = {
        "title": f"Jeux de données publiés en {year}, par producteur",
        "columns": ["producteur", "type", "jeux_publies"],
        "rows": [list(r) for r in by_producer],
    }
    themes = Counter()
    for row_themes in released.values_list("themes", flat=True):
        for code in row_themes or ["(sans thème)"]:
            themes[code] += 1
    tables["donnees_publiees_par_theme"] = {
        "title": f"Jeux de données publiés en {year}, par thème",
        "columns": ["theme", "libelle", "jeux_publies"],
        "rows": [[code, THEMES.get(code, code), n] for code, n in sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))],
    }

    received = DataRequest.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    answered = DataRequest.objects.filter(answered_at__gte=start, answered_at__lt=end)
    delays = [r.delay_days for r in answered if r.delay_days is not None]
    today = timezone.localdate()
    statuses = Counter(received.values_list("status", flat=True))
    tables["demandes"] = {
        "title": f"Demandes de données en {year}",
        "columns": ["indicateur", "valeur"],
        "rows": [
            ["demandes reçues", received.count()],
            ["dont en attente de modération ou rejetées", received.exclude(moderation__in=("not_required", "approved")).count()],
            ["réponses données dans l'année", len(delays)],
            ["données publiées en réponse", answered.filter(status=Status.RELEASED).count()],
            ["refus", answered.filter(status=Status.REFUSED).count()],
            ["retirées", received.filter(status=Status.WITHDRAWN).count()],
            ["encore ouvertes", sum(statuses[s] for s in (Status.SUBMITTED, Status.QUALIFIED, Status.ASSIGNED, Status.IN_PROGRESS))],
            ["ouvertes au-delà du délai légal d'un mois", sum(r.is_overdue(today) for r in received.filter(status__in=[Status.SUBMITTED, Status.QUALIFIED, Status.ASSIGNED, Status.IN_PROGRESS]))],
            ["délai moyen de réponse (jours)", round(statistics.mean(delays), 1) if delays else ""],
            ["délai médian de réponse (jours)", statistics.median(delays) if delays else ""],
            ["réponses dans le délai légal", sum(1 for r in answered if r.answered_at and timezone.localdate(r.answered_at) <= r.legal_deadline)],
        ],
    }
    grounds = Counter(answered.filter(status=Status.REFUSED).values_list("refusal_ground", flat=True))
    tables["refus_par_motif"] = {
        "title": f"Refus en {year}, par motif légal",
        "columns": ["motif", "refus"],
        "rows": [[LegalGround(g).label if g in LegalGround.values else g, n] for g, n in grounds.most_common()],
    }

    runs = list(ObligationRun.objects.filter(computed_at__lt=end).order_by("computed_at"))
    monthly: dict[str, ObligationRun] = {}
    for run in runs:
        if run.computed_at >= start:
            monthly[timezone.localtime(run.computed_at).strftime("%Y-%m")] = run
    tables["obligations_evolution"] = {
        "title": f"Obligations d'ouverture : évolution en {year} (dernier calcul de chaque mois)",
        "columns": ["mois", "collectivites", "soumises", "soumises_qui_publient", "couverture_pct", "a_verifier", "qui_publient"],
        "rows": [[m, r.collectivites, r.subject, r.subject_publishing, r.coverage_pct if r.coverage_pct is not None else "", r.to_check, r.publishing]
                 for m, r in sorted(monthly.items())],
    }
    by_status = Counter(dict(ObligationStatus.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")))
    tables["obligations_situation"] = {
        "title": "Obligations d'ouverture : situation au dernier calcul",
        "columns": ["situation", "collectivites"],
        "rows": [[label, by_status.get(key, 0)] for key, label in STATUS_LABELS.items()],
    }

    tables["sources_moissonnees"] = harvest_table(year, start, end)
    top = public_datasets().order_by("-popularity", "-id").values_list("title", "publisher__name", "views_count", "downloads_count")[:20]
    tables["jeux_les_plus_consultes"] = {
        "title": "Jeux de données les plus consultés",
        "columns": ["jeu", "producteur", "vues", "telechargements"],
        "rows": [list(r) for r in top],
    }
    reuses = Reuse.objects.published().filter(created_at__gte=start, created_at__lt=end).annotate(n=Count("datasets")).order_by("-n", "title")
    tables["reutilisations"] = {
        "title": f"Réutilisations référencées en {year}",
        "columns": ["reutilisation", "type", "jeux_utilises", "adresse"],
        "rows": [[r.title, r.get_kind_display(), r.n, r.url] for r in reuses[:50]],
    }
    latest = runs[-1] if runs else None
    summary = {
        "released": released.count(),
        "received": received.count(),
        "answered": len(delays),
        "refused": answered.filter(status=Status.REFUSED).count(),
        "coverage_pct": latest.coverage_pct if latest else None,
        "subject": latest.subject if latest else None,
        "to_check": latest.to_check if latest else None,
    }
    return {"year": year, "tables": tables, "summary": summary, "generated_at": timezone.now(),
            "region": _region_name()}


def harvest_table(year: int, start, end) -> dict:
    """Per harvest source (regio.harvest): datasets harvested during the year, new ones, removed at
    the source, real runs of the year (complete / failed / other) and the last run's status.

    "Harvested during the year": reached through the source before the year's end and still seen
    on or after its start (``DatasetOrigin.first_seen_at`` / ``last_seen_at``). Dry runs are left out.
    """
    from regio.core.ingest.models import Run
    from regio.harvest import selectors as harvest_selectors
    from regio.harvest.models import DatasetOrigin

    failed_statuses = (Run.Status.FAILED, Run.Status.DEAD)
    sources = list(harvest_selectors.sources())
    ids = [s.pk for s in sources]
    origins = {
        row["source_id"]: row
        for row in DatasetOrigin.objects.filter(source_id__in=ids).order_by().values("source_id").annotate(
            harvested=Count("dataset_id", filter=Q(first_seen_at__lt=end, last_seen_at__gte=start), distinct=True),
            new=Count("dataset_id", filter=Q(first_seen_at__gte=start, first_seen_at__lt=end), distinct=True),
            removed=Count("dataset_id", filter=Q(archived_at__gte=start, archived_at__lt=end), distinct=True),
        )
    }
    real_runs = Run.objects.filter(source_id__in=ids, dry_run=False).exclude(status=Run.Status.QUEUED)
    runs = {
        row["source_id"]: row
        for row in real_runs.filter(created_at__gte=start, created_at__lt=end).order_by().values("source_id").annotate(
            total=Count("id"),
            complete=Count("id", filter=Q(status=Run.Status.SUCCEEDED, complete=True)),
            failed=Count("id", filter=Q(status__in=failed_statuses)),
        )
    }
    last: dict[int, Run] = {}
    for run in real_runs.filter(created_at__lt=end).order_by("source_id", "-created_at", "-id"):
        last.setdefault(run.source_id, run)
    rows = []
    for source in sources:
        o = origins.get(source.pk, {})
        r = runs.get(source.pk, {})
        lr = last.get(source.pk)
        when = lr.finished_at or lr.started_at or lr.created_at if lr else None
        rows.append([
            source.name, source.kind_label, source.owner.name if source.owner else "",
            o.get("harvested", 0), o.get("new", 0), o.get("removed", 0),
            r.get("total", 0), r.get("complete", 0), r.get("failed", 0), r.get("total", 0) - r.get("complete", 0) - r.get("failed", 0),
            lr.get_status_display() if lr else "aucun passage",
            timezone.localtime(when).strftime("%d/%m/%Y %H:%M") if when else "",
        ])
    rows.sort(key=lambda row: (-row[3], row[0]))
    return {
        "title": f"Sources moissonnées en {year}",
        "columns": [
            "source", "type", "proprietaire", f"jeux_moissonnes_en_{year}", "nouveaux_jeux", "supprimes_a_la_source",
            "passages", "passages_complets", "passages_echoues", "passages_partiels_ou_annules", "dernier_statut", "dernier_passage",
        ],
        "rows": rows,
    }


def _region_name() -> str:
    from regio.territory.models import Region

    region = Region.objects.filter(code=settings.REGION_CODE).first()
    return region.name if region else "la région"


def render_html(data: dict) -> str:
    return render_to_string("datarequests/report.html", {"data": data})


def render_pdf(html: str) -> bytes:
    """The same HTML printed to PDF by WeasyPrint (pure Python + Pango; no browser)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def write_report(year: int, output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    data = collect(year)
    html = render_html(data)
    written = [output / "index.html", output / "report.pdf"]
    written[0].write_text(html, encoding="utf-8")
    written[1].write_bytes(render_pdf(html))
    for name, table in data["tables"].items():
        path = output / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(table["columns"])
            writer.writerows(table["rows"])
        written.append(path)
    return written
