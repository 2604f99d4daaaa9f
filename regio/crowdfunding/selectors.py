"""Reads of crowdfunding: public projects, progress, stats per territory."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from regio.core.registry import TerritoryFigure
from regio.core.text import normalize_text
from regio.territory.selectors import per_inhabitant, urban_rural_split

from .models import MatchReservation, Pledge, Programme, Project

CONFIRMED = [Pledge.Status.AUTHORISED, Pledge.Status.CAPTURED]
PUBLIC_STATES = [Project.Campaign.OPEN, Project.Campaign.FUNDED, Project.Campaign.FAILED, Project.Campaign.CLOSED]


def public_projects() -> QuerySet:
    return Project.objects.filter(moderation_status=Project.Moderation.PUBLISHED).select_related(
        "commune", "commune__departement", "organisation", "programme"
    )


def search_projects(*, q: str = "", category: str = "", territory: str = "", state: str = "") -> QuerySet:
    """``territory``: a commune INSEE code, an EPCI SIREN or a département code."""
    qs = public_projects()
    if category:
        qs = qs.filter(category=category)
    if state:
        qs = qs.filter(campaign_state=state)
    territory = (territory or "").strip()
    if territory:
        qs = qs.filter(Q(commune_id=territory) | Q(commune__epci_id=territory) | Q(commune__departement_id=territory))
    for word in normalize_text(q).split():
        qs = qs.filter(Q(title__icontains=word) | Q(summary__icontains=word) | Q(commune__name_search__icontains=word))
    return qs.order_by("-published_at", "-pk")


@dataclass
class Progress:
    goal_cents: int
    citizens_cents: int
    region_cents: int
    backers: int

    @property
    def total_cents(self) -> int:
        return self.citizens_cents + self.region_cents

    @property
    def citizens_pct(self) -> int:
        return min(100, self.citizens_cents * 100 // self.goal_cents) if self.goal_cents else 0

    @property
    def region_pct(self) -> int:
        return min(100 - self.citizens_pct, self.region_cents * 100 // self.goal_cents) if self.goal_cents else 0

    @property
    def reached_pct(self) -> int:
        return self.citizens_cents * 100 // self.goal_cents if self.goal_cents else 0


def progress(project: Project) -> Progress:
    pledges = project.pledges.filter(status__in=CONFIRMED)
    citizens = pledges.aggregate(s=Sum("amount_cents"))["s"] or 0
    region = (
        project.reservations.filter(status__in=[MatchReservation.Status.RESERVED, MatchReservation.Status.RELEASED]).aggregate(
            s=Sum("amount_cents")
        )["s"]
        or 0
    )
    return Progress(project.goal_cents, citizens, region, pledges.values("backer_id").distinct().count())


def progress_many(projects) -> dict[int, Progress]:
    ids = [p.pk for p in projects]
    citizens = dict(
        Pledge.objects.filter(project_id__in=ids, status__in=CONFIRMED).values_list("project_id").annotate(s=Sum("amount_cents"))
    )
    region = dict(
        MatchReservation.objects.filter(
            project_id__in=ids, status__in=[MatchReservation.Status.RESERVED, MatchReservation.Status.RELEASED]
        )
        .values_list("project_id")
        .annotate(s=Sum("amount_cents"))
    )
    return {p.pk: Progress(p.goal_cents, citizens.get(p.pk, 0), region.get(p.pk, 0), 0) for p in projects}


def backers_with_consent(project: Project) -> list[dict]:
    rows = []
    for pledge in project.pledges.filter(status__in=CONFIRMED).select_related("backer").order_by("-authorised_at"):
        rows.append(
            {
                "name": (pledge.backer.full_name or pledge.backer.email) if pledge.show_name else "Contributeur anonyme",
                "email": pledge.backer.email if pledge.show_name else "",
                "amount_cents": pledge.amount_cents,
                "date": pledge.authorised_at,
                "message": pledge.message if pledge.show_name else "",
            }
        )
    return rows


def closing_report(project: Project) -> dict:
    p = progress(project)
    return {
        "state": project.get_campaign_state_display(),
        "goal_cents": project.goal_cents,
        "citizens_cents": p.citizens_cents,
        "region_cents": p.region_cents,
        "total_cents": p.total_cents,
        "backers": p.backers,
        "refunded": project.pledges.filter(status=Pledge.Status.REFUNDED).count(),
        "cancelled": project.pledges.filter(status=Pledge.Status.CANCELLED).count(),
        "paid_out_cents": getattr(getattr(project, "payout", None), "amount_cents", None),
    }


def active_programmes() -> QuerySet:
    return Programme.objects.filter(is_active=True).order_by("-starts_at")


def amounts_by_commune() -> dict[str, dict[str, int]]:
    """Per commune: citizens' confirmed pledges and the région's match (reserved or released)."""
    out: dict[str, dict[str, int]] = {}
    for code, s in (
        Pledge.objects.filter(status__in=CONFIRMED, project__moderation_status=Project.Moderation.PUBLISHED)
        .values_list("project__commune_id")
        .annotate(s=Sum("amount_cents"))
    ):
        out.setdefault(code, {"citizens": 0, "region": 0})["citizens"] = s
    for code, s in (
        MatchReservation.objects.filter(status__in=[MatchReservation.Status.RESERVED, MatchReservation.Status.RELEASED])
        .values_list("project__commune_id")
        .annotate(s=Sum("amount_cents"))
    ):
        out.setdefault(code, {"citizens": 0, "region": 0})["region"] = s
    return out


def territory_stats(level: str = "departement") -> dict:
    amounts = amounts_by_commune()
    citizens = {c: v["citizens"] for c, v in amounts.items()}
    region = {c: v["region"] for c, v in amounts.items()}
    per_level_citizens = per_inhabitant(citizens, level)
    per_level_region = per_inhabitant(region, level)
    rows = []
    for code in sorted(set(per_level_citizens) | set(per_level_region)):
        c = per_level_citizens.get(code, {})
        r = per_level_region.get(code, {})
        population = c.get("population") or r.get("population")
        rows.append(
            {
                "code": code,
                "citizens_cents": int(c.get("total", 0)),
                "region_cents": int(r.get("total", 0)),
                "population": population,
                "per_inhabitant_cents": (
                    (c.get("total", 0) + r.get("total", 0)) / population if population else None
                ),
            }
        )
    split_c = urban_rural_split(citizens)
    split_r = urban_rural_split(region)
    return {
        "rows": rows,
        "urban_rural": {k: {"citizens_cents": int(split_c[k]), "region_cents": int(split_r[k])} for k in split_c},
    }


def territory_figures(level: str, code: str) -> list[TerritoryFigure]:
    field = {"commune": "commune_id", "epci": "commune__epci_id", "departement": "commune__departement_id", "region": "commune__region_id"}.get(level)
    if field is None:
        return []
    projects = public_projects().filter(**{field: code})
    count = projects.count()
    if not count:
        return []
    citizens = (
        Pledge.objects.filter(project__in=projects, status__in=CONFIRMED).aggregate(s=Sum("amount_cents"))["s"] or 0
    )
    return [
        TerritoryFigure("Projets en financement participatif", count, "", f"/financement-participatif/?territoire={code}"),
        TerritoryFigure("Dons des citoyens", round(citizens / 100), "€"),
    ]
