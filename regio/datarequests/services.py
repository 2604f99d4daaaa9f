"""Writes of the data-request tracker: one function per action a person takes."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from regio.accounts.models import Organisation
from regio.core.text import normalize_text

from . import permissions, workflow
from .models import (
    Comment,
    DataRequest,
    LegalGround,
    Moderation,
    Status,
    Support,
    Transition,
)


class TransitionForbidden(Exception):
    """The workflow does not allow this move (HTTP 409)."""


class PossibleDuplicate(Exception):
    """Datasets of the catalogue may already answer the request (the requester is pointed to them)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        super().__init__(
            "Des jeux de données correspondant à votre demande existent peut-être déjà dans le catalogue : "
            "consultez-les, puis confirmez votre demande s'ils ne répondent pas à votre besoin."
        )


MIN_DESCRIPTION_CHARS = 30
# Words that send a request to the moderators instead of publishing it (insults, spam).
ABUSIVE_WORDS = (
    "connard", "connards", "salaud", "salauds", "encule", "encules", "enfoire", "enfoires", "pourri", "pourris",
    "escroc", "escrocs", "merde", "putain", "abruti", "abrutis", "idiots", "casino", "viagra", "crypto",
)
STOP_WORDS = {
    "les", "des", "une", "du", "de", "la", "le", "et", "en", "sur", "pour", "par", "aux", "au", "dans", "avec",
    "donnees", "donnee", "liste", "jeu", "fichier", "ensemble", "toutes", "tous", "commune", "communes", "souhaite",
    "demande", "ville", "the", "qui", "est", "sont", "son", "ses", "leur", "leurs",
}


# --------------------------------------------------------------------------- helpers


def _territory_codes(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\s,;]+", value)
    codes = [str(v).strip().upper() for v in (value or []) if str(v).strip()]
    bad = [c for c in codes if not re.fullmatch(r"[0-9][0-9AB][0-9]{0,7}", c)]
    if bad:
        raise ValidationError({"territory_codes": f"Code(s) de territoire invalide(s) : {', '.join(bad)} (codes INSEE ou SIREN attendus)."})
    return codes


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "demande"
    slug, i = base, 2
    while DataRequest.objects.filter(slug=slug).exists():
        slug, i = f"{base}-{i}", i + 1
    return slug


def is_abusive(text: str) -> bool:
    return bool(set(normalize_text(text).split()) & set(ABUSIVE_WORDS))


def moderation_reason(title: str, description: str) -> str:
    """Why a request goes to the moderation queue instead of the public tracker ('' if it does not)."""
    if len(description.strip()) < MIN_DESCRIPTION_CHARS:
        return f"Description trop courte (moins de {MIN_DESCRIPTION_CHARS} caractères)."
    if is_abusive(f"{title} {description}"):
        return "Termes injurieux ou indésirables."
    if len(re.findall(r"https?://", description)) > 3:
        return "Trop de liens (indésirable probable)."
    letters = [c for c in title + description if c.isalpha()]
    if len(letters) > 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return "Texte écrit en majuscules."
    return ""


def search_words(title: str) -> list[str]:
    """The request title's significant words, as typed (the catalogue's search folds accents and
    case and stems them); generic words of a request ("liste", "données", "commune"…) left out,
    since every word of a catalogue query must match."""
    seen: list[str] = []
    folded_seen: set[str] = set()
    for word in re.findall(r"[\w'’-]+", title):
        for part in re.split(r"['’-]", word):
            folded = normalize_text(part)
            if len(folded) > 2 and folded not in STOP_WORDS and not folded.isdigit() and folded not in folded_seen:
                folded_seen.add(folded)
                seen.append(part)
    return seen


def _attempts(words: list[str]) -> list[list[str]]:
    """Queries from the most to the least specific: every word, every word but one (longest words
    kept first), then the two longest words."""
    from itertools import combinations

    words = words[:6]
    attempts = [words]
    if len(words) > 2:
        subsets = sorted(combinations(words, len(words) - 1), key=lambda c: -sum(len(w) for w in c))
        attempts += [list(c) for c in subsets[:4]]
        attempts.append(sorted(words, key=len, reverse=True)[:2])
    unique: list[list[str]] = []
    for attempt in attempts:
        if attempt not in unique:
            unique.append(attempt)
    return unique


def existing_datasets(title: str, limit: int = 5, holder: Organisation | None = None):
    """Public catalogue datasets that may already answer a request titled ``title``.

    Uses the catalogue's own French search (``catalog.selectors.search_datasets``: accents and
    case folded, words stemmed — "subvention versée" finds "Subventions versées" —, datasets
    whose title matches first): every significant word, then relaxed queries; the holder's own
    datasets are tried first when the request names one.
    """
    from regio.catalog.selectors import search_datasets

    words = search_words(title)
    if not words:
        return []
    scopes = [{"publisher": holder.slug}, {}] if holder is not None else [{}]
    for attempt in _attempts(words):
        for filters in scopes:
            result = search_datasets(" ".join(attempt), filters=filters, facets=None)
            hits = list(result.queryset[:limit]) if result.searched else []
            if hits:
                return hits
    return []


def _recipients(request: DataRequest, exclude: str = "") -> list[str]:
    emails = set()
    if request.requester_id and request.requester.email:
        emails.add(request.requester.email)
    if request.requester_email:
        emails.add(request.requester_email)
    for user_email, email in request.supports.values_list("user__email", "email"):
        emails.add(user_email or email)
    emails.discard("")
    emails.discard(None)
    emails.discard(exclude)
    return sorted(emails)


def _notify(request: DataRequest, subject: str, body: str, exclude: str = "") -> None:
    from regio.core.tasks import send_email

    recipients = _recipients(request, exclude)
    if not recipients:
        return
    url = settings.SITE_URL.rstrip("/") + request.get_absolute_url()
    # One job per recipient: supporters never see each other's address.
    for email in recipients:
        send_email.enqueue(f"[Regio] {subject}", f"{body}\n\nSuivre la demande : {url}\n", [email])


# --------------------------------------------------------------------------- actions


@transaction.atomic
def submit_request(
    user, data: dict, *, email: str = "", confirm_new: bool = False, holder: Organisation | None = None
) -> DataRequest:
    """Record a request: suggestions from the catalogue first, moderation for empty or abusive ones."""
    title = " ".join((data.get("title") or "").split())
    description = (data.get("description") or "").strip()
    purpose = (data.get("purpose") or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Indiquez quelles données vous demandez (le titre est obligatoire)."
    elif len(title) > 250:
        errors["title"] = "Le titre ne doit pas dépasser 250 caractères."
    if not description:
        errors["description"] = "Décrivez les données demandées (la description est obligatoire)."
    authenticated = bool(user and user.is_authenticated)
    email = (email or "").strip().lower()
    if not authenticated and not email:
        errors["email"] = "Indiquez votre adresse électronique pour être informé des suites de votre demande."
    elif not authenticated:
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Adresse électronique invalide."
    try:
        codes = _territory_codes(data.get("territory_codes"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        codes = []
    if errors:
        raise ValidationError(errors)
    if not confirm_new:
        found = existing_datasets(title, holder=holder)
        if found:
            raise PossibleDuplicate(found)
    now = timezone.now()
    legal, internal = workflow.deadlines(timezone.localdate(now))
    reason = moderation_reason(title, description)
    request = DataRequest.objects.create(
        slug=_unique_slug(title), title=title, description=description, purpose=purpose, holder=holder,
        territory_codes=codes or ([holder.territory_code] if holder and holder.is_collectivite and holder.territory_code else []),
        requester=user if authenticated else None, requester_email="" if authenticated else email,
        submitted_at=now, legal_deadline=legal, internal_deadline=internal,
        moderation=Moderation.PENDING if reason else Moderation.NOT_REQUIRED, moderation_reason=reason,
    )
    Transition.objects.create(request=request, from_status="", to_status=Status.SUBMITTED, actor=request.requester, at=now)
    if reason:
        body = (
            f"Votre demande « {title} » a bien été reçue. Elle sera publiée après vérification par un modérateur "
            f"({reason})"
        )
    else:
        body = (
            f"Votre demande « {title} » a bien été enregistrée et publiée. L'administrateur général des données "
            f"doit vous répondre avant le {legal:%d/%m/%Y}."
        )
    _notify(request, "Demande de données enregistrée", body)
    return request


@transaction.atomic
def moderate_request(user, request: DataRequest, *, approve: bool, reason: str = "") -> DataRequest:
    if not permissions.can_moderate(user):
        raise PermissionDenied("Seuls les modérateurs et l'administrateur général des données peuvent modérer une demande.")
    if request.moderation != Moderation.PENDING:
        raise TransitionForbidden("Cette demande n'est pas en attente de modération.")
    request.moderation = Moderation.APPROVED if approve else Moderation.REJECTED
    if reason:
        request.moderation_reason = reason[:300]
    request.save(update_fields=["moderation", "moderation_reason", "updated_at"])
    if approve:
        _notify(request, "Demande de données publiée", f"Votre demande « {request.title} » est désormais publique.")
    else:
        _notify(request, "Demande de données non publiée", f"Votre demande « {request.title} » n'a pas été publiée : {reason or request.moderation_reason}")
    return request


@transaction.atomic
def transition(
    user, request: DataRequest, target: str, *, note: str = "", legal_ground: str = "",
    assigned_to: Organisation | None = None, dataset=None,
) -> DataRequest:
    """Move a request along the workflow; 409 (``TransitionForbidden``) for a move it does not allow."""
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    try:
        target = Status(target)
    except ValueError:
        raise ValidationError({"status": f"État inconnu : « {target} » (valeurs : {', '.join(Status.values)})."}) from None
    if not permissions.can_transition(user, request, target):
        raise PermissionDenied(f"Vous n'avez pas le droit de faire passer cette demande à l'état « {target.label.lower()} ».")
    if request.moderation in (Moderation.PENDING, Moderation.REJECTED):
        raise TransitionForbidden("Cette demande attend la modération : elle ne peut pas encore être instruite.")
    if target not in workflow.ALLOWED[Status(request.status)]:
        raise TransitionForbidden(workflow.forbidden_message(request.status, target))
    errors = {}
    if target == Status.REFUSED:
        if legal_ground not in LegalGround.values:
            errors["legal_ground"] = "Un refus doit indiquer son motif légal (" + ", ".join(LegalGround.labels).lower() + ")."
        if not note.strip():
            errors["note"] = "Expliquez le refus au demandeur (la note est obligatoire)."
    elif legal_ground:
        errors["legal_ground"] = "Un motif légal ne s'indique que pour un refus."
    if target == Status.ASSIGNED:
        assigned_to = assigned_to or request.holder
        if assigned_to is None:
            errors["assigned_to"] = "Indiquez l'organisation productrice à qui transmettre la demande."
    if target == Status.RELEASED:
        if dataset is None:
            errors["dataset"] = "Indiquez le jeu de données publié qui répond à la demande."
        elif not dataset.is_public:
            errors["dataset"] = "Le jeu de données indiqué n'est pas publié dans le catalogue."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    previous = request.status
    request.status = target
    if target == Status.ASSIGNED:
        request.assigned_to = assigned_to
        if request.holder_id is None:
            request.holder = assigned_to
    if target == Status.RELEASED:
        request.released_dataset = dataset
    if target == Status.REFUSED:
        request.refusal_ground = legal_ground
    if target in (Status.RELEASED, Status.REFUSED) and request.answered_at is None:
        request.answered_at = now
    request.save()
    Transition.objects.create(
        request=request, from_status=previous, to_status=target, actor=user, at=now, note=note.strip(),
        legal_ground=legal_ground if target == Status.REFUSED else "",
    )
    _notify(request, f"Votre demande « {request.title} » : {target.label.lower()}", _transition_body(request, target, note))
    return request


def _transition_body(request: DataRequest, target: Status, note: str) -> str:
    lines = [f"La demande de données « {request.title} » est passée à l'état « {target.label.lower()} »."]
    if target == Status.ASSIGNED and request.assigned_to:
        lines.append(f"Elle a été transmise à {request.assigned_to.name}.")
    if target == Status.RELEASED and request.released_dataset:
        url = settings.SITE_URL.rstrip("/") + request.released_dataset.get_absolute_url()
        lines.append(f"Les données sont publiées : {request.released_dataset.title} — {url}")
    if target == Status.REFUSED:
        lines.append(f"Motif légal : {LegalGround(request.refusal_ground).label}.")
    if note.strip():
        lines.append(note.strip())
    return "\n\n".join(lines)


def support(user, request: DataRequest, *, email: str = "") -> bool:
    """+1 (one per person). Returns False when this person already supports the request."""
    if not request.is_public:
        raise PermissionDenied("Cette demande n'est pas publique.")
    if not request.is_open:
        raise TransitionForbidden("Cette demande est close : elle ne peut plus être soutenue.")
    authenticated = bool(user and user.is_authenticated)
    if not authenticated:
        from django.core.validators import validate_email

        email = (email or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": "Indiquez une adresse électronique valide pour soutenir la demande."}) from None
    if authenticated and request.requester_id == user.pk:
        raise ValidationError("Vous êtes l'auteur de cette demande : elle compte déjà votre soutien.")
    try:
        with transaction.atomic():
            Support.objects.create(request=request, user=user if authenticated else None, email="" if authenticated else email)
    except IntegrityError:
        return False
    DataRequest.objects.filter(pk=request.pk).update(supporters_count=F("supporters_count") + 1)
    request.refresh_from_db(fields=["supporters_count"])
    return True


def comment_moderation_reason(body: str) -> str:
    """Why a comment waits for a moderator instead of being published ('' if it does not)."""
    if is_abusive(body):
        return "Termes injurieux ou indésirables."
    if len(re.findall(r"https?://", body)) > 2:
        return "Trop de liens (indésirable probable)."
    letters = [c for c in body if c.isalpha()]
    if len(letters) > 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return "Texte écrit en majuscules."
    return ""


def comment(user, request: DataRequest, body: str) -> Comment:
    """Publish a comment, or hold an abusive/spammy one for the moderators (nothing is dropped)."""
    if not user or not user.is_authenticated:
        raise PermissionDenied("Connectez-vous pour commenter une demande.")
    if not request.is_public:
        raise PermissionDenied("Cette demande n'est pas publique.")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Le commentaire est vide."})
    reason = comment_moderation_reason(body)
    created = Comment.objects.create(
        request=request, author=user, author_name=user.full_name or "Participant", body=body,
        moderation=Moderation.PENDING if reason else Moderation.NOT_REQUIRED, moderation_reason=reason,
    )
    if not reason:
        _notify(request, f"Nouveau commentaire sur « {request.title} »", body, exclude=user.email)
    return created


@transaction.atomic
def moderate_comment(user, comment: Comment, *, approve: bool, reason: str = "") -> Comment:
    """A moderator (or the CDO) publishes or rejects a held comment; its author is told by email."""
    if not permissions.can_moderate(user):
        raise PermissionDenied("Seuls les modérateurs et l'administrateur général des données peuvent modérer un commentaire.")
    comment = Comment.objects.select_for_update(of=("self",)).select_related("request", "author").get(pk=comment.pk)
    if comment.moderation != Moderation.PENDING:
        raise TransitionForbidden("Ce commentaire n'est pas en attente de modération.")
    comment.moderation = Moderation.APPROVED if approve else Moderation.REJECTED
    if reason.strip():
        comment.moderation_reason = reason.strip()[:300]
    comment.moderated_by = user
    comment.moderated_at = timezone.now()
    comment.save(update_fields=["moderation", "moderation_reason", "moderated_by", "moderated_at"])
    request = comment.request
    author_email = comment.author.email if comment.author_id else ""
    if approve:
        _notify(request, f"Nouveau commentaire sur « {request.title} »", comment.body, exclude=author_email)
    if author_email:
        from regio.core.tasks import send_email

        outcome = "est publié" if approve else f"n'a pas été publié : {comment.moderation_reason}"
        send_email.enqueue(
            "[Regio] Votre commentaire", f"Votre commentaire sur la demande « {request.title} » {outcome}\n\n"
            f"{settings.SITE_URL.rstrip('/')}{request.get_absolute_url()}\n", [author_email],
        )
    return comment


# --------------------------------------------------------------------------- personal data


def export_user(user) -> dict:
    return {
        "demandes": list(DataRequest.objects.filter(requester=user).values("title", "slug", "status", "submitted_at")),
        "soutiens": list(Support.objects.filter(user=user).values("request__slug", "created_at")),
        "commentaires": list(Comment.objects.filter(author=user).values("request__slug", "body", "created_at")),
    }


def erase_user(user) -> None:
    """The requests stay (they are public), without the link to the person."""
    DataRequest.objects.filter(requester=user).update(requester=None)
    for request_id in Support.objects.filter(user=user).values_list("request_id", flat=True):
        DataRequest.objects.filter(pk=request_id, supporters_count__gt=0).update(supporters_count=F("supporters_count") - 1)
    Support.objects.filter(user=user).delete()
    Comment.objects.filter(author=user).update(author=None, author_name="Participant")
