"""Reads of the data-request tracker and of the obligations snapshot."""

from __future__ import annotations

import hashlib

from django.db.models import Q, QuerySet
from django.utils import timezone

from regio.core.text import normalize_text

from .models import OPEN_STATUSES, Comment, DataRequest, Moderation, ObligationRun, ObligationStatus, Status

PUBLIC_MODERATION = (Moderation.NOT_REQUIRED, Moderation.APPROVED)


def public_requests() -> QuerySet:
    return DataRequest.objects.filter(moderation__in=PUBLIC_MODERATION).select_related("holder", "assigned_to", "released_dataset")


def filter_requests(qs: QuerySet, *, q: str = "", status: str = "", holder: str = "", territory: str = "", overdue: bool = False) -> QuerySet:
    if q:
        for word in q.split()[:6]:
            qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word))
    if status:
        qs = qs.filter(status=status)
    if holder:
        qs = qs.filter(Q(holder__slug=holder) | Q(assigned_to__slug=holder))
    if territory:
        # territory_codes is a short JSON list: match the quoted code in its text.
        qs = qs.filter(territory_codes__icontains=f'"{territory}"')
    if overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, legal_deadline__lt=timezone.localdate())
    return qs


def search_organisations(q: str, limit: int = 20, kinds: tuple[str, ...] | None = None) -> list:
    """Organisations matching a typed name (accents and case ignored, every word), slug, SIREN or
    INSEE code — the server side of the transition form's organisation field."""
    import re

    from regio.accounts.models import Organisation

    q = (q or "").strip()
    if not q:
        return []
    qs = Organisation.objects.all()
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if re.fullmatch(r"[0-9][0-9AB][0-9]{0,7}", q.upper()):
        code = q.upper()
        qs = qs.filter(
            Q(siren=code) | Q(kind="commune", commune_id=code) | Q(kind="epci", epci_id=code)
            | Q(kind="departement", departement_id=code) | Q(kind="region", region_id=code)
        )
    else:
        exact = qs.filter(slug=q).first()
        if exact is not None:
            return [exact]
        words = normalize_text(q).split()[:6]
        if not words:
            return []
        for word in words:
            qs = qs.filter(Q(name__icontains=word) | Q(slug__icontains=word))
    folded = normalize_text(q)
    found = list(qs.order_by("name", "id")[:200])
    # Exact names first, then names starting with the query, then the shortest.
    found.sort(key=lambda o: (normalize_text(o.name) != folded, not normalize_text(o.name).startswith(folded), len(o.name), o.name))
    return found[:limit]


def moderation_queue() -> QuerySet:
    return DataRequest.objects.filter(moderation=Moderation.PENDING).order_by("submitted_at")


def comment_moderation_queue() -> QuerySet:
    return (
        Comment.objects.filter(moderation=Moderation.PENDING)
        .select_related("request").order_by("created_at", "id")
    )


def public_comments(request: DataRequest) -> QuerySet:
    return request.comments.filter(moderation__in=PUBLIC_MODERATION)


def dashboard() -> dict:
    today = timezone.localdate()
    open_qs = public_requests().filter(status__in=OPEN_STATUSES).order_by("legal_deadline", "id")
    counts = dict.fromkeys(Status.values, 0)
    for status, in public_requests().values_list("status"):
        counts[status] += 1
    return {
        "overdue": [r for r in open_qs if r.legal_deadline < today],
        "internal_overdue": [r for r in open_qs if r.internal_deadline < today <= r.legal_deadline],
        "open": list(open_qs),
        "counts": [(Status(s).label, s, n) for s, n in counts.items()],
        "moderation": moderation_queue().count(),
        "comment_moderation": comment_moderation_queue().count(),
        "today": today,
    }


# --------------------------------------------------------------------------- obligations

# Sort key → snapshot column. Every order ends with (name, id) and has a composite index
# (``ObligationStatus.Meta.indexes``), so a page is an index range scan, not a sort of the table.
SORT_COLUMNS = {
    "nom": "name", "population": "population_sort", "jeux": "datasets_count", "fraicheur": "freshness_sort",
    "qualite": "quality_sort", "statut": "status",
}
SORT_ALIASES = {"completude": "qualite"}  # the former name of the quality column (before regio.quality)
SORTS = [*SORT_COLUMNS, *(f"-{k}" for k in SORT_COLUMNS), *SORT_ALIASES, *(f"-{k}" for k in SORT_ALIASES)]
DEFAULT_SORT = "-population"
# What the table page shows: one narrow read, no join.
PAGE_COLUMNS = (
    "id", "slug", "name", "kind", "population", "subject", "publishes", "status", "datasets_count", "harvested_count",
    "freshness_days", "quality_avg", "quality_scored", "scdl", "next_to_publish",
)


def order_for(sort: str) -> tuple[str, ...]:
    desc = sort.startswith("-")
    key = SORT_ALIASES.get(sort.lstrip("-"), sort.lstrip("-"))
    if key not in SORT_COLUMNS:
        return order_for(DEFAULT_SORT)
    column = SORT_COLUMNS[key]
    if column == "name":
        return ("-name", "-id") if desc else ("name", "id")
    return (f"-{column}" if desc else column, "name", "id")


def latest_run() -> ObligationRun | None:
    return ObligationRun.objects.order_by("-computed_at", "-id").first()


def obligation_rows(*, kind: str = "", subject: str = "", status: str = "", departement: str = "", q: str = "", sort: str = "") -> QuerySet:
    qs = ObligationStatus.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if subject:
        qs = qs.filter(subject=subject)
    if status:
        qs = qs.filter(status=status)
    if departement:
        qs = qs.filter(departement=departement)
    if q:
        folded = normalize_text(q)
        cond = Q(code=q.strip())
        if folded:
            cond |= Q(name_folded__contains=folded)
        qs = qs.filter(cond)
    return qs.order_by(*order_for(sort))


def count_rows(run: ObligationRun | None, qs: QuerySet, filters: dict) -> int:
    """Number of rows of a filtered table: the run's total (no filter) or its stored count (one of
    kind/subject/status/departement), else a COUNT cached per snapshot (it only changes at a recompute)."""
    from django.core.cache import cache

    from .obligations import COUNTED_FILTERS

    if run is None:
        return qs.count()
    active = {k: v for k, v in filters.items() if v}
    if not active:
        return run.collectivites
    if len(active) == 1 and next(iter(active)) in COUNTED_FILTERS and run.filter_counts:
        name, value = next(iter(active.items()))
        return run.filter_counts.get(f"{name}:{value}", 0)
    cache_key = "datarequests:obligations-count:" + hashlib.sha1(repr((run.pk, sorted(active.items()))).encode()).hexdigest()
    total = cache.get(cache_key)
    if total is None:
        total = qs.count()
        cache.set(cache_key, total, 3600)
    return total


def territory_figures(level: str, code: str) -> list:
    """On a territory page: the collectivité's situation in the obligations monitor."""
    from django.urls import reverse

    from regio.core.registry import TerritoryFigure

    from .obligations import STATUS_LABELS

    row = ObligationStatus.objects.filter(kind=level, code=code).only("status", "slug").first()
    if row is None:
        return []
    return [TerritoryFigure(
        "Obligation d'ouverture des données", STATUS_LABELS.get(row.status, row.status), "",
        reverse("datarequests:obligation", args=[row.slug]),
    )]
