"""Card payments through the Stripe Checkout-style adapter, on recorded HTTP exchanges.

The local server below answers like Stripe's API: its JSON bodies are written field by field
from Stripe's public API reference (Checkout Session object, PaymentIntent object, error object,
Event object) — they are not copied from a real Stripe account. Requests go through
``regio.core.http.fetch`` to loopback, hence the ``allow_private_http`` fixture.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from regio.crowdfunding import ledger, services
from regio.crowdfunding.models import Pledge, Project, WebhookEvent
from regio.crowdfunding.payments import PaymentError, get_provider
from regio.crowdfunding.payments.card import SignatureError, handle_webhook, sign

from .conftest import make_programme, make_project

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_regio_fixture"
WEBHOOK_SECRET = "whsec_regio_fixture"


class StripeLike(http.server.BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_fixture")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
        if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return self._reply(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
        if self.path == "/v1/checkout/sessions":
            return self._reply(
                200,
                {
                    "id": "cs_test_a1regio",
                    "object": "checkout.session",
                    "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                    "currency": form["line_items[0][price_data][currency]"],
                    "client_reference_id": form["client_reference_id"],
                    "metadata": {"pledge_reference": form["metadata[pledge_reference]"]},
                    "mode": "payment",
                    "payment_intent": None,
                    "payment_status": "unpaid",
                    "status": "open",
                    "success_url": form["success_url"],
                    "cancel_url": form["cancel_url"],
                    "url": "https://checkout.stripe.com/c/pay/cs_test_a1regio",
                    "livemode": False,
                },
            )
        if self.path.startswith("/v1/payment_intents/") and self.path.endswith(("/capture", "/cancel")):
            intent_id = self.path.split("/")[3]
            status = "succeeded" if self.path.endswith("/capture") else "canceled"
            return self._reply(200, {"id": intent_id, "object": "payment_intent", "amount": 4000, "currency": "eur", "status": status, "capture_method": "manual"})
        return self._reply(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})


@pytest.fixture
def stripe_like(settings, allow_private_http):
    StripeLike.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StripeLike)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.CROWDFUNDING_CARD_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.CROWDFUNDING_CARD_SECRET_KEY = SECRET_KEY
    settings.CROWDFUNDING_CARD_WEBHOOK_SECRET = WEBHOOK_SECRET
    yield StripeLike.requests
    server.shutdown()


def completed_event(pledge, event_id="evt_1regio", intent="pi_3regio"):
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": pledge.provider_session_id,
                    "object": "checkout.session",
                    "amount_total": pledge.amount_cents,
                    "currency": "eur",
                    "client_reference_id": pledge.payment_reference,
                    "metadata": {"pledge_reference": pledge.payment_reference},
                    "payment_intent": intent,
                    "payment_status": "unpaid",
                    "status": "complete",
                }
            },
        }
    ).encode()


@pytest.fixture
def card_pledge(stripe_like, owner, moderator, backers):
    project = make_project(owner, moderator, make_programme(), goal_cents=4_000, budget_lines=[("Travaux", 100_000)])
    pledge, _ = services.create_pledge(backers[0], project, 4_000, idempotency_key="carte-1", provider="card")
    return pledge


def test_checkout_session_then_signed_webhook_then_capture(card_pledge, stripe_like):
    info = get_provider("card").start(card_pledge, return_url="https://regio.example/financement-participatif/projets/x")
    assert info["checkout_url"] == "https://checkout.stripe.com/c/pay/cs_test_a1regio"
    sent = stripe_like[0]
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["headers"]["Idempotency-Key"] == "checkout-carte-1"
    assert sent["form"]["payment_intent_data[capture_method]"] == "manual"
    assert sent["form"]["line_items[0][price_data][unit_amount]"] == "4000"
    # a retry (double click) reuses the session without a second call
    get_provider("card").start(card_pledge)
    assert len(stripe_like) == 1

    body = completed_event(card_pledge)
    assert handle_webhook(body, sign(body, WEBHOOK_SECRET, int(time.time()))) == f"Don {card_pledge.payment_reference} confirmé."
    card_pledge.refresh_from_db()
    assert card_pledge.status == Pledge.Status.AUTHORISED and card_pledge.provider_payment_id == "pi_3regio"

    Project.objects.filter(pk=card_pledge.project_id).update(deadline=timezone.now() - timedelta(minutes=1))
    report = services.close_campaign(card_pledge.project)
    assert report.state == "funded" and report.settled == 1
    assert stripe_like[-1]["path"] == "/v1/payment_intents/pi_3regio/capture"
    card_pledge.refresh_from_db()
    assert card_pledge.status == Pledge.Status.CAPTURED
    assert ledger.check().ok


def test_replayed_callback_is_ignored(card_pledge, stripe_like):
    get_provider("card").start(card_pledge)
    body = completed_event(card_pledge)
    header = sign(body, WEBHOOK_SECRET, int(time.time()))
    handle_webhook(body, header)
    assert handle_webhook(body, header) == "Notification evt_1regio déjà traitée : ignorée."
    # the same payment notified again under another event id changes nothing either
    other = completed_event(card_pledge, event_id="evt_2regio")
    handle_webhook(other, sign(other, WEBHOOK_SECRET, int(time.time())))
    assert card_pledge.transactions.filter(kind="pledge_authorised").count() == 1
    assert WebhookEvent.objects.count() == 2
    assert ledger.check().ok


def test_bad_or_old_signature_is_rejected(card_pledge):
    get_provider("card").start(card_pledge)
    body = completed_event(card_pledge)
    with pytest.raises(SignatureError, match="invalide"):
        handle_webhook(body, sign(body, "whsec_autre", int(time.time())))
    with pytest.raises(SignatureError, match="trop ancienne"):
        handle_webhook(body, sign(body, WEBHOOK_SECRET, int(time.time()) - 3600))
    with pytest.raises(SignatureError, match="absente"):
        handle_webhook(body, "")
    card_pledge.refresh_from_db()
    assert card_pledge.status == Pledge.Status.PENDING


def test_webhook_with_another_amount_is_refused(card_pledge):
    get_provider("card").start(card_pledge)
    data = json.loads(completed_event(card_pledge))
    data["data"]["object"]["amount_total"] = 1
    body = json.dumps(data).encode()
    with pytest.raises(PaymentError, match="Montant"):
        handle_webhook(body, sign(body, WEBHOOK_SECRET, int(time.time())))
    assert not WebhookEvent.objects.exists()  # refused, so a corrected retry is still processed


def test_failed_campaign_cancels_the_authorisation(card_pledge, stripe_like):
    project = card_pledge.project
    Project.objects.filter(pk=project.pk).update(goal_cents=1_000_000)
    get_provider("card").start(card_pledge)
    body = completed_event(card_pledge)
    handle_webhook(body, sign(body, WEBHOOK_SECRET, int(time.time())))
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    report = services.close_campaign(project)
    assert report.state == "failed"
    assert stripe_like[-1]["path"] == "/v1/payment_intents/pi_3regio/cancel"
    card_pledge.refresh_from_db()
    assert card_pledge.status == Pledge.Status.REFUNDED
    assert ledger.check().ok


def test_wrong_secret_key_gives_a_french_error(card_pledge, settings):
    settings.CROWDFUNDING_CARD_SECRET_KEY = "sk_test_mauvaise"
    with pytest.raises(PaymentError, match="n'a pas répondu correctement"):
        get_provider("card").start(card_pledge)


def test_webhook_endpoint(card_pledge, client):
    get_provider("card").start(card_pledge)
    body = completed_event(card_pledge)
    header = sign(body, WEBHOOK_SECRET, int(time.time()))
    url = "/api/1/crowdfunding/webhooks/card"
    response = client.post(url, body, content_type="application/json", headers={"Stripe-Signature": header})
    assert response.status_code == 200 and "confirmé" in response.json()["detail"]
    replay = client.post(url, body, content_type="application/json", headers={"Stripe-Signature": header})
    assert replay.json()["detail"].endswith("déjà traitée : ignorée.")
    forged = client.post(url, body, content_type="application/json", headers={"Stripe-Signature": "t=1,v1=00"})
    assert forged.status_code == 400 and forged["Content-Type"] == "application/problem+json"


def test_payment_arriving_after_close_releases_the_authorisation(card_pledge, stripe_like):
    get_provider("card").start(card_pledge)
    Project.objects.filter(pk=card_pledge.project_id).update(deadline=timezone.now() - timedelta(minutes=1))
    services.close_campaign(card_pledge.project)  # the pending card pledge is cancelled
    body = completed_event(card_pledge)
    outcome = handle_webhook(body, sign(body, WEBHOOK_SECRET, int(time.time())))
    assert outcome.endswith("Autorisation de paiement annulée.")
    assert stripe_like[-1]["path"] == "/v1/payment_intents/pi_3regio/cancel"
    card_pledge.refresh_from_db()
    assert card_pledge.status == Pledge.Status.CANCELLED
    assert ledger.check().ok
