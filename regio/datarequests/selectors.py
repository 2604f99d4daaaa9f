"""Reads of the data-request tracker and of the obligations snapshot."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import OPEN_STATUSES, DataRequest, Moderation, ObligationRun, ObligationStatus, Status

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


def moderation_queue() -> QuerySet:
    return DataRequest.objects.filter(moderation=Moderation.PENDING).order_by("submitted_at")


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
        "moderation": list(moderation_queue()),
        "today": today,
    }


# --------------------------------------------------------------------------- obligations

SORTS = {
    "nom": ("name", "id"), "-nom": ("-name", "-id"),
    "population": ("population", "name"), "-population": ("-population", "name"),
    "jeux": ("datasets_count", "name"), "-jeux": ("-datasets_count", "name"),
    "fraicheur": ("freshness_days", "name"), "-fraicheur": ("-freshness_days", "name"),
    "completude": ("completeness_pct", "name"), "-completude": ("-completeness_pct", "name"),
    "statut": ("status", "name"), "-statut": ("-status", "name"),
}


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
        qs = qs.filter(Q(name__icontains=q) | Q(code=q))
    return qs.order_by(*SORTS.get(sort, ("-population", "name")))


def territory_figures(level: str, code: str) -> list:
    """On a territory page: the collectivité's situation in the obligations monitor."""
    from django.urls import reverse

    from regio.core.registry import TerritoryFigure

    from .obligations import STATUS_LABELS

    row = ObligationStatus.objects.filter(kind=level, code=code).select_related("organisation").first()
    if row is None:
        return []
    return [TerritoryFigure(
        "Obligation d'ouverture des données", STATUS_LABELS.get(row.status, row.status), "",
        reverse("datarequests:obligation", args=[row.organisation.slug]),
    )]
