"""Reads of the catalogue: the one search interface, facets, dataset lookups, territory figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import F, Q, QuerySet
from django.urls import reverse

from regio.accounts.models import Organisation
from regio.core.models import PublicationStatus
from regio.core.registry import TerritoryFigure
from regio.quality.catalog_link import BUCKET_LABELS as QUALITY_BUCKET_LABELS
from regio.quality.catalog_link import BUCKETS as QUALITY_BUCKETS
from regio.quality.catalog_link import bucket as quality_bucket

from . import search
from .models import Dataset, DatasetTerm, DatasetTerritory, Resource, theme_labels
from .vocabularies import LICENCES, TERRITORY_LEVELS, THEMES

FACETS = ("publisher", "publisher_kind", "territory", "theme", "format", "licence", "schema", "origin", "quality")
FACET_LABELS = {
    "publisher": "Producteur",
    "publisher_kind": "Type de producteur",
    "territory": "Territoire",
    "theme": "Thème",
    "format": "Format",
    "licence": "Licence",
    "schema": "Schéma",
    "origin": "Origine",
    "quality": "Qualité",
}
SORTS = {
    "relevance": "Pertinence",
    "modified": "Dernière modification",
    "popularity": "Popularité",
    "quality": "Score de qualité",
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
    """Ordered hits, sliced lazily: the database sorts ids only (a narrow top-N sort), then the
    datasets of the requested slice are fetched with their publisher, resources and territories."""

    ordered = True  # for Paginator: the order is the search's

    def __init__(self, ordered: QuerySet, total: int):
        self._ordered, self.total = ordered, total

    def __len__(self) -> int:
        return self.total

    def count(self) -> int:
        return self.total

    def prefetch_related(self, *lookups) -> DatasetPage:
        return self  # always fetched

    def __iter__(self):
        return iter(self[0 : self.total])

    def __getitem__(self, index):
        if isinstance(index, int):
            return self[index : index + 1][0]
        ids = list(self._ordered.values_list("id", flat=True)[index])
        found = Dataset.objects.select_related("publisher").prefetch_related("resources", "territories").in_bulk(ids)
        return [found[i] for i in ids if i in found]


@dataclass
class SearchResult:
    queryset: DatasetPage  # ordered hits, sliceable
    total: int
    facets: dict[str, list[dict]] = field(default_factory=dict)
    sort: str = "relevance"
    searched: bool = False


def apply_filters(qs: QuerySet, filters: dict[str, str | list[str]], *, via_terms: bool = False) -> QuerySet:
    """Facet filters. ``via_terms``: test multi-valued facets on ``facet_terms`` (cheap when a
    text query already narrows the rows) rather than through their tables (better for browsing)."""

    def values(name):
        raw = filters.get(name)
        if not raw:
            return []
        return [v for v in (raw if isinstance(raw, list | tuple) else [raw]) if v]

    for value in values("publisher"):
        qs = qs.filter(publisher__slug=value)
    for value in values("publisher_kind"):
        qs = qs.filter(publisher__kind=value)
    if via_terms:
        for name in ("theme", "format", "keyword", "territory"):
            for value in values(name):
                value = value.upper() if name == "theme" else value if name == "territory" else value.lower()
                if name == "territory":
                    level, _, code = value.rpartition(":")
                    qs = qs.filter(facet_terms__contains=f"\nterritory:{level}:{code}:" if level else f":{code}:")
                else:
                    qs = qs.filter(facet_terms__contains=f"\n{name}:{value}\n")
        filters = {k: v for k, v in filters.items() if k not in ("theme", "format", "keyword", "territory")}
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
    for value in values("quality"):
        # Score buckets of regio.quality (stored in quality.DatasetQuality), e.g. "80-100".
        low, high = QUALITY_BUCKETS.get(value, (-1, -1))
        qs = qs.filter(quality__score__gte=low, quality__score__lte=high)
    return qs


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

    The database sorts and pages the hits. Facets are counted in Python from one query that
    fetches a few columns of every hit (``facet_terms`` holds the multi-valued ones); without a
    text query, the counts are cached (keyed by the catalogue's version, 60 s at most).
    """
    qs = base if base is not None else public_datasets()
    qs = apply_filters(qs, filters or {}, via_terms=bool(search.query_words(q)))
    qs, searched = search.apply_text_query(qs, q)
    sort = (sort or "").lstrip("-")
    if sort not in SORTS or (sort == "relevance" and not searched):
        sort = "relevance" if searched else "modified"
    if sort == "relevance":
        ordered = qs.order_by("-title_hit", "-popularity", "-metadata_modified_at", "-id")
    elif sort == "quality":
        ordered = qs.order_by(F("quality__score").desc(nulls_last=True), "-metadata_modified_at", "-id")
    elif sort == "popularity":
        ordered = qs.order_by("-popularity", "-metadata_modified_at", "-id")
    else:
        ordered = qs.order_by("-metadata_modified_at", "-id")
    total, facet_counts = None, {}
    if facets:
        key = None
        if not searched:
            key = f"catalog:facets:{search.current_version()}:{hash((str(qs.query), facets))}"
            cached = cache.get(key)
            if cached is not None:
                total, facet_counts = cached
        if total is None:
            rows = list(qs.order_by().values_list(*_ROW))
            total, facet_counts = len(rows), _count_rows(rows, facets)
            if key:
                cache.set(key, (total, facet_counts), 60)
    if total is None:
        total = qs.count()
    return SearchResult(
        queryset=DatasetPage(ordered, total),
        total=total,
        facets=facet_counts,
        sort=sort,
        searched=searched,
    )


_ROW = ("publisher_id", "publisher__kind", "licence", "origin", "conforms_to", "facet_terms", "quality__score")
_MULTI = ("theme", "format", "territory", "keyword")


def _top(counter: Counter, limit: int | None = FACET_SIZE) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]


def _count_rows(rows, wanted) -> dict[str, list[dict]]:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_ROW)
    single = {name: Counter(columns[i]) for i, name in enumerate(("publisher", "publisher_kind", "licence", "origin", "schema"))}
    single["schema"].pop("", None)
    lines: Counter = Counter()
    if any(name in _MULTI for name in wanted):
        for terms in columns[5]:
            if terms:
                lines.update(terms.split("\n"))
    multi = {name: Counter() for name in _MULTI}
    territory_names = {}
    for line, n in lines.items():
        kind, _, value = line.partition(":")
        if kind == "territory":
            level, code, name = (value.split(":", 2) + ["", ""])[:3]
            value = f"{level}:{code}"
            territory_names[value] = f"{name or code} ({TERRITORY_LEVELS.get(level, level).lower()})"
        if kind in multi:
            multi[kind][value] += n
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
            labels = theme_labels() if any(k not in THEMES for k in multi[name]) else THEMES
            out[name] = [{"value": k, "label": labels.get(k, k), "count": n} for k, n in _top(multi[name], None)]
        elif name == "format":
            out[name] = [{"value": k, "label": k.upper(), "count": n} for k, n in _top(multi[name])]
        elif name == "territory":
            out[name] = [{"value": k, "label": territory_names[k], "count": n} for k, n in _top(multi[name])]
        elif name == "quality":
            buckets = Counter(quality_bucket(score) for score in columns[6] if score is not None)
            out[name] = [{"value": k, "label": QUALITY_BUCKET_LABELS[k], "count": buckets[k]} for k in QUALITY_BUCKETS if buckets[k]]
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
