"""Reads of the finance app: filtered subsidies, aggregates (SQL GROUP BY), equality measures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from regio.core.text import normalize_text
from regio.territory.selectors import urban_rural_split

from .models import BudgetLine, ImportBatch, QuarantinedRow, Subsidy


@dataclass
class SubsidyFilters:
    grantor: str = ""  # grantor SIRET or organisation slug
    beneficiary: str = ""  # name words or SIRET
    q: str = ""  # words in the object
    year: int | None = None
    nature: str = ""
    min_eur: float | None = None
    max_eur: float | None = None
    territory: str = ""  # INSEE code of a commune / département, or SIREN of an EPCI
    theme: str = ""  # slug of regio.finance.themes


def subsidies(f: SubsidyFilters | None = None) -> QuerySet:
    f = f or SubsidyFilters()
    qs = Subsidy.objects.all()
    if f.grantor:
        qs = qs.filter(Q(grantor_siret=f.grantor) | Q(organisation__slug=f.grantor))
    if f.beneficiary:
        text = f.beneficiary.strip()
        if text.replace(" ", "").isdigit():
            qs = qs.filter(beneficiary_siret__startswith=text.replace(" ", ""))
        else:
            for word in normalize_text(text).split():
                qs = qs.filter(beneficiary_name_search__contains=word)
    if f.q:
        for word in f.q.split():
            qs = qs.filter(object__icontains=word)
    if f.year:
        qs = qs.filter(year=f.year)
    if f.nature:
        qs = qs.filter(nature__iexact=f.nature)
    if f.theme:
        qs = qs.filter(theme=f.theme)
    if f.min_eur is not None:
        qs = qs.filter(amount_cents__gte=round(f.min_eur * 100))
    if f.max_eur is not None:
        qs = qs.filter(amount_cents__lte=round(f.max_eur * 100))
    if f.territory:
        code = f.territory.strip()
        if len(code) == 9:
            qs = qs.filter(beneficiary_epci_id=code)
        elif len(code) in (2, 3):
            qs = qs.filter(beneficiary_departement_id=code)
        else:
            qs = qs.filter(beneficiary_commune_id=code)
    return qs


def totals(qs: QuerySet) -> dict:
    agg = qs.aggregate(total=Sum("amount_cents"), count=Count("*"))
    return {"total_cents": agg["total"] or 0, "count": agg["count"]}


def quarantine_warning(kind: str, organisation_ids: list[int] | None = None, year: int | None = None) -> dict | None:
    """Rows of the same perimeter refused at import: totals shown next to them are incomplete."""
    qs = QuarantinedRow.objects.filter(batch__kind=kind)
    if organisation_ids is not None:
        qs = qs.filter(batch__organisation_id__in=organisation_ids)
    if year:
        qs = qs.filter(Q(year=year) | Q(year__isnull=True))
    agg = qs.aggregate(n=Count("*"), amount=Sum("amount_cents"))
    if not agg["n"]:
        return None
    return {
        "rows": agg["n"],
        "amount_cents": agg["amount"] or 0,
        "message": (
            f"Attention : {agg['n']} ligne(s) de ce périmètre ont été mises en quarantaine à l'import "
            "(SIRET invalide, montant négatif ou illisible, doublon…) : les totaux affichés ne les comptent pas "
            "et sont donc incomplets."
        ),
    }


def top_beneficiaries(qs: QuerySet, limit: int = 10) -> list[dict]:
    return list(
        qs.values("beneficiary_siret", "beneficiary_name")
        .annotate(total=Sum("amount_cents"), n=Count("*"))
        .order_by("-total", "beneficiary_name")[:limit]
    )


def by_year(qs: QuerySet) -> list[dict]:
    return list(qs.values("year").annotate(total=Sum("amount_cents"), n=Count("*")).order_by("year"))


def by_grantor(qs: QuerySet) -> list[dict]:
    return list(
        qs.values("grantor_siret", "grantor_name").annotate(total=Sum("amount_cents"), n=Count("*")).order_by("-total", "grantor_name")
    )


def by_commune_cents(qs: QuerySet) -> dict[str, int]:
    return {
        row["beneficiary_commune_id"]: row["total"]
        for row in qs.exclude(beneficiary_commune__isnull=True).values("beneficiary_commune_id").annotate(total=Sum("amount_cents"))
    }


def territory_per_inhabitant(qs: QuerySet, level: str = "commune") -> list[dict]:
    """Amount (euros) per inhabitant per commune or EPCI of the beneficiaries, highest first.

    Same figures as ``regio.territory.selectors.per_inhabitant`` (an EPCI's population is that of
    its loaded member communes; tested equal), computed with one GROUP BY joined to the communes
    instead of Python dictionaries and ``IN`` lists of thousands of codes."""
    if level == "commune":
        rows = (
            qs.exclude(beneficiary_commune__isnull=True)
            .values("beneficiary_commune_id", "beneficiary_commune__name", "beneficiary_commune__population")
            .annotate(total=Sum("amount_cents"))
        )
        out = [
            {"code": r["beneficiary_commune_id"], "name": r["beneficiary_commune__name"], "total": r["total"] / 100,
             "population": r["beneficiary_commune__population"] or None}
            for r in rows
        ]
    elif level == "epci":
        out = epci_rows(dict(qs.exclude(beneficiary_epci_id="").values_list("beneficiary_epci_id").annotate(total=Sum("amount_cents"))))
    else:
        raise ValueError(f"Niveau territorial inconnu : {level}")
    return ranked_per_inhabitant(out)


def epci_rows(totals: dict[str, int]) -> list[dict]:
    """Cents per EPCI SIREN → rows with the EPCI's name and population (its active member communes)."""
    from regio.territory.models import EPCI, Commune

    populations = dict(
        Commune.objects.filter(is_active=True, epci_id__in=list(totals)).values_list("epci_id").annotate(p=Sum("population"))
    )
    names = dict(EPCI.objects.filter(siren__in=list(totals)).values_list("siren", "name"))
    return [{"code": code, "name": names.get(code, code), "total": cents / 100, "population": populations.get(code) or None}
            for code, cents in totals.items()]


def ranked_per_inhabitant(rows: list[dict]) -> list[dict]:
    """Adds ``per_inhabitant`` (None without population) and sorts highest first, then by name."""
    for row in rows:
        row["per_inhabitant"] = row["total"] / row["population"] if row["population"] else None
    rows.sort(key=lambda r: (-(r["per_inhabitant"] or 0), r["name"]))
    return rows


def urban_rural(qs: QuerySet) -> dict[str, float]:
    amounts = {code: cents / 100 for code, cents in by_commune_cents(qs).items()}
    return urban_rural_split(amounts)


def lorenz(values: list[int]) -> tuple[list[tuple[float, float]], float | None]:
    """Lorenz curve points (share of beneficiaries, share of amounts) and the Gini index."""
    values = sorted(v for v in values if v > 0)
    n = len(values)
    total = sum(values)
    if not n or not total:
        return [(0.0, 0.0), (1.0, 1.0)], None
    points = [(0.0, 0.0)]
    cumulative = 0
    weighted = 0
    for i, v in enumerate(values, start=1):
        cumulative += v
        weighted += i * v
        points.append((i / n, cumulative / total))
    gini = (2 * weighted) / (n * total) - (n + 1) / n
    return points, gini


def lorenz_quantiles(points: list[tuple[float, float]], steps: int = 100) -> list[tuple[float, float]]:
    """``steps + 1`` points of a Lorenz curve (from :func:`lorenz`), at every ``1/steps`` of the
    beneficiaries (the nearest beneficiary rank): the curve drawn and its data table, whatever the
    number of beneficiaries (one point each stays in the CSV)."""
    n = len(points) - 1
    if n <= steps:
        return list(points)
    return [points[round(k * n / steps)] for k in range(steps + 1)]


def beneficiary_totals(qs: QuerySet) -> list[int]:
    return [
        row["total"]
        for row in qs.values("beneficiary_siret", "beneficiary_name").annotate(total=Sum("amount_cents"))
    ]


def decree_completeness(organisation_ids: list[int] | None = None) -> list[dict]:
    """Per grantor: grants above 23 000 € must be published with the beneficiary's SIRET (décret
    2017-779). A file whose large grants lack the SIRET, or that only lists small grants, is flagged."""
    qs = Subsidy.objects.all()
    if organisation_ids is not None:
        qs = qs.filter(organisation_id__in=organisation_ids)
    rows = (
        qs.values("grantor_siret", "grantor_name")
        .annotate(
            n=Count("*"),
            above=Count("id", filter=Q(amount_cents__gt=2_300_000)),
            above_without_siret=Count("id", filter=Q(amount_cents__gt=2_300_000, beneficiary_siret="")),
        )
        .order_by("grantor_name")
    )
    out = []
    for row in rows:
        if row["above_without_siret"]:
            verdict = f"{row['above_without_siret']} subvention(s) de plus de 23 000 € sans SIRET du bénéficiaire."
        elif not row["above"]:
            verdict = "Aucune subvention de plus de 23 000 € publiée : vérifiez que le fichier est complet."
        else:
            verdict = "Conforme en apparence."
        out.append({**row, "verdict": verdict, "ok": bool(row["above"]) and not row["above_without_siret"]})
    return out


# ------------------------------------------------------------------------------ budgets

def budget_collectivites() -> list[dict]:
    return list(
        BudgetLine.objects.values("collectivite_siret", "collectivite_name", "organisation__slug")
        .annotate(n=Count("*"))
        .order_by("collectivite_name")
    )


def budget_years(siret: str) -> list[int]:
    return sorted(set(BudgetLine.objects.filter(collectivite_siret=siret).values_list("year", flat=True)))


def budget_types(siret: str, year: int) -> list[str]:
    order = [c for c, _ in BudgetLine.BudgetType.choices]
    found = set(BudgetLine.objects.filter(collectivite_siret=siret, year=year).values_list("budget_type", flat=True))
    return [t for t in order if t in found]


def budget_lines(siret: str, year: int, budget_type: str) -> QuerySet:
    return BudgetLine.objects.filter(collectivite_siret=siret, year=year, budget_type=budget_type)


# Which operations the figures count. Opérations d'ordre (amortissements, virement 023/021, transfers
# between sections) move no money and appear twice (a dépense and a recette): analyses of a budget
# count real operations. Lines whose file does not say (empty ``operation``) count as real.
OPERATIONS = {"reelles": "opérations réelles", "toutes": "toutes opérations, y compris d'ordre"}


def of_operations(qs: QuerySet, operations: str) -> QuerySet:
    return qs.exclude(operation="ordre") if operations == "reelles" else qs


def unflagged_lines(qs: QuerySet) -> int:
    """Lines that do not say whether they are real or ordre operations."""
    return qs.filter(operation="").count()


def sections(qs: QuerySet) -> dict:
    """{section: {dépense, recette, dépense_ordre, recette_ordre: cents}}: the totals of all operations
    (a budget balances on them) and their ordre part."""
    empty = {"dépense": 0, "recette": 0, "dépense_ordre": 0, "recette_ordre": 0}
    out = {s: dict(empty) for s in ("fonctionnement", "investissement")}
    for row in qs.values("section", "direction", "operation").annotate(total=Sum("amount_cents")):
        section = out.setdefault(row["section"], dict(empty))
        section[row["direction"]] += row["total"]
        if row["operation"] == "ordre":
            section[f"{row['direction']}_ordre"] += row["total"]
    return out


def breakdown(qs: QuerySet, by: str, *, prefix: str = "") -> list[dict]:
    """Totals per function or nature code; with ``prefix`` the codes below it (drill-down),
    else per first digit (chapter level)."""
    code_field = "function_code" if by == "fonction" else "nature_code"
    label_field = "function_label" if by == "fonction" else "nature_label"
    rows = qs.filter(**{f"{code_field}__startswith": prefix}) if prefix else qs
    depth = len(prefix) + 1
    groups: dict[str, dict] = {}
    for row in rows.values(code_field, label_field, "nomenclature").annotate(total=Sum("amount_cents")):
        code = row[code_field] or "—"
        key = code[:depth] if code != "—" else code
        g = groups.setdefault(key, {"code": key, "label": "", "total": 0, "leaf": True})
        g["total"] += row["total"]
        if code == key:
            g["label"] = row[label_field]
        else:
            g["leaf"] = False
        if not g["label"]:
            from .nomenclature import plan

            p = plan(row["nomenclature"])
            if p:
                g["label"] = p.label("fonction" if by == "fonction" else "nature", key)
    return sorted(groups.values(), key=lambda g: -g["total"])


def evolution(siret: str, operations: str = "reelles") -> list[dict]:
    return list(
        of_operations(BudgetLine.objects.filter(collectivite_siret=siret), operations)
        .values("year", "budget_type", "direction")
        .annotate(total=Sum("amount_cents"))
        .order_by("year", "budget_type", "direction")
    )


def _eur(cents: int) -> str:
    return f"{cents / 100:,.2f}".replace(",", " ").replace(".", ",") + " €"


def balance_checks(batch: ImportBatch) -> list[dict]:
    """Per budget of the batch: does each section balance (recettes = dépenses)?"""
    out = []
    keys = batch.budget_lines.order_by().values_list("collectivite_siret", "year", "budget_type").distinct()
    for siret, year, budget_type in keys:
        secs = sections(budget_lines(siret, year, budget_type))
        for section, amounts in secs.items():
            if amounts["dépense"] == 0 and amounts["recette"] == 0:
                continue
            diff = amounts["recette"] - amounts["dépense"]
            if diff:
                out.append({
                    "siret": siret, "year": year, "budget_type": budget_type, "section": section, "diff_cents": diff,
                    "message": (
                        f"Budget non équilibré : {budget_type} {year}, section {section} — recettes "
                        f"{_eur(amounts['recette'])} ≠ dépenses {_eur(amounts['dépense'])} (écart {_eur(diff)})."
                    ),
                })
    return out


def similar_collectivites(siret: str, year: int, budget_type: str, limit: int = 5, operations: str = "reelles") -> list[dict]:
    """Collectivités with a budget the same year whose population is closest (per inhabitant)."""
    from regio.accounts.models import Organisation

    rows = []
    found = list(
        of_operations(BudgetLine.objects.filter(year=year, budget_type=budget_type, direction="dépense"), operations)
        .values("collectivite_siret", "collectivite_name", "organisation_id").annotate(total=Sum("amount_cents"))
    )
    orgs = Organisation.objects.in_bulk({r["organisation_id"] for r in found if r["organisation_id"]})
    for row in found:
        org = orgs.get(row.pop("organisation_id"))
        territory = org and (org.commune or org.epci or org.departement or org.region)
        population = getattr(territory, "population", None) if territory else None
        rows.append({**row, "population": population,
                     "per_inhabitant": (row["total"] / 100 / population) if population else None})
    me = next((r for r in rows if r["collectivite_siret"] == siret), None)
    if me is None or not me["population"]:
        return [r for r in rows if r["collectivite_siret"] != siret][:limit]
    others = [r for r in rows if r["collectivite_siret"] != siret and r["population"]]
    others.sort(key=lambda r: abs(r["population"] - me["population"]))
    return [me, *others[:limit]]
