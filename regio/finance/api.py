"""JSON API of budgets and subsidies (``/api/1/finance/…``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from regio.accounts.auth import session_or_token
from regio.accounts.models import Organisation
from regio.core.pagination import paginate

from . import analytics, selectors, services, themes
from .models import ImportBatch

router = Router(tags=["Budgets et subventions"])


def subsidy_dict(s) -> dict:
    return {
        "id": s.id, "grantor_name": s.grantor_name, "grantor_siret": s.grantor_siret,
        "beneficiary_name": s.beneficiary_name, "beneficiary_siret": s.beneficiary_siret, "object": s.object,
        "amount_cents": s.amount_cents, "decision_date": s.decision_date.isoformat(), "nature": s.nature,
        "conditions": s.conditions, "year": s.year, "theme": s.theme, "beneficiary_commune": s.beneficiary_commune_id,
        "beneficiary_epci": s.beneficiary_epci_id or None, "is_demo": s.is_demo,
    }


def _filters(grantor, beneficiary, q, year, nature, min_eur, max_eur, territory, theme="") -> selectors.SubsidyFilters:
    if min_eur is not None and max_eur is not None and min_eur > max_eur:
        raise HttpError(400, "Le montant minimum dépasse le montant maximum.")
    if theme and theme not in themes.LABELS:
        raise HttpError(400, f"Thème « {theme} » inconnu (attendu : {', '.join(themes.LABELS)}).")
    return selectors.SubsidyFilters(grantor=grantor, beneficiary=beneficiary, q=q, year=year, nature=nature,
                                    min_eur=min_eur, max_eur=max_eur, territory=territory, theme=theme)


@router.get("/finance/subsidies", summary="Subventions (filtres : attribuant, bénéficiaire, année, montant, territoire, thème)")
def list_subsidies(request, grantor: str = "", beneficiary: str = "", q: str = "", year: int | None = None,
                   nature: str = "", min_eur: float | None = None, max_eur: float | None = None, territory: str = "",
                   theme: str = "", page: int = 1, page_size: int = 50):
    qs = selectors.subsidies(_filters(grantor, beneficiary, q, year, nature, min_eur, max_eur, territory, theme))
    return paginate(request, qs.order_by("-decision_date", "id"), page, page_size, subsidy_dict)


@router.get("/finance/subsidies/aggregates", summary="Agrégats : par bénéficiaire, année, territoire, concentration")
def subsidy_aggregates(request, grantor: str = "", beneficiary: str = "", q: str = "", year: int | None = None,
                       nature: str = "", min_eur: float | None = None, max_eur: float | None = None, territory: str = "",
                       theme: str = ""):
    explorer = analytics.Explorer(_filters(grantor, beneficiary, q, year, nature, min_eur, max_eur, territory, theme))
    _, gini = selectors.lorenz(explorer.beneficiary_totals())
    return {
        **explorer.totals(),
        "warning": selectors.quarantine_warning("subventions", year=year),
        "by_year": [{"year": r["year"], "total_cents": r["total"], "count": r["n"]} for r in explorer.by_year()],
        "by_theme": [{"theme": r["theme"], "label": themes.LABELS.get(r["theme"], r["theme"]), "total_cents": r["total"],
                      "count": r["n"]} for r in explorer.themes()],
        "top_beneficiaries": [
            {"name": r["beneficiary_name"], "siret": r["beneficiary_siret"], "total_cents": r["total"], "count": r["n"]}
            for r in explorer.top_beneficiaries(20)
        ],
        "per_inhabitant_commune": explorer.territory_per_inhabitant("commune"),
        "per_inhabitant_epci": explorer.territory_per_inhabitant("epci"),
        "urban_rural_eur": explorer.urban_rural(),
        "gini": gini,
        "decree_2017_779": explorer.decree_completeness(),
    }


@router.get("/finance/budgets", summary="Budgets disponibles (collectivités, exercices)")
def list_budgets(request):
    return [
        {"siret": c["collectivite_siret"], "name": c["collectivite_name"], "organisation": c["organisation__slug"],
         "years": selectors.budget_years(c["collectivite_siret"])}
        for c in selectors.budget_collectivites()
    ]


@router.get("/finance/budgets/{siret}/{year}", summary="Un budget : sections, répartitions par fonction et par nature")
def get_budget(request, siret: str, year: int, budget_type: str = "", code: str = "", operations: str = "reelles"):
    """``sections`` always count every operation (with their ``_ordre`` part); the breakdowns and the
    evolution count ``operations``: ``reelles`` (default, lines flagged « ordre » left out) or ``toutes``."""
    if operations not in selectors.OPERATIONS:
        raise HttpError(400, f"Opérations « {operations} » inconnues (attendu : {', '.join(selectors.OPERATIONS)}).")
    types = selectors.budget_types(siret, year)
    if not types:
        raise HttpError(404, "Aucun budget importé pour cette collectivité et cet exercice.")
    if budget_type and budget_type not in types:
        raise HttpError(404, f"Pas de « {budget_type} » pour cet exercice (disponibles : {', '.join(types)}).")
    budget_type = budget_type or types[0]
    all_lines = selectors.budget_lines(siret, year, budget_type)
    lines = selectors.of_operations(all_lines, operations)
    return {
        "siret": siret, "year": year, "budget_type": budget_type, "types": types, "operations": operations,
        "sections": selectors.sections(all_lines),
        "by_function": {d: selectors.breakdown(lines.filter(direction=d), "fonction", prefix=code) for d in ("dépense", "recette")},
        "by_nature": {d: selectors.breakdown(lines.filter(direction=d), "nature", prefix=code) for d in ("dépense", "recette")},
        "evolution": selectors.evolution(siret, operations),
    }


class BatchOut(Schema):
    id: int
    kind: str
    status: str
    file_name: str
    rows_read: int
    rows_imported: int
    rows_unchanged: int
    rows_quarantined: int
    report: dict
    quarantine: list[dict]


def batch_dict(batch: ImportBatch) -> dict:
    return {
        "id": batch.id, "kind": batch.kind, "status": batch.status, "file_name": batch.file_name,
        "rows_read": batch.rows_read, "rows_imported": batch.rows_imported, "rows_unchanged": batch.rows_unchanged,
        "rows_quarantined": batch.rows_quarantined, "report": batch.report,
        "quarantine": [{"line": q.line, "reasons": q.reasons} for q in batch.quarantine.all()[:1000]],
    }


@router.get("/finance/imports/{batch_id}", response=BatchOut, summary="Rapport d'un import, avec la quarantaine")
def get_import(request, batch_id: int):
    return batch_dict(get_object_or_404(ImportBatch, pk=batch_id))


@router.post("/finance/imports", response={201: BatchOut}, auth=session_or_token, summary="Importer un fichier SCDL")
def post_import(request, organisation: Form[str], kind: Form[str], file: File[UploadedFile], nomenclature: Form[str] = "M57"):
    org = Organisation.objects.filter(slug=organisation).first()
    if org is None:
        raise HttpError(404, f"Organisation « {organisation} » inconnue.")
    if kind not in ImportBatch.Kind.values:
        raise HttpError(400, "Type d'import inconnu : « subventions » ou « budget ».")
    try:
        batch = services.import_upload(request.auth, org, kind, file, nomenclature=nomenclature)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    except services.ImportRefused as exc:
        raise HttpError(422, str(exc)) from exc
    return Status(201, batch_dict(batch))
