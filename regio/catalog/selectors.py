"""Reads of the catalogue: the one search interface, facets, dataset lookups, territory figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from regio.accounts.models import Organisation
from regio.core.models import PublicationStatus
from regio.core.registry import TerritoryFigure

from . import search
from .models import Dataset, DatasetTerm, DatasetTerritory, Resource
from .vocabularies import LICENCES, TERRITORY_LEVELS, THEMES

FACETS = ("publisher", "publisher_kind", "territory", "theme", "format", "licence", "schema", "origin")
FACET_LABELS = {
    "publisher": "Producteur",
    "publisher_kind": "Type de producteur",
    "territory": "Territoire",
    "theme": "Thème",
    "format": "Format",
    "licence": "Licence",
    "schema": "Schéma",
    "origin": "Origine",
}
SORTS = {
    "relevance": "Pertinence",
    "modified": "Dernière modification",
    "popularity": "Popularité",
}
FACET_SIZE = 15


def public_datasets() -> QuerySet:
    return Dataset.objects.filter(status=PublicationStatus.PUBLISHED).exclude(moderation=Dataset.Moderation.PENDING)


def get_public_dataset(id_or_slug: str) -> Dataset:
    """By slug, public uuid or numeric id (the /api/1/ and CKAN ``id`` parameter)."""
    qs = public_datasets().select_related("publisher")
    key = str(id_or_slug)
    cond = Q(slug=key)
    if key.isdigit():
        cond |= Q(pk=int(key))
    if len(key) == 36:
        cond |= Q(uid=key) if _is_uuid(key) else Q()
    return qs.get(cond)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class DatasetPage:
    """Ordered search hits, fetched from the database one slice at a time (Paginator/paginate-friendly)."""

    def __init__(self, ids: list[int]):
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def prefetch_related(self, *lookups) -> DatasetPage:
        return self  # publisher, resources and territories are always fetched

    def count(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(self[0 : len(self.ids)])

    def __getitem__(self, index):
        if isinstance(index, int):
            return self[index : index + 1][0]
        wanted = self.ids[index]
        found = Dataset.objects.select_related("publisher").prefetch_related("resources", "territories").in_bulk(wanted)
        return [found[i] for i in wanted if i in found]


@dataclass
class SearchResult:
    queryset: QuerySet | DatasetPage  # ordered hits, sliceable
    total: int
    facets: dict[str, list[dict]] = field(default_factory=dict)
    sort: str = "relevance"
    searched: bool = False


def apply_filters(qs: QuerySet, filters: dict[str, str | list[str]]) -> QuerySet:
    def values(name):
        raw = filters.get(name)
        if not raw:
            return []
        return [v for v in (raw if isinstance(raw, list | tuple) else [raw]) if v]

    for value in values("publisher"):
        qs = qs.filter(publisher__slug=value)
    for value in values("publisher_kind"):
        qs = qs.filter(publisher__kind=value)
    for value in values("territory"):
        level, _, code = value.rpartition(":")
        cond = Q(code=code)
        if level:
            cond &= Q(level=level)
        qs = qs.filter(id__in=DatasetTerritory.objects.filter(cond).values("dataset_id"))
    for value in values("territory_any"):
        level, _, code = value.rpartition(":")
        qs = qs.filter(id__in=datasets_for_territory(level or "commune", code).values("id"))
    for value in values("theme"):
        qs = qs.filter(id__in=DatasetTerm.objects.filter(kind="theme", value=value.upper()).values("dataset_id"))
    for value in values("keyword"):
        qs = qs.filter(id__in=DatasetTerm.objects.filter(kind="keyword", value=value.lower()).values("dataset_id"))
    for value in values("format"):
        qs = qs.filter(id__in=Resource.objects.filter(format=value.lower()).values("dataset_id"))
    for value in values("licence"):
        qs = qs.filter(licence=value)
    for value in values("schema"):
        qs = qs.filter(conforms_to=value)
    for value in values("origin"):
        qs = qs.filter(origin=value)
    return qs


def _facet_counts(qs: QuerySet, wanted: tuple[str, ...]) -> dict[str, list[dict]]:
    ids = qs.order_by().values("id")
    out: dict[str, list[dict]] = {}
    kinds = dict(Organisation.Kind.choices)
    for name in wanted:
        if name == "publisher":
            rows = qs.order_by().values("publisher__slug", "publisher__name").annotate(n=Count("id")).order_by("-n", "publisher__name")
            out[name] = [{"value": r["publisher__slug"], "label": r["publisher__name"], "count": r["n"]} for r in rows[:FACET_SIZE]]
        elif name == "publisher_kind":
            rows = qs.order_by().values("publisher__kind").annotate(n=Count("id")).order_by("-n", "publisher__kind")
            out[name] = [{"value": r["publisher__kind"], "label": kinds.get(r["publisher__kind"], r["publisher__kind"]), "count": r["n"]} for r in rows]
        elif name == "territory":
            rows = (
                DatasetTerritory.objects.filter(dataset_id__in=ids).values("level", "code", "name")
                .annotate(n=Count("dataset_id")).order_by("-n", "code")
            )
            out[name] = [
                {"value": f"{r['level']}:{r['code']}", "label": f"{r['name']} ({TERRITORY_LEVELS.get(r['level'], r['level']).lower()})", "count": r["n"]}
                for r in rows[:FACET_SIZE]
            ]
        elif name == "theme":
            rows = DatasetTerm.objects.filter(kind="theme", dataset_id__in=ids).values("value").annotate(n=Count("dataset_id")).order_by("-n", "value")
            out[name] = [{"value": r["value"], "label": THEMES.get(r["value"], r["value"]), "count": r["n"]} for r in rows]
        elif name == "format":
            rows = (
                Resource.objects.filter(dataset_id__in=ids).exclude(format="").values("format")
                .annotate(n=Count("dataset_id", distinct=True)).order_by("-n", "format")
            )
            out[name] = [{"value": r["format"], "label": r["format"].upper(), "count": r["n"]} for r in rows[:FACET_SIZE]]
        elif name == "licence":
            rows = qs.order_by().values("licence").annotate(n=Count("id")).order_by("-n", "licence")
            out[name] = [
                {"value": r["licence"], "label": LICENCES[r["licence"]].title if r["licence"] in LICENCES else r["licence"], "count": r["n"]}
                for r in rows
            ]
        elif name == "schema":
            rows = qs.order_by().exclude(conforms_to="").values("conforms_to").annotate(n=Count("id")).order_by("-n", "conforms_to")
            out[name] = [{"value": r["conforms_to"], "label": schema_label(r["conforms_to"]), "count": r["n"]} for r in rows[:FACET_SIZE]]
        elif name == "keyword":
            rows = DatasetTerm.objects.filter(kind="keyword", dataset_id__in=ids).values("value").annotate(n=Count("dataset_id")).order_by("-n", "value")
            out[name] = [{"value": r["value"], "label": r["value"], "count": r["n"]} for r in rows[:50]]
        elif name == "origin":
            labels = dict(Dataset.Origin.choices)
            rows = qs.order_by().values("origin").annotate(n=Count("id")).order_by("-n", "origin")
            out[name] = [{"value": r["origin"], "label": labels.get(r["origin"], r["origin"]), "count": r["n"]} for r in rows]
    return out


def schema_label(url: str) -> str:
    """A readable name for a schema URL: ``…/scdl/subventions/…`` → ``scdl/subventions``."""
    parts = [p for p in url.split("/") if p and p not in ("latest", "schema.json", "http:", "https:")]
    for i, part in enumerate(parts):
        if part == "schemas" and i + 2 < len(parts) + 1:
            return "/".join(parts[i + 1 : i + 3])
    return "/".join(parts[-2:]) if len(parts) >= 2 else url


def search_datasets(
    q: str = "",
    filters: dict | None = None,
    sort: str = "",
    *,
    facets: tuple[str, ...] | None = FACETS,
    base: QuerySet | None = None,
) -> SearchResult:
    """The catalogue search: French full text (both backends), facet filters, facet counts, sort.

    ``sort``: ``relevance`` (default when ``q`` is given), ``modified`` (default otherwise) or
    ``popularity``; a leading ``-`` is accepted and ignored (always descending).

    With a query, the hits are fetched once (a few columns each) and sorted, counted and
    faceted in Python; without one, the database sorts and pages, and facet counts are cached.
    """
    qs = base if base is not None else public_datasets()
    qs = apply_filters(qs, filters or {})
    qs, searched = search.apply_text_query(qs, q)
    sort = (sort or "").lstrip("-")
    if sort not in SORTS or (sort == "relevance" and not searched):
        sort = "relevance" if searched else "modified"
    if searched:
        return _search_in_memory(qs, sort, facets)
    if sort == "popularity":
        ordered = qs.order_by("-popularity", "-metadata_modified_at", "-id")
    else:
        ordered = qs.order_by("-metadata_modified_at", "-id")
    facet_counts = {}
    if facets:
        key = f"catalog:facets:{search.current_version()}:{hash((str(qs.query), facets))}"
        facet_counts = cache.get(key)
        if facet_counts is None:
            facet_counts = _facet_counts(qs, facets)
            cache.set(key, facet_counts, 60)
    return SearchResult(
        queryset=ordered.select_related("publisher").prefetch_related("resources", "territories"),
        total=qs.count(),
        facets=facet_counts,
        sort=sort,
        searched=False,
    )


_ROW = ("id", "publisher_id", "publisher__kind", "licence", "origin", "conforms_to", "facet_terms",
        "popularity", "metadata_modified_at", "title_hit")


def _search_in_memory(qs: QuerySet, sort: str, facets) -> SearchResult:
    rows = list(qs.order_by().values_list(*_ROW))
    if sort == "relevance":
        rows.sort(key=lambda r: (bool(r[9]), r[7], r[8], r[0]), reverse=True)
    elif sort == "popularity":
        rows.sort(key=lambda r: (r[7], r[8], r[0]), reverse=True)
    else:
        rows.sort(key=lambda r: (r[8], r[0]), reverse=True)
    return SearchResult(
        queryset=DatasetPage([r[0] for r in rows]),
        total=len(rows),
        facets=_count_rows(rows, facets) if facets else {},
        sort=sort,
        searched=True,
    )


def _top(counter: Counter, limit: int | None = FACET_SIZE) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]


def _count_rows(rows, wanted) -> dict[str, list[dict]]:
    single = {"publisher": Counter(), "publisher_kind": Counter(), "licence": Counter(), "origin": Counter(), "schema": Counter()}
    multi = {"theme": Counter(), "format": Counter(), "territory": Counter(), "keyword": Counter()}
    territory_names = {}
    for r in rows:
        single["publisher"][r[1]] += 1
        single["publisher_kind"][r[2]] += 1
        single["licence"][r[3]] += 1
        single["origin"][r[4]] += 1
        if r[5]:
            single["schema"][r[5]] += 1
        if r[6]:
            for line in r[6].split("\n"):
                kind, _, value = line.partition(":")
                if kind == "territory":
                    level, code, name = (value.split(":", 2) + ["", ""])[:3]
                    value = f"{level}:{code}"
                    territory_names[value] = f"{name or code} ({TERRITORY_LEVELS.get(level, level).lower()})"
                if kind in multi:
                    multi[kind][value] += 1
    out: dict[str, list[dict]] = {}
    kinds = dict(Organisation.Kind.choices)
    origins = dict(Dataset.Origin.choices)
    for name in wanted:
        if name == "publisher":
            top = _top(single["publisher"])
            orgs = {o["id"]: o for o in Organisation.objects.filter(id__in=[k for k, _ in top]).values("id", "slug", "name")}
            out[name] = [{"value": orgs[k]["slug"], "label": orgs[k]["name"], "count": n} for k, n in top if k in orgs]
        elif name == "publisher_kind":
            out[name] = [{"value": k, "label": kinds.get(k, k), "count": n} for k, n in _top(single[name], None)]
        elif name == "licence":
            out[name] = [{"value": k, "label": LICENCES[k].title if k in LICENCES else k, "count": n} for k, n in _top(single[name], None)]
        elif name == "origin":
            out[name] = [{"value": k, "label": origins.get(k, k), "count": n} for k, n in _top(single[name], None)]
        elif name == "schema":
            out[name] = [{"value": k, "label": schema_label(k), "count": n} for k, n in _top(single[name])]
        elif name == "theme":
            out[name] = [{"value": k, "label": THEMES.get(k, k), "count": n} for k, n in _top(multi[name], None)]
        elif name == "format":
            out[name] = [{"value": k, "label": k.upper(), "count": n} for k, n in _top(multi[name])]
        elif name == "territory":
            out[name] = [{"value": k, "label": territory_names[k], "count": n} for k, n in _top(multi[name])]
        elif name == "keyword":
            out[name] = [{"value": k, "label": k, "count": n} for k, n in _top(multi[name], 50)]
    return out


def datasets_for_territory(level: str, code: str) -> QuerySet:
    """Public datasets covering a territory: itself, or (for a commune) its EPCI, département, région."""
    from regio.territory.models import Commune, Departement

    cond = Q(level=level, code=code)
    if level == "commune":
        commune = Commune.objects.filter(pk=code).values("epci_id", "departement_id").first()
        if commune:
            if commune.get("epci_id"):
                cond |= Q(level="epci", code=commune["epci_id"])
            cond |= Q(level="departement", code=commune["departement_id"])
            dept = Departement.objects.filter(pk=commune["departement_id"]).values("region_id").first()
            if dept:
                cond |= Q(level="region", code=dept["region_id"])
    return public_datasets().filter(id__in=DatasetTerritory.objects.filter(cond).values("dataset_id"))


def territory_figures(level: str, code: str) -> list[TerritoryFigure]:
    own = public_datasets().filter(id__in=DatasetTerritory.objects.filter(level=level, code=code).values("dataset_id")).count()
    covering = datasets_for_territory(level, code).count()
    url = reverse("catalog:search") + f"?territory={level}:{code}"
    figures = [TerritoryFigure("Jeux de données ouverts sur ce territoire", own, "jeux", url)]
    if covering != own:
        figures.append(
            TerritoryFigure(
                "Jeux de données couvrant aussi ce territoire (intercommunalité, département, région)",
                covering, "jeux", reverse("catalog:search") + f"?territory_any={level}:{code}",
            )
        )
    return figures


def publisher_datasets(organisation: Organisation) -> QuerySet:
    return public_datasets().filter(publisher=organisation).prefetch_related("resources")
