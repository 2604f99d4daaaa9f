"""Reads of the debates registry: search by theme/text/status/level/dates and "near me"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from regio.core.text import normalize_text
from regio.territory.models import Commune
from regio.territory.selectors import (
    bounding_box,
    commune_by_code_or_postal_code,
    haversine_km,
    search_communes,
)

from .models import THEMES, Debate, Level

MAX_RADIUS_KM = 200
COMMUNE_HEAVY = ("commune__contour",)


class FilterError(ValueError):
    """A bad filter; ``str(exc)`` is French."""


@dataclass
class DebateFilters:
    q: str = ""
    theme: str = ""
    status: str = ""
    level: str = ""
    near: str = ""
    radius_km: float = 15.0
    date_from: date | None = None
    date_to: date | None = None
    organiser_id: int | None = None
    centre: Commune | None = field(default=None, repr=False)

    def validate(self) -> DebateFilters:
        if self.theme and self.theme not in THEMES:
            raise FilterError(f"Thème inconnu « {self.theme} » : valeurs possibles {', '.join(THEMES)}.")
        if self.status and self.status not in Debate.Status.values:
            raise FilterError(f"Statut inconnu « {self.status} » : valeurs possibles {', '.join(Debate.Status.values)}.")
        if self.level and self.level not in Level.values:
            raise FilterError(f"Niveau inconnu « {self.level} » : valeurs possibles {', '.join(Level.values)}.")
        if not 0 < self.radius_km <= MAX_RADIUS_KM:
            raise FilterError(f"Le rayon doit être compris entre 1 et {MAX_RADIUS_KM} km.")
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise FilterError("La date de fin de la période est antérieure à sa date de début.")
        if self.near:
            self.centre = resolve_near(self.near)
            if self.centre is None:
                raise FilterError(f"Commune introuvable : « {self.near} » (nom, code INSEE ou code postal).")
            if self.centre.lat is None:
                raise FilterError(f"La commune {self.centre.name} n'a pas de coordonnées connues.")
        return self


def resolve_near(value: str) -> Commune | None:
    value = (value or "").strip()
    if not value:
        return None
    found = commune_by_code_or_postal_code(value)
    if found is None and not value.isdigit():
        found = search_communes(value, region_only=True).first() or search_communes(value).first()
    return found


def public_debates() -> QuerySet:
    return Debate.objects.filter(moderation=Debate.Moderation.APPROVED, archived_at__isnull=True)


def filtered(filters: DebateFilters, base: QuerySet | None = None) -> QuerySet:
    qs = public_debates() if base is None else base
    if filters.theme:
        qs = qs.filter(themes__contains=f"|{filters.theme}|")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.organiser_id:
        qs = qs.filter(organiser_id=filters.organiser_id)
    for word in normalize_text(filters.q).split():
        qs = qs.filter(search_text__contains=word)
    if filters.date_from:
        qs = qs.filter(Q(closes_on__isnull=True) | Q(closes_on__gte=filters.date_from))
    if filters.date_to:
        qs = qs.filter(Q(opens_on__isnull=True) | Q(opens_on__lte=filters.date_to))
    return qs


@dataclass
class Hit:
    debate: Debate
    distance_km: float | None = None


class LazyHits(Sequence):
    """Hits sorted by distance whose debates are loaded only when a slice is read (one query per slice).

    Lets the API and the list page load the 20 debates of the page they show, not every match.
    """

    def __init__(self, queryset: QuerySet, pairs: list[tuple[int, float]]):
        self.queryset, self.pairs = queryset, pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, pairs) -> list[Hit]:
        full = self.queryset.in_bulk([pk for pk, _ in pairs])
        return [Hit(full[pk], d) for pk, d in pairs if pk in full]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._load(self.pairs[index])
        return self._load([self.pairs[index]])[0]

    def __iter__(self):
        for start in range(0, len(self.pairs), 500):
            yield from self._load(self.pairs[start : start + 500])


def search(filters: DebateFilters, *, base: QuerySet | None = None) -> Sequence[Hit]:
    """Debates matching ``filters``: sorted by distance when a place is given, else by dates."""
    # organiser_name is denormalised; the commune is needed for its name only (never its contour).
    qs = filtered(filters, base).select_related("commune").defer(*COMMUNE_HEAVY)
    if filters.centre is not None:
        # Bounding box on the (status, lat, lon) index and haversine on bare (id, lat, lon) tuples,
        # then full objects for the hits only.
        lat0, lon0, radius = filters.centre.lat, filters.centre.lon, filters.radius_km
        min_lat, max_lat, min_lon, max_lon = bounding_box(lat0, lon0, radius)
        rows = filtered(filters, base).filter(
            lat__gte=min_lat, lat__lte=max_lat, lon__gte=min_lon, lon__lte=max_lon
        ).order_by().values_list("id", "lat", "lon")
        near = sorted(
            (d, pk) for pk, lat, lon in rows if (d := haversine_km(lat0, lon0, lat, lon)) <= radius
        )
        return LazyHits(qs, [(pk, d) for d, pk in near])
    rank = Case(
        When(status=Debate.Status.OPEN, then=Value(0)),
        When(status=Debate.Status.UPCOMING, then=Value(1)),
        When(status=Debate.Status.RESULTS, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return QuerysetHits(qs.annotate(status_rank=rank).order_by("status_rank", "closes_on", "opens_on", "id"))


class QuerysetHits(Sequence):
    """Hits without distance, read page by page from the database (open first, then by dates)."""

    def __init__(self, queryset: QuerySet):
        self.queryset = queryset
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.queryset.count()
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [Hit(d) for d in self.queryset[index]]
        return Hit(self.queryset[index])

    def __iter__(self):
        return (Hit(d) for d in self.queryset.iterator(chunk_size=500))


def debate_detail(pk: int) -> Debate | None:
    return public_debates().select_related("organiser", "commune").prefetch_related("meetings").filter(pk=pk).first()


def pending_moderation() -> QuerySet:
    return Debate.objects.filter(moderation=Debate.Moderation.PENDING, archived_at__isnull=True).select_related("organiser")


def debates_for_organisations(organisations) -> QuerySet:
    """An agent's view: the debates of their organisations and those concerning their territories."""
    orgs = list(organisations)
    codes = [o.territory_code for o in orgs if o.is_collectivite and o.territory_code]
    cond = Q(organiser__in=orgs)
    for code in codes:
        cond |= Q(territory_codes__contains=f"|{code}|")
    if any(o.kind == "region" and o.region_id == settings.REGION_CODE for o in orgs):
        cond = Q()
    return Debate.objects.filter(cond).select_related("organiser").order_by("-created_at")


def meetings_in_month(year: int, month: int, filters: DebateFilters):
    from .models import Meeting

    debates = filtered(filters)
    return Meeting.objects.filter(debate__in=debates, starts_at__year=year, starts_at__month=month).select_related("debate")
