"""Card payments through a Stripe Checkout-compatible API, over :func:`regio.core.http.fetch`.

- ``start``: ``POST /v1/checkout/sessions`` (form-encoded, ``Authorization: Bearer <secret key>``,
  ``Idempotency-Key`` = the pledge's key) with ``payment_intent_data[capture_method]=manual``:
  the card is only authorised until the campaign ends (all-or-nothing).
- webhook ``checkout.session.completed``: signature checked like Stripe's ``Stripe-Signature``
  header (``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, 5-minute tolerance);
  each event id is processed once, replays are ignored.
- ``capture``: ``POST /v1/payment_intents/<id>/capture``; ``refund`` of an uncaptured
  authorisation: ``POST /v1/payment_intents/<id>/cancel``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.db import IntegrityError, transaction

from regio.core.http import FetchError, fetch

from ..conf import conf
from ..models import Pledge, WebhookEvent
from .base import PaymentError, PaymentProvider


class SignatureError(PaymentError):
    pass


class CardProvider(PaymentProvider):
    code = Pledge.Provider.CARD
    label = "Carte bancaire"

    def _post(self, path: str, data: dict, idempotency_key: str) -> dict:
        secret = conf("CARD_SECRET_KEY")
        if not secret:
            raise PaymentError("Le paiement par carte n'est pas configuré (clé secrète absente).")
        try:
            result = fetch(
                conf("CARD_API_BASE").rstrip("/") + path,
                method="POST",
                data=data,
                headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": idempotency_key},
                retries=2,
            )
        except FetchError as exc:
            raise PaymentError(f"Le prestataire de paiement par carte n'a pas répondu correctement : {exc}") from exc
        return result.json()

    def start(self, pledge, *, return_url: str = "") -> dict:
        if pledge.provider_session_id and pledge.checkout_url:  # a retry: same checkout session
            return {"provider": self.code, "checkout_url": pledge.checkout_url, "session_id": pledge.provider_session_id, "reference": pledge.payment_reference}
        project = pledge.project
        session = self._post(
            "/v1/checkout/sessions",
            {
                "mode": "payment",
                "success_url": f"{return_url}?paiement=ok",
                "cancel_url": f"{return_url}?paiement=annule",
                "client_reference_id": pledge.payment_reference,
                "metadata[pledge_reference]": pledge.payment_reference,
                "line_items[0][quantity]": "1",
                "line_items[0][price_data][currency]": "eur",
                "line_items[0][price_data][unit_amount]": str(pledge.amount_cents),
                "line_items[0][price_data][product_data][name]": f"Don au projet « {project.title} »"[:250],
                "payment_intent_data[capture_method]": "manual",
                "locale": "fr",
            },
            idempotency_key=f"checkout-{pledge.idempotency_key}",
        )
        if session.get("object") != "checkout.session" or not session.get("id") or not session.get("url"):
            raise PaymentError("Réponse inattendue du prestataire de paiement par carte (session de paiement).")
        if session.get("amount_total") not in (None, pledge.amount_cents):
            raise PaymentError("Le prestataire a créé une session d'un autre montant : paiement interrompu.")
        Pledge.objects.filter(pk=pledge.pk).update(provider_session_id=session["id"], checkout_url=session["url"])
        pledge.provider_session_id, pledge.checkout_url = session["id"], session["url"]
        return {"provider": self.code, "checkout_url": session["url"], "session_id": session["id"], "reference": pledge.payment_reference}

    def capture(self, pledge) -> None:
        if not pledge.provider_payment_id:
            raise PaymentError("Autorisation de paiement introuvable pour ce don.")
        intent = self._post(f"/v1/payment_intents/{pledge.provider_payment_id}/capture", {}, f"capture-{pledge.payment_reference}")
        if intent.get("status") != "succeeded":
            raise PaymentError(f"Encaissement refusé par le prestataire (statut {intent.get('status')}).")

    def refund(self, pledge) -> None:
        if not pledge.provider_payment_id:
            raise PaymentError("Autorisation de paiement introuvable pour ce don.")
        intent = self._post(f"/v1/payment_intents/{pledge.provider_payment_id}/cancel", {}, f"cancel-{pledge.payment_reference}")
        if intent.get("status") != "canceled":
            raise PaymentError(f"Annulation refusée par le prestataire (statut {intent.get('status')}).")


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature``-style header for ``payload`` (used by tests and local tools)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(payload: bytes, header: str, *, now: float | None = None) -> None:
    secret = conf("CARD_WEBHOOK_SECRET")
    if not secret:
        raise SignatureError("Notifications de paiement par carte non configurées (secret absent).")
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        raise SignatureError("Signature de la notification absente ou illisible.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise SignatureError("Signature de la notification invalide.")
    tolerance = int(conf("CARD_WEBHOOK_TOLERANCE_S"))
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        raise SignatureError("Notification trop ancienne (horodatage hors de la tolérance) : rejouée ?")


def handle_webhook(payload: bytes, signature_header: str) -> str:
    """Process one provider callback; return what was done (French). Replays change nothing."""
    from ..services import CrowdfundingError, confirm_pledge

    verify_signature(payload, signature_header)
    try:
        event = json.loads(payload)
        event_id, event_type = event["id"], event["type"]
        obj = event["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise PaymentError("Notification illisible : JSON d'événement attendu.")
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(provider=CardProvider.code, event_id=str(event_id)[:120], event_type=str(event_type)[:80])
            outcome = _apply(event_type, obj, confirm_pledge, CrowdfundingError)
            record.outcome = outcome[:300]
            record.save(update_fields=["outcome"])
    except IntegrityError:
        return f"Notification {event_id} déjà traitée : ignorée."
    return outcome


def _apply(event_type, obj, confirm_pledge, CrowdfundingError) -> str:
    if event_type == "checkout.session.completed":
        reference = (obj.get("metadata") or {}).get("pledge_reference") or obj.get("client_reference_id") or ""
        pledge = Pledge.objects.filter(payment_reference=reference, provider=Pledge.Provider.CARD).first()
        if pledge is None or (pledge.provider_session_id and pledge.provider_session_id != obj.get("id")):
            raise PaymentError(f"Session de paiement {obj.get('id')} inconnue.")
        if obj.get("amount_total") != pledge.amount_cents:
            raise PaymentError(f"Montant {obj.get('amount_total')} différent du don {pledge.payment_reference}.")
        if not obj.get("payment_intent"):
            raise PaymentError("Session de paiement sans autorisation de paiement.")
        try:
            confirm_pledge(pledge.pk, provider_payment_id=obj["payment_intent"])
        except CrowdfundingError as exc:
            # The campaign closed (or the pledge was cancelled) meanwhile: release the card's
            # authorisation so that no money stays blocked for nothing.
            pledge.provider_payment_id = obj["payment_intent"]
            try:
                CardProvider().refund(pledge)
            except PaymentError as cancel_error:
                return f"Don {pledge.payment_reference} non confirmé : {exc} Autorisation à annuler à la main : {cancel_error}"
            return f"Don {pledge.payment_reference} non confirmé : {exc} Autorisation de paiement annulée."
        return f"Don {pledge.payment_reference} confirmé."
    if event_type == "checkout.session.expired":
        pledge = Pledge.objects.filter(provider_session_id=obj.get("id"), status=Pledge.Status.PENDING).first()
        if pledge:
            Pledge.objects.filter(pk=pledge.pk, status=Pledge.Status.PENDING).update(status=Pledge.Status.CANCELLED)
            return f"Session expirée : don {pledge.payment_reference} annulé."
        return "Session expirée sans don en attente."
    return f"Événement {event_type} sans effet."
