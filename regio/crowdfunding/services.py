"""Writes and business rules of crowdfunding: one function per action a person (or the clock) takes.

Locking order, everywhere: project row → pledge row → programme row. The programme row is locked
(``select_for_update``) for every change of its committed amount, so concurrent confirmations
are serialised on PostgreSQL and the envelope is never overspent; SQLite serialises writers
anyway (``IMMEDIATE`` transactions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import markdown
import nh3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from regio.accounts.models import User
from regio.accounts.permissions import can_edit_for

from . import ledger
from .models import (
    PLEDGE_MAX_CENTS,
    PLEDGE_MIN_CENTS,
    BudgetLine,
    Category,
    Counterpart,
    MatchReservation,
    Payout,
    Pledge,
    Programme,
    Project,
    Update,
)


class CrowdfundingError(Exception):
    """A refused action; ``str(exc)`` is a French sentence for the person."""

    status = 422


class NotAllowed(CrowdfundingError):
    status = 403


class Conflict(CrowdfundingError):
    status = 409


def euros(cents: int) -> str:
    value = f"{cents / 100:,.2f}".replace(",", " ").replace(".", ",")
    return f"{value.removesuffix(',00')} €"


# ---- text ---------------------------------------------------------------------------------------

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote", "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td"}


def render_markdown(text: str) -> str:
    """Markdown → HTML sanitised with nh3 (no script, no style, no remote image: pages stay first-party)."""
    html = markdown.markdown(text or "", extensions=["tables", "sane_lists"])
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "th": {"scope"}}, link_rel="noopener noreferrer nofollow")


def parse_amount_eur(value) -> int:
    """What a person typed ("25", "25,50", "1 000") → cents; French error otherwise."""
    if isinstance(value, bool):
        raise CrowdfundingError("Le montant doit être un nombre (par exemple 25 ou 25,50).")
    if isinstance(value, int):
        cents = value * 100
    else:
        text = re.sub(r"[\s\u00a0\u202f€]", "", str(value or "")).replace(",", ".")
        if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", text):
            raise CrowdfundingError("Le montant doit être un nombre (par exemple 25 ou 25,50).")
        try:
            cents = int((Decimal(text) * 100).to_integral_exact())
        except InvalidOperation:
            raise CrowdfundingError("Le montant doit être un nombre (par exemple 25 ou 25,50).")
    if cents <= 0:
        raise CrowdfundingError("Le montant doit être positif.")
    return cents


# ---- programmes ---------------------------------------------------------------------------------


def create_programme(**fields) -> Programme:
    with transaction.atomic():
        programme = Programme.objects.create(**fields)
        ledger.envelope_allotted(programme, programme.envelope_cents)
    return programme


def increase_envelope(programme: Programme, extra_cents: int) -> Programme:
    if extra_cents <= 0:
        raise CrowdfundingError("L'augmentation de l'enveloppe doit être positive.")
    with transaction.atomic():
        locked = Programme.objects.select_for_update().get(pk=programme.pk)
        locked.envelope_cents += extra_cents
        locked.save(update_fields=["envelope_cents", "updated_at"])
        ledger.envelope_allotted(locked, extra_cents, key_suffix=f"increase:{locked.envelope_cents}")
    return locked


def eligibility(programme: Programme, project: Project) -> list[str]:
    """Why ``project`` is not eligible to ``programme`` (empty list: eligible)."""
    reasons = []
    if not programme.is_active:
        reasons.append("Le programme n'est plus actif.")
    if programme.categories and project.category not in programme.categories:
        reasons.append(f"La catégorie « {project.get_category_display()} » n'est pas éligible.")
    if programme.density_classes:
        density = project.commune.density_class
        if density is None:
            reasons.append(f"La classe de densité de {project.commune.name} est inconnue : éligibilité non établie.")
        elif density not in programme.density_classes:
            reasons.append(f"{project.commune.name} (classe de densité {density}) n'est pas dans le territoire éligible.")
    if programme.organisation_kinds and project.owner_kind not in programme.organisation_kinds:
        reasons.append("Le type de porteur de projet n'est pas éligible.")
    if project.commune.region_id != settings.REGION_CODE:
        reasons.append("Le projet n'est pas situé dans la région.")
    return reasons


@dataclass
class MatchTarget:
    cents: int
    reason: str


def match_target(programme: Programme, project: Project) -> MatchTarget:
    """The match the rules grant ``project`` from its confirmed pledges (before the envelope limit)."""
    if eligibility(programme, project):
        return MatchTarget(0, "projet non éligible")
    pledges = list(
        project.pledges.filter(
            status__in=[Pledge.Status.AUTHORISED, Pledge.Status.CAPTURED],
            authorised_at__gte=programme.starts_at,
            authorised_at__lte=programme.ends_at,
        ).values_list("backer_id", "amount_cents")
    )
    backers = {b for b, _ in pledges}
    if len(backers) < programme.min_backers:
        return MatchTarget(0, f"{len(backers)} contributeur(s) sur {programme.min_backers} requis")
    if programme.mode == Programme.Mode.TOP_UP:
        total = sum(a for _, a in pledges)
        target = programme.top_up_cents if total >= programme.top_up_threshold_cents else 0
        reason = "forfait" if target else "seuil du forfait non atteint"
    else:
        per_backer: dict[int, int] = {}
        for backer, amount in pledges:
            m = amount * programme.ratio_numerator // programme.ratio_denominator
            if programme.cap_per_pledge_cents is not None:
                m = min(m, programme.cap_per_pledge_cents)
            per_backer[backer] = per_backer.get(backer, 0) + m
        if programme.cap_per_backer_cents is not None:
            per_backer = {b: min(m, programme.cap_per_backer_cents) for b, m in per_backer.items()}
        target, reason = sum(per_backer.values()), "ratio"
    if programme.cap_per_project_cents is not None and target > programme.cap_per_project_cents:
        target, reason = programme.cap_per_project_cents, "plafond par projet"
    ceiling = project.cost_cents * programme.public_aid_ceiling_pct // 100 - project.other_public_funding_cents
    if target > max(ceiling, 0):
        target, reason = max(ceiling, 0), f"plafond des aides publiques ({programme.public_aid_ceiling_pct} % du coût)"
    return MatchTarget(target, reason)


def _reserve_match(project: Project, pledge: Pledge | None) -> MatchReservation | None:
    """Top the project's reservation up to what the rules grant, within the envelope. Caller holds the project lock."""
    if project.programme_id is None:
        return None
    # The rules and the project's pledges are read under the project lock; the programme row is
    # locked last and only for the envelope arithmetic, so that it is held as briefly as possible.
    programme = Programme.objects.get(pk=project.programme_id)
    now = timezone.now()
    if not (programme.starts_at <= now <= programme.ends_at):
        return None
    target = match_target(programme, project).cents
    current = (
        MatchReservation.objects.filter(project=project, status=MatchReservation.Status.RESERVED).aggregate(s=Sum("amount_cents"))["s"]
        or 0
    )
    if target - current <= 0:
        return None
    programme = Programme.objects.select_for_update().get(pk=project.programme_id)
    delta = min(target - current, programme.available_cents)
    if delta <= 0:
        return None
    updated = Programme.objects.filter(pk=programme.pk, committed_cents__lte=F("envelope_cents") - delta).update(
        committed_cents=F("committed_cents") + delta
    )
    if updated != 1:  # cannot happen under the lock; refuse rather than overspend
        raise Conflict("L'enveloppe du programme est épuisée.")
    reservation = MatchReservation.objects.create(programme=programme, project=project, pledge=pledge, amount_cents=delta)
    ledger.match_reserved(reservation)
    return reservation


# ---- projects -----------------------------------------------------------------------------------


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "projet"
    slug, n = base, 2
    while Project.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_project(
    owner,
    *,
    title: str,
    category: str,
    commune,
    goal_cents: int,
    deadline,
    description: str,
    organisation=None,
    programme: Programme | None = None,
    summary: str = "",
    budget_lines: list[tuple[str, int]] = (),
    counterparts: list[tuple[int, str, str]] = (),
    other_public_funding_cents: int = 0,
    image=None,
    image_alt: str = "",
) -> Project:
    if category not in Category.values:
        raise CrowdfundingError("Catégorie inconnue.")
    if goal_cents <= 0:
        raise CrowdfundingError("L'objectif de la collecte doit être positif.")
    if deadline <= timezone.now():
        raise CrowdfundingError("La date de fin de la collecte doit être dans le futur.")
    if commune.region_id != settings.REGION_CODE:
        raise CrowdfundingError("La commune du projet doit être située dans la région.")
    if organisation is not None and not can_edit_for(owner, organisation):
        raise NotAllowed(f"Vous ne pouvez pas présenter un projet au nom de {organisation.name}.")
    if image and not image_alt:
        raise CrowdfundingError("Décrivez l'image en quelques mots (texte alternatif).")
    with transaction.atomic():
        project = Project.objects.create(
            owner=owner,
            organisation=organisation,
            programme=programme,
            title=title,
            slug=_unique_slug(title),
            category=category,
            commune=commune,
            summary=summary,
            description=description,
            description_html=render_markdown(description),
            goal_cents=goal_cents,
            deadline=deadline,
            other_public_funding_cents=other_public_funding_cents,
            image=image or "",
            image_alt=image_alt,
        )
        BudgetLine.objects.bulk_create(
            [BudgetLine(project=project, label=label, amount_cents=cents, position=i) for i, (label, cents) in enumerate(budget_lines)]
        )
        Counterpart.objects.bulk_create(
            [Counterpart(project=project, min_amount_cents=c, title=t, description=d) for c, t, d in counterparts]
        )
    return project


def can_manage(user, project: Project) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.pk == project.owner_id or user.is_superuser:
        return True
    return project.organisation is not None and can_edit_for(user, project.organisation)


def submit_project(user, project: Project) -> Project:
    if not can_manage(user, project):
        raise NotAllowed("Seul le porteur du projet peut le soumettre.")
    if project.moderation_status not in (Project.Moderation.DRAFT, Project.Moderation.REJECTED):
        raise Conflict("Ce projet a déjà été soumis.")
    project.moderation_status = Project.Moderation.SUBMITTED
    project.submitted_at = timezone.now()
    project.save(update_fields=["moderation_status", "submitted_at", "updated_at"])
    return project


def moderate_project(moderator, project: Project, *, approve: bool, note: str = "") -> Project:
    if not (moderator and moderator.is_authenticated and moderator.is_platform_staff):
        raise NotAllowed("Seuls les modérateurs de la Région peuvent publier un projet.")
    if project.moderation_status != Project.Moderation.SUBMITTED:
        raise Conflict("Seul un projet soumis peut être modéré.")
    if not approve and not note.strip():
        raise CrowdfundingError("Indiquez au porteur le motif du refus.")
    project.moderation_status = Project.Moderation.PUBLISHED if approve else Project.Moderation.REJECTED
    project.moderation_note = note
    if approve:
        project.published_at = timezone.now()
    project.save(update_fields=["moderation_status", "moderation_note", "published_at", "updated_at"])
    return project


def post_update(user, project: Project, *, title: str, body: str) -> Update:
    if not can_manage(user, project):
        raise NotAllowed("Seul le porteur du projet peut publier une actualité.")
    if not project.is_published:
        raise Conflict("Le projet n'est pas publié.")
    if not title.strip() or not body.strip():
        raise CrowdfundingError("Donnez un titre et un texte à l'actualité.")
    update = Update.objects.create(project=project, author=user, title=title.strip(), body=body, body_html=render_markdown(body))
    notify_backers(update)
    return update


def notify_backers(update: Update) -> int:
    """One email per backer with a confirmed pledge (their consent to be shown is irrelevant here)."""
    from regio.core.tasks import send_email

    project = update.project
    emails = sorted(
        set(
            User.objects.filter(
                is_active=True,
                crowdfunding_pledges__project=project,
                crowdfunding_pledges__status__in=[Pledge.Status.AUTHORISED, Pledge.Status.CAPTURED],
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    url = settings.SITE_URL.rstrip("/") + reverse("crowdfunding:project", kwargs={"slug": project.slug})
    subject = f"[Regio] {project.title} : {update.title}"
    body = (
        f"Le porteur du projet « {project.title} », que vous soutenez, a publié une actualité.\n\n"
        f"{update.title}\n\n{update.body}\n\nVoir le projet : {url}\n"
    )
    # One job per backer: backers never see each other's address.
    for email in emails:
        send_email.enqueue(subject, body, [email])
    return len(emails)


# ---- pledges ------------------------------------------------------------------------------------


def create_pledge(
    backer,
    project: Project,
    amount_cents: int,
    *,
    idempotency_key: str,
    provider: str = Pledge.Provider.BANK_TRANSFER,
    show_name: bool = False,
    message: str = "",
) -> tuple[Pledge, bool]:
    """Record a promise of payment; returns ``(pledge, created)``.

    Idempotent on ``idempotency_key``: a double click or a retry returns the first pledge.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise CrowdfundingError("Clé d'idempotence manquante ou trop longue (80 caractères au plus).")
    existing = Pledge.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _same_pledge(existing, backer, project, amount_cents), False
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise CrowdfundingError("Le montant doit être un nombre entier de centimes.")
    if amount_cents <= 0:
        raise CrowdfundingError("Le montant doit être positif.")
    if amount_cents < PLEDGE_MIN_CENTS:
        raise CrowdfundingError(f"Le don minimum est de {euros(PLEDGE_MIN_CENTS)}.")
    if amount_cents > PLEDGE_MAX_CENTS:
        raise CrowdfundingError(f"Un don ne peut pas dépasser {euros(PLEDGE_MAX_CENTS)}.")
    if provider not in Pledge.Provider.values:
        raise CrowdfundingError("Moyen de paiement inconnu.")
    if not project.is_published:
        raise Conflict("Ce projet n'est pas publié : il ne peut pas recevoir de dons.")
    if project.campaign_state != Project.Campaign.OPEN or project.deadline <= timezone.now():
        raise Conflict("La collecte de ce projet est terminée : elle ne reçoit plus de dons.")
    if backer.pk == project.owner_id:
        raise CrowdfundingError("Le porteur ne peut pas financer son propre projet.")
    try:
        with transaction.atomic():
            pledge = Pledge.objects.create(
                project=project,
                backer=backer,
                amount_cents=amount_cents,
                idempotency_key=key,
                provider=provider,
                show_name=show_name,
                message=message[:500],
            )
    except IntegrityError:
        existing = Pledge.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _same_pledge(existing, backer, project, amount_cents), False
    return pledge, True


def _same_pledge(existing: Pledge, backer, project: Project, amount_cents) -> Pledge:
    if existing.backer_id != backer.pk or existing.project_id != project.pk or existing.amount_cents != amount_cents:
        raise Conflict("Cette clé d'idempotence a déjà servi pour un autre don.")
    return existing


def confirm_pledge(pledge_id: int, *, provider_payment_id: str = "") -> Pledge:
    """The payment of a pledge is received (transfer matched) or authorised (card): hold it, reserve the match.

    Idempotent: confirming a confirmed pledge changes nothing.
    """
    project_id = Pledge.objects.values_list("project_id", flat=True).get(pk=pledge_id)
    with transaction.atomic():
        project = Project.objects.select_for_update(of=("self",)).select_related("commune", "organisation").get(pk=project_id)
        pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
        if pledge.status != Pledge.Status.PENDING:
            if pledge.is_confirmed:
                return pledge
            raise Conflict(f"Le don {pledge.payment_reference} est {pledge.get_status_display().lower()} : paiement refusé.")
        if project.campaign_state != Project.Campaign.OPEN:
            raise Conflict(f"La collecte est close : le paiement du don {pledge.payment_reference} doit être remboursé.")
        pledge.status = Pledge.Status.AUTHORISED
        pledge.authorised_at = timezone.now()
        if provider_payment_id:
            pledge.provider_payment_id = provider_payment_id
        pledge.save(update_fields=["status", "authorised_at", "provider_payment_id", "updated_at"])
        ledger.pledge_authorised(pledge)
        _reserve_match(project, pledge)
    return pledge


def cancel_pending_pledge(user, pledge: Pledge) -> Pledge:
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if user is not None and user.pk != pledge.backer_id:
            raise NotAllowed("Ce don n'est pas le vôtre.")
        if pledge.status != Pledge.Status.PENDING:
            raise Conflict("Seul un don en attente de paiement peut être annulé.")
        pledge.status = Pledge.Status.CANCELLED
        pledge.save(update_fields=["status", "updated_at"])
    return pledge


# ---- closing ------------------------------------------------------------------------------------


def confirmed_total(project: Project) -> int:
    return (
        project.pledges.filter(status__in=[Pledge.Status.AUTHORISED, Pledge.Status.CAPTURED]).aggregate(s=Sum("amount_cents"))["s"]
        or 0
    )


@dataclass
class CloseReport:
    state: str
    settled: int = 0
    unsettled: int = 0
    errors: tuple[str, ...] = ()


def close_campaign(project: Project, *, by=None, force: bool = False) -> CloseReport:
    """All-or-nothing: success captures pledges and releases the match; failure refunds and cancels.

    Settling talks to payment providers outside the locks; a provider failure leaves that pledge
    authorised (the ledger still reconciles) and calling ``close_campaign`` again settles the rest.
    """
    from .payments import get_provider

    closed_now = False
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if locked.campaign_state == Project.Campaign.OPEN:
            closed_now = True
            if not force and locked.deadline > timezone.now():
                raise Conflict("La collecte n'est pas terminée : sa date de fin n'est pas passée.")
            if not locked.is_published:
                raise Conflict("Ce projet n'est pas publié.")
            success = confirmed_total(locked) >= locked.goal_cents
            locked.campaign_state = Project.Campaign.FUNDED if success else Project.Campaign.FAILED
            locked.closed_at = timezone.now()
            locked.save(update_fields=["campaign_state", "closed_at", "updated_at"])
            locked.pledges.filter(status=Pledge.Status.PENDING).update(status=Pledge.Status.CANCELLED, updated_at=timezone.now())
    success = locked.campaign_state in (Project.Campaign.FUNDED, Project.Campaign.CLOSED)
    errors, settled = [], 0
    for pledge in locked.pledges.filter(status=Pledge.Status.AUTHORISED).order_by("pk"):
        provider = get_provider(pledge.provider)
        try:
            provider.capture(pledge) if success else provider.refund(pledge)
        except Exception as exc:  # noqa: BLE001 — any provider failure is reported, never swallowed silently
            errors.append(f"Don {pledge.payment_reference} : {exc}")
            continue
        with transaction.atomic():
            p = Pledge.objects.select_for_update().get(pk=pledge.pk)
            if p.status == Pledge.Status.AUTHORISED:
                p.status = Pledge.Status.CAPTURED if success else Pledge.Status.REFUNDED
                p.settled_at = timezone.now()
                p.save(update_fields=["status", "settled_at", "updated_at"])
                (ledger.pledge_captured if success else ledger.pledge_refunded)(p)
                settled += 1
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)
        if locked.programme_id:
            programme = Programme.objects.select_for_update().get(pk=locked.programme_id)
            for r in MatchReservation.objects.select_for_update().filter(project=locked, status=MatchReservation.Status.RESERVED):
                if success:
                    r.status = MatchReservation.Status.RELEASED
                    r.save(update_fields=["status", "updated_at"])
                    ledger.match_released(r)
                else:
                    r.status = MatchReservation.Status.CANCELLED
                    r.save(update_fields=["status", "updated_at"])
                    Programme.objects.filter(pk=programme.pk).update(committed_cents=F("committed_cents") - r.amount_cents)
                    ledger.match_cancelled(r)
    unsettled = locked.pledges.filter(status=Pledge.Status.AUTHORISED).count()
    project.refresh_from_db()
    if closed_now and success:
        from .opendata import schedule_publication

        schedule_publication()  # the open dataset of funded projects
    return CloseReport(locked.campaign_state, settled, unsettled, tuple(errors))


def close_due_campaigns() -> list[CloseReport]:
    due = Project.objects.filter(
        moderation_status=Project.Moderation.PUBLISHED, campaign_state=Project.Campaign.OPEN, deadline__lte=timezone.now()
    )
    return [close_campaign(p) for p in due]


def pay_out(user, project: Project) -> Payout:
    """The région's agent transfers the collected pledges and the released match to the owner."""
    if not (user and user.is_authenticated and user.is_platform_staff):
        raise NotAllowed("Seuls les agents de la Région effectuent les versements.")
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        if project.campaign_state != Project.Campaign.FUNDED:
            raise Conflict("Seul un projet financé peut recevoir un versement.")
        if Payout.objects.filter(project=project).exists():
            raise Conflict("Ce projet a déjà reçu son versement.")
        if project.pledges.filter(status=Pledge.Status.AUTHORISED).exists():
            raise Conflict("Des dons ne sont pas encore encaissés : relancez la clôture avant le versement.")
        by_provider: dict[str, int] = {}
        for provider, amount in project.pledges.filter(status=Pledge.Status.CAPTURED).values_list("provider", "amount_cents"):
            by_provider[provider] = by_provider.get(provider, 0) + amount
        match = (
            project.reservations.filter(status=MatchReservation.Status.RELEASED).aggregate(s=Sum("amount_cents"))["s"] or 0
        )
        payout = Payout.objects.create(project=project, amount_cents=sum(by_provider.values()) + match, done_by=user)
        ledger.payout(project, by_provider, match)
        project.campaign_state = Project.Campaign.CLOSED
        project.save(update_fields=["campaign_state", "updated_at"])
    from .opendata import schedule_publication

    schedule_publication()  # the state column of the open dataset changes
    return payout
