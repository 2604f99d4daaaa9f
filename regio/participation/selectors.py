"""Reads of the debates registry: search by theme/text/status/level/dates and "near me"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Q, QuerySet

from regio.core.text import normalize_text
from regio.territory.models import Commune
from regio.territory.selectors import commune_by_code_or_postal_code, search_communes, within_radius

from .models import THEMES, Debate, Level

MAX_RADIUS_KM = 200


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


def search(filters: DebateFilters, *, base: QuerySet | None = None) -> list[Hit]:
    """Debates matching ``filters``: sorted by distance when a place is given, else by dates."""
    # The commune is needed for its name only: never load its contour (large GeoJSON) per debate.
    qs = filtered(filters, base).select_related("organiser", "commune").defer("commune__contour", "organiser__description")
    if filters.centre is not None:
        # Distances on light rows (id, lat, lon) first, full objects for the hits only.
        near = within_radius(qs.select_related(None).only("id", "lat", "lon"), filters.centre.lat, filters.centre.lon, filters.radius_km)
        full = qs.in_bulk([n.obj.pk for n in near])
        return [Hit(full[n.obj.pk], n.distance_km) for n in near if n.obj.pk in full]
    status_rank = {Debate.Status.OPEN: 0, Debate.Status.UPCOMING: 1, Debate.Status.RESULTS: 2, Debate.Status.CLOSED: 3}
    hits = [Hit(d) for d in qs.order_by("closes_on", "opens_on", "id")[:5000]]
    hits.sort(key=lambda h: status_rank.get(h.debate.status, 9))
    return hits


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
