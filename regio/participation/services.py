"""Writes and business rules of the debates registry: one function per action."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from regio.accounts.models import Organisation
from regio.accounts.permissions import can_edit_for
from regio.core.text import normalize_text
from regio.territory.models import Commune, PostalCode
from regio.territory.selectors import commune_by_code_or_postal_code, communes, haversine_km, nearest

from .models import THEMES, Debate, Level, Meeting, Subscription, pack

TOKEN_SALT = "regio.participation.subscription"
CONFIRM_MAX_AGE_S = 7 * 24 * 3600
ERASE_MAX_AGE_S = 2 * 24 * 3600


# ---- identity and deduplication ----------------------------------------------------------------

def url_key(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}{'?' + parts.query if parts.query else ''}"[:600]


def dedup_key(title: str, organiser: str, opens_on, closes_on) -> str:
    raw = "|".join([normalize_text(title), normalize_text(organiser), str(opens_on or ""), str(closes_on or "")])
    return hashlib.sha256(raw.encode()).hexdigest()


def find_duplicate(*, url: str, title: str, organiser_name: str, opens_on, closes_on, exclude_pk=None) -> Debate | None:
    qs = Debate.objects.filter(archived_at__isnull=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    key = url_key(url)
    if key:
        found = qs.filter(url_key=key).first()
        if found:
            return found
    return qs.filter(dedup_key=dedup_key(title, organiser_name, opens_on, closes_on)).first()


# ---- places ------------------------------------------------------------------------------------

@dataclass
class Place:
    commune: Commune | None
    lat: float | None
    lon: float | None
    unresolved: bool


_POSTCODE = re.compile(r"\b(\d{5})\b\s*([^,\d][^,]*)?")


def resolve_place(address: str = "", commune_code: str = "", lat=None, lon=None) -> Place:
    """Resolve an address (or an INSEE/postal code, or coordinates) to a commune and a point.

    Never raises: an address that cannot be resolved is kept and reported as ``unresolved``.
    """
    commune = None
    if commune_code:
        commune = commune_by_code_or_postal_code(str(commune_code)) or communes().filter(name_search=normalize_text(commune_code)).order_by("-population").first()
    address = (address or "").strip()
    if commune is None and address:
        commune = _commune_from_address(address)
    if commune is None and lat is not None and lon is not None:
        found = nearest(communes(), float(lat), float(lon), 1, start_km=3)
        if found and found[0].distance_km < 15:
            commune = found[0].obj
    if lat is None and commune is not None:
        lat, lon = commune.lat, commune.lon
    unresolved = bool(address) and commune is None
    return Place(commune, float(lat) if lat is not None else None, float(lon) if lon is not None else None, unresolved)


def _commune_from_address(address: str) -> Commune | None:
    match = _POSTCODE.search(address)
    if match:
        code, city = match.group(1), normalize_text(match.group(2) or "")
        ids = PostalCode.objects.filter(code=code, commune__is_active=True).values_list("commune_id", flat=True)
        candidates = list(communes().filter(code__in=list(ids)).order_by("-population"))
        for candidate in candidates:
            if city and (candidate.name_search == city or city.startswith(candidate.name_search)):
                return candidate
        if len(candidates) == 1 or (candidates and not city):
            return candidates[0]
    # "…, Amiens" or just "Amiens": the last comma-separated part as a commune name.
    for part in reversed([p.strip() for p in address.split(",") if p.strip()]):
        needle = normalize_text(re.sub(r"\d+", " ", part))
        if not needle:
            continue
        qs = communes().filter(name_search=needle)
        found = qs.filter(region_id=settings.REGION_CODE).order_by("-population").first() or qs.order_by("-population").first()
        if found:
            return found
    return None


# ---- validation --------------------------------------------------------------------------------

def _as_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    raise ValidationError({field: f"Date illisible « {text} » : écrivez-la au format AAAA-MM-JJ ou JJ/MM/AAAA."})


def check_dates(opens_on, closes_on) -> None:
    if opens_on and closes_on and closes_on < opens_on:
        raise ValidationError(
            {
                "closes_on": f"La date de clôture ({closes_on:%d/%m/%Y}) est antérieure à la date d'ouverture "
                f"({opens_on:%d/%m/%Y}) : corrigez l'une des deux."
            }
        )


def clean_themes(values) -> str:
    slugs = []
    for value in values or []:
        value = str(value).strip()
        if not value:
            continue
        slug = value if value in THEMES else next(
            (k for k, label in THEMES.items() if normalize_text(label) == normalize_text(value) or normalize_text(value) == k), None
        )
        if slug is None:
            raise ValidationError({"themes": f"Thème inconnu « {value} » : choisissez parmi {', '.join(THEMES)}."})
        slugs.append(slug)
    return pack(slugs)


def level_of(organisation: Organisation | None) -> str:
    if organisation is None:
        return Level.OTHER
    return organisation.kind if organisation.kind in Level.values else Level.OTHER


def territory_of(organisation: Organisation | None) -> list[str]:
    if organisation is None or not organisation.is_collectivite:
        return []
    return [organisation.territory_code] if organisation.territory_code else []


def _apply(debate: Debate, data: dict) -> None:
    """Copy normalised ``data`` onto ``debate`` with validation (French errors)."""
    title = (data.get("title") or "").strip()
    if not title:
        raise ValidationError({"title": "Le titre du débat est obligatoire."})
    opens_on = _as_date(data.get("opens_on"), "opens_on")
    closes_on = _as_date(data.get("closes_on"), "closes_on")
    check_dates(opens_on, closes_on)
    kind = data.get("kind") or Debate.Kind.CONCERTATION
    if kind not in Debate.Kind.values:
        raise ValidationError({"kind": f"Type de débat inconnu « {kind} » : {', '.join(Debate.Kind.values)}."})
    debate.title, debate.summary, debate.kind = title[:300], (data.get("summary") or "").strip(), kind
    debate.opens_on, debate.closes_on = opens_on, closes_on
    debate.themes = clean_themes(data.get("themes") or [])
    debate.url = (data.get("url") or "").strip()[:600]
    debate.results_url = (data.get("results_url") or "").strip()[:600]
    debate.online = bool(data.get("online"))
    if data.get("organiser") is not None:
        debate.organiser = data["organiser"]
    if debate.organiser is not None:
        debate.organiser_name = debate.organiser.name
        debate.level = level_of(debate.organiser)
    else:
        debate.organiser_name = (data.get("organiser_name") or debate.organiser_name or "").strip()[:300]
        debate.level = data.get("level") or Level.OTHER
    codes = data.get("territory_codes") or territory_of(debate.organiser)
    place = resolve_place(data.get("address") or "", data.get("commune_code") or "", data.get("lat"), data.get("lon"))
    debate.address = (data.get("address") or "").strip()[:400]
    debate.commune, debate.lat, debate.lon, debate.address_unresolved = place.commune, place.lat, place.lon, place.unresolved
    if place.commune is not None and place.commune.code not in codes:
        codes = [*codes, place.commune.code]
    debate.territory_codes = pack(codes)


# ---- actions -----------------------------------------------------------------------------------

def is_region_moderator(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or user.is_moderator or user.is_cdo))


@transaction.atomic
def submit_debate(user, organisation: Organisation, data: dict) -> Debate:
    """A collectivité's agent registers a debate; it waits for the région's moderation."""
    if not can_edit_for(user, organisation):
        raise PermissionDenied("Vous ne pouvez pas déclarer de débat au nom de cette organisation.")
    if not organisation.is_collectivite:
        raise PermissionDenied("Seules les collectivités peuvent déclarer un débat public.")
    debate = Debate(organiser=organisation, submitted_by=user)
    _apply(debate, {**data, "organiser": organisation})
    duplicate = find_duplicate(
        url=debate.url, title=debate.title, organiser_name=debate.organiser_name,
        opens_on=debate.opens_on, closes_on=debate.closes_on,
    )
    if duplicate is not None:
        raise ValidationError({"title": f"Ce débat est déjà enregistré (« {duplicate.title} », n° {duplicate.pk}) : même lien ou même titre, organisateur et dates."})
    debate.moderation = Debate.Moderation.APPROVED if is_region_moderator(user) else Debate.Moderation.PENDING
    debate.save()
    for meeting in data.get("meetings") or []:
        _save_meeting(debate, meeting)
    return debate


@transaction.atomic
def update_debate(user, debate: Debate, data: dict) -> Debate:
    if not (debate.organiser and can_edit_for(user, debate.organiser)) and not is_region_moderator(user):
        raise PermissionDenied("Vous ne pouvez pas modifier ce débat.")
    _apply(debate, {**data, "organiser": debate.organiser})
    debate.save()
    return debate


def moderate_debate(user, debate: Debate, *, approve: bool, note: str = "") -> Debate:
    if not is_region_moderator(user):
        raise PermissionDenied("Seuls les modérateurs de la région peuvent modérer les débats.")
    if not approve and not note.strip():
        raise ValidationError({"note": "Indiquez le motif du refus : il sera communiqué à l'agent."})
    debate.moderation = Debate.Moderation.APPROVED if approve else Debate.Moderation.REJECTED
    debate.moderation_note, debate.moderated_by, debate.moderated_at = note.strip(), user, timezone.now()
    debate.save(update_fields=["moderation", "moderation_note", "moderated_by", "moderated_at"])
    return debate


def refresh_statuses() -> int:
    """Daily: statuses follow the dates (upcoming → open → closed)."""
    changed = 0
    for debate in Debate.objects.exclude(archived_at__isnull=False).iterator():
        status = debate.compute_status()
        if status != debate.status:
            Debate.objects.filter(pk=debate.pk).update(status=status)
            changed += 1
    return changed


def _save_meeting(debate: Debate, data: dict) -> Meeting:
    starts_at = data["starts_at"]
    ends_at = data.get("ends_at")
    if ends_at and ends_at < starts_at:
        raise ValidationError({"meetings": f"La réunion du {timezone.localtime(starts_at):%d/%m/%Y %H:%M} se termine avant de commencer."})
    place = resolve_place(data.get("address") or "", data.get("commune_code") or "", data.get("lat"), data.get("lon"))
    meeting = debate.meetings.filter(remote_id=data["remote_id"]).first() if data.get("remote_id") else None
    meeting = meeting or Meeting(debate=debate, remote_id=data.get("remote_id") or "")
    meeting.title = (data.get("title") or "")[:300]
    meeting.starts_at, meeting.ends_at = starts_at, ends_at
    meeting.online = bool(data.get("online"))
    meeting.address = (data.get("address") or "")[:400]
    meeting.commune, meeting.lat, meeting.lon = place.commune, place.lat, place.lon
    meeting.url = (data.get("url") or "")[:600]
    meeting.save()
    return meeting


@transaction.atomic
def upsert_imported_debate(source, remote_id: str, data: dict) -> Debate:
    """What every importer calls: create or update the debate of ``(source, remote_id)``.

    A debate already registered elsewhere (same link, or same title + organiser + dates) is reused,
    not duplicated; its content is then left to its first origin, only meetings are added.
    """
    debate = Debate.objects.filter(origin_source=source, origin_remote_id=remote_id).first()
    owned = debate is not None
    organiser = data.get("organiser") or source.owner
    if debate is None:
        candidate = Debate(organiser=organiser)
        _apply(candidate, {**data, "organiser": organiser})
        debate = find_duplicate(
            url=candidate.url, title=candidate.title, organiser_name=candidate.organiser_name,
            opens_on=candidate.opens_on, closes_on=candidate.closes_on,
        )
        if debate is None:
            debate, owned = candidate, True
            debate.origin_source, debate.origin_remote_id = source, remote_id
            pending = (source.filters or {}).get("moderation") == "pending"
            debate.moderation = Debate.Moderation.PENDING if pending else Debate.Moderation.APPROVED
    if owned:
        _apply(debate, {**data, "organiser": organiser})
        debate.archived_at = None
        debate.save()
    keep = []
    for meeting in data.get("meetings") or []:
        keep.append(_save_meeting(debate, meeting).pk)
    if owned and data.get("meetings") is not None:
        debate.meetings.exclude(pk__in=keep).exclude(remote_id="").delete()
    return debate


def archive_imported_debate(debate: Debate) -> None:
    Debate.objects.filter(pk=debate.pk).update(archived_at=timezone.now())


# ---- subscriptions -----------------------------------------------------------------------------

class SubscriptionError(ValidationError):
    pass


def make_token(subscription: Subscription, action: str) -> str:
    return signing.dumps({"s": subscription.pk, "e": subscription.email, "a": action}, salt=TOKEN_SALT)


def read_token(token: str, action: str, max_age: int | None = None) -> Subscription:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise SubscriptionError("Ce lien a expiré : recommencez l'inscription.")
    except signing.BadSignature:
        raise SubscriptionError("Ce lien n'est pas valide (il a peut-être été tronqué par votre messagerie).")
    if data.get("a") != action:
        raise SubscriptionError("Ce lien n'est pas valide pour cette action.")
    found = Subscription.objects.filter(pk=data.get("s"), email=data.get("e")).first()
    if found is None:
        raise SubscriptionError("Cet abonnement n'existe plus.")
    return found


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _send(to: str, subject: str, body: str, connection=None) -> None:
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to], connection=connection).send()


@transaction.atomic
def subscribe(email: str, *, themes=(), commune_code: str = "", radius_km: int = 10, frequency: str = "weekly") -> Subscription:
    """Register an alert and send the double opt-in e-mail. French errors for every bad input."""
    email = (email or "").strip().lower()
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        raise SubscriptionError({"email": "Adresse électronique invalide : vérifiez-la (exemple : prenom.nom@exemple.fr)."})
    themes_packed = clean_themes(themes)
    commune = None
    if commune_code:
        commune = commune_by_code_or_postal_code(commune_code) or communes().filter(name_search=normalize_text(commune_code)).order_by("-population").first()
        if commune is None:
            raise SubscriptionError({"commune": f"Commune introuvable : « {commune_code} » (nom, code INSEE ou code postal)."})
    if not themes_packed and commune is None:
        raise SubscriptionError({"themes": "Choisissez au moins un thème ou une commune."})
    if not 1 <= int(radius_km) <= 200:
        raise SubscriptionError({"radius_km": "Le rayon doit être compris entre 1 et 200 km."})
    if frequency not in Subscription.Frequency.values:
        raise SubscriptionError({"frequency": "Fréquence inconnue : quotidienne ou hebdomadaire."})
    existing = Subscription.objects.filter(email=email).first()
    if existing is not None and existing.confirmed_at:
        raise SubscriptionError(
            {"email": "Cette adresse est déjà abonnée aux alertes. Pour changer vos critères, utilisez le lien "
             "« se désabonner » d'un courriel reçu, puis abonnez-vous à nouveau."}
        )
    sub = existing or Subscription(email=email)
    sub.themes, sub.commune, sub.radius_km, sub.frequency = themes_packed, commune, int(radius_km), frequency
    sub.save()
    link = _site(f"/debats/alertes/confirmer/{make_token(sub, 'confirm')}")
    _send(
        email,
        "Confirmez votre alerte « débats publics »",
        "Bonjour,\n\nVous (ou quelqu'un utilisant votre adresse) avez demandé à recevoir les débats publics "
        f"du territoire.\nPour confirmer, ouvrez ce lien dans les 7 jours :\n{link}\n\n"
        "Sans confirmation, rien ne vous sera envoyé et l'adresse sera effacée.\n",
    )
    return sub


def confirm_subscription(token: str) -> Subscription:
    sub = read_token(token, "confirm", CONFIRM_MAX_AGE_S)
    if not sub.confirmed_at:
        sub.confirmed_at = timezone.now()
        sub.last_sent_at = timezone.now()
        sub.save(update_fields=["confirmed_at", "last_sent_at", "updated_at"])
    return sub


def unsubscribe(token: str) -> str:
    sub = read_token(token, "unsubscribe")
    email = sub.email
    sub.delete()
    return email


def request_erasure(email: str) -> None:
    """Delete-my-data: e-mail a signed link to whoever owns the address (no disclosure here)."""
    sub = Subscription.objects.filter(email=(email or "").strip().lower()).first()
    if sub is None:
        return
    link = _site(f"/debats/mes-donnees/effacer/{make_token(sub, 'erase')}")
    _send(sub.email, "Effacer vos données d'alerte", f"Pour effacer votre abonnement et votre adresse, ouvrez :\n{link}\n")


def erase_by_token(token: str) -> str:
    sub = read_token(token, "erase", ERASE_MAX_AGE_S)
    email = sub.email
    sub.delete()
    return email


def purge_unconfirmed(days: int = 7) -> int:
    return Subscription.objects.filter(confirmed_at__isnull=True, created_at__lt=timezone.now() - timedelta(days=days)).delete()[0]


# ---- digests -----------------------------------------------------------------------------------

def matching(sub_themes: set[str], centre, radius_km: float, debate_row: dict) -> float | None:
    """Does a new debate match a subscription? Returns the distance (or 0.0 for theme-only), else None."""
    if sub_themes and not (sub_themes & debate_row["themes"]):
        return None
    if centre is None:
        return 0.0
    if debate_row["lat"] is None:
        return None
    d = haversine_km(centre[0], centre[1], debate_row["lat"], debate_row["lon"])
    return d if d <= radius_km else None


GRID_DEG = 0.2


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return int(lat // GRID_DEG), int(lon // GRID_DEG)


def build_digests(frequency: str, now=None, *, limit_subscribers: int | None = None):
    """Yield ``(subscription, [(debate_row, distance)])`` for every confirmed subscriber with news.

    The new debates of the period are loaded once and indexed by theme and by a 0.2° grid, so each
    subscriber only looks at the few debates that can match (100,000 subscribers in seconds).
    """
    import math

    now = now or timezone.now()
    window = timedelta(days=1 if frequency == Subscription.Frequency.DAILY else 7)
    since = now - window
    rows = [
        {
            "id": d["id"], "title": d["title"], "themes": set(filter(None, d["themes"].split("|"))),
            "lat": d["lat"], "lon": d["lon"], "opens_on": d["opens_on"], "closes_on": d["closes_on"],
            "organiser_name": d["organiser_name"], "created_at": d["created_at"],
        }
        for d in Debate.objects.filter(
            moderation=Debate.Moderation.APPROVED, archived_at__isnull=True, created_at__gte=since,
            status__in=[Debate.Status.UPCOMING, Debate.Status.OPEN],
        ).values("id", "title", "themes", "lat", "lon", "opens_on", "closes_on", "organiser_name", "created_at")
    ]
    if not rows:
        return
    by_theme: dict[str, list[int]] = {}
    by_cell: dict[tuple[int, int], list[int]] = {}
    for index, row in enumerate(rows):
        for theme in row["themes"]:
            by_theme.setdefault(theme, []).append(index)
        if row["lat"] is not None:
            by_cell.setdefault(_cell(row["lat"], row["lon"]), []).append(index)
    centres = {c["code"]: (c["lat"], c["lon"]) for c in Commune.objects.filter(lat__isnull=False).values("code", "lat", "lon")}
    subs = Subscription.objects.filter(confirmed_at__isnull=False, frequency=frequency).order_by("pk")
    if limit_subscribers:
        subs = subs[:limit_subscribers]
    for sub in subs.iterator(chunk_size=5000):
        last = sub.last_sent_at or since
        sub_themes = set(filter(None, sub.themes.split("|")))
        centre = centres.get(sub.commune_id) if sub.commune_id else None
        if centre is not None:
            dlat = sub.radius_km / 111.0
            dlon = sub.radius_km / (111.0 * max(math.cos(math.radians(centre[0])), 0.01))
            (a, b), (c, d) = _cell(centre[0] - dlat, centre[1] - dlon), _cell(centre[0] + dlat, centre[1] + dlon)
            candidates = {i for x in range(a, c + 1) for y in range(b, d + 1) for i in by_cell.get((x, y), ())}
        elif sub_themes:
            candidates = {i for t in sub_themes for i in by_theme.get(t, ())}
        else:
            continue
        found = []
        for index in candidates:
            row = rows[index]
            if row["created_at"] <= last:
                continue
            distance = matching(sub_themes, centre, sub.radius_km, row)
            if distance is not None:
                found.append((row, distance))
        if found:
            found.sort(key=lambda x: (x[1], x[0]["title"]))
            yield sub, found


def digest_message(sub: Subscription, found, connection=None) -> EmailMessage:
    lines = [f"Bonjour,\n\n{len(found)} nouveau(x) débat(s) correspondent à votre alerte :\n"]
    for row, distance in found:
        dates = ""
        if row["opens_on"] or row["closes_on"]:
            dates = f" (du {row['opens_on'] or '…'} au {row['closes_on'] or '…'})"
        where = f", à {distance:.1f} km" if sub.commune_id else ""
        link = _site(f"/debats/{row['id']}")
        lines.append(f"- {row['title']} — {row['organiser_name'] or 'organisateur non précisé'}{dates}{where}\n  {link}")
    unsubscribe_link = _site("/debats/alertes/desabonner/" + make_token(sub, "unsubscribe"))
    lines.append(f"\nSe désabonner en un clic : {unsubscribe_link}\n")
    return EmailMessage(
        "Nouveaux débats publics près de chez vous", "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [sub.email],
        connection=connection,
        headers={"List-Unsubscribe": f"<{unsubscribe_link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def send_digests(frequency: str, now=None, *, batch: int = 500) -> int:
    now = now or timezone.now()
    sent = 0
    connection = get_connection()
    pending, ids = [], []
    for sub, found in build_digests(frequency, now):
        pending.append(digest_message(sub, found, connection))
        ids.append(sub.pk)
        if len(pending) >= batch:
            sent += connection.send_messages(pending) or 0
            Subscription.objects.filter(pk__in=ids).update(last_sent_at=now)
            pending, ids = [], []
    if pending:
        sent += connection.send_messages(pending) or 0
        Subscription.objects.filter(pk__in=ids).update(last_sent_at=now)
    return sent
