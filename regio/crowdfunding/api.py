"""JSON API of crowdfunding under /api/1/crowdfunding/."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.utils import check_csrf

from regio.accounts.auth import session_or_token
from regio.core.pagination import paginate

from . import selectors, services
from .models import Category, Pledge, Programme, Project
from .payments import PaymentError, get_provider
from .payments.card import handle_webhook

router = Router(tags=["Financement participatif"])


def project_dict(p: Project, progress=None) -> dict:
    progress = progress or selectors.progress(p)
    return {
        "slug": p.slug,
        "title": p.title,
        "summary": p.summary,
        "category": p.category,
        "category_label": p.get_category_display(),
        "commune": {"code": p.commune_id, "name": p.commune.name, "departement": p.commune.departement_id},
        "organisation": p.organisation.name if p.organisation_id else None,
        "goal_cents": p.goal_cents,
        "deadline": p.deadline.isoformat(),
        "campaign_state": p.campaign_state,
        "citizens_cents": progress.citizens_cents,
        "region_match_cents": progress.region_cents,
        "programme": p.programme.slug if p.programme_id else None,
        "url": f"/financement-participatif/projets/{p.slug}",
    }


def programme_dict(p: Programme) -> dict:
    return {
        "slug": p.slug,
        "name": p.name,
        "description": p.description,
        "mode": p.mode,
        "ratio_numerator": p.ratio_numerator,
        "ratio_denominator": p.ratio_denominator,
        "top_up_cents": p.top_up_cents,
        "top_up_threshold_cents": p.top_up_threshold_cents,
        "cap_per_pledge_cents": p.cap_per_pledge_cents,
        "cap_per_backer_cents": p.cap_per_backer_cents,
        "cap_per_project_cents": p.cap_per_project_cents,
        "envelope_cents": p.envelope_cents,
        "committed_cents": p.committed_cents,
        "available_cents": p.available_cents,
        "categories": p.categories,
        "density_classes": p.density_classes,
        "organisation_kinds": p.organisation_kinds,
        "starts_at": p.starts_at.isoformat(),
        "ends_at": p.ends_at.isoformat(),
        "min_backers": p.min_backers,
        "public_aid_ceiling_pct": p.public_aid_ceiling_pct,
        "url": f"/financement-participatif/programmes/{p.slug}",
    }


@router.get("/crowdfunding/projects", summary="Projets publiés (recherche par catégorie et territoire)")
def list_projects(request, q: str = "", category: str = "", territory: str = "", state: str = "", page: int = 1, page_size: int = 20):
    if category and category not in Category.values:
        raise HttpError(422, f"Catégorie inconnue : {category}. Valeurs possibles : {', '.join(Category.values)}.")
    if state and state not in Project.Campaign.values:
        raise HttpError(422, f"État de collecte inconnu : {state}.")
    qs = selectors.search_projects(q=q, category=category, territory=territory, state=state)
    result = paginate(request, qs, page, page_size)
    progress = selectors.progress_many(result["data"])
    result["data"] = [project_dict(p, progress[p.pk]) for p in result["data"]]
    return result


@router.get("/crowdfunding/projects/{slug}", summary="Détail d'un projet")
def project_detail(request, slug: str):
    project = get_object_or_404(selectors.public_projects(), slug=slug)
    data = project_dict(project)
    data.update(
        {
            "description_html": project.description_html,
            "budget": [{"label": b.label, "amount_cents": b.amount_cents} for b in project.budget_lines.all()],
            "counterparts": [
                {"min_amount_cents": c.min_amount_cents, "title": c.title, "description": c.description} for c in project.counterparts.all()
            ],
            "backers": selectors.progress(project).backers,
        }
    )
    return data


class PledgeIn(Schema):
    amount_cents: int | None = None
    amount: str | None = None  # euros as typed by a person: "25" or "25,50"
    idempotency_key: str = ""
    provider: str = Pledge.Provider.BANK_TRANSFER
    show_name: bool = False
    message: str = ""


@router.post("/crowdfunding/projects/{slug}/pledges", auth=session_or_token, response={200: dict, 201: dict}, summary="Promettre un don (idempotent)")
def create_pledge(request, slug: str, payload: PledgeIn):
    if not request.headers.get("Authorization"):
        failure = check_csrf(request)
        if failure:
            raise HttpError(403, "Jeton CSRF manquant ou invalide.")
    project = get_object_or_404(Project, slug=slug)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key", "")
    try:
        if payload.amount_cents is not None:
            amount = payload.amount_cents
        elif payload.amount is not None:
            amount = services.parse_amount_eur(payload.amount)
        else:
            raise services.CrowdfundingError("Indiquez le montant du don (amount_cents ou amount).")
        pledge, created = services.create_pledge(
            request.auth, project, amount, idempotency_key=key, provider=payload.provider, show_name=payload.show_name, message=payload.message
        )
        payment = get_provider(pledge.provider).start(pledge, return_url=request.build_absolute_uri(f"/financement-participatif/projets/{slug}"))
    except services.CrowdfundingError as exc:
        raise HttpError(exc.status, str(exc))
    except PaymentError as exc:
        raise HttpError(502, str(exc))
    return Status(201 if created else 200, {
        "reference": pledge.payment_reference,
        "amount_cents": pledge.amount_cents,
        "status": pledge.status,
        "provider": pledge.provider,
        "created": created,
        "payment": payment,
    })


@router.get("/crowdfunding/programmes", summary="Programmes d'abondement de la Région")
def list_programmes(request, page: int = 1, page_size: int = 20):
    return paginate(request, selectors.active_programmes(), page, page_size, programme_dict)


@router.get("/crowdfunding/programmes/{slug}", summary="Détail d'un programme d'abondement")
def programme_detail(request, slug: str):
    return programme_dict(get_object_or_404(Programme, slug=slug))


@router.post("/crowdfunding/webhooks/card", summary="Notifications du prestataire de paiement par carte (signées)")
def card_webhook(request):
    try:
        outcome = handle_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except PaymentError as exc:
        raise HttpError(400, str(exc))
    return {"detail": outcome}
