"""Settings of the crowdfunding app: ``settings.CROWDFUNDING_<NAME>``, else ``REGIO_CROWDFUNDING_<NAME>``."""

import os

from django.conf import settings

DEFAULTS = {
    # Card provider (Stripe Checkout-compatible API).
    "CARD_API_BASE": "https://api.stripe.com",
    "CARD_SECRET_KEY": "",
    "CARD_WEBHOOK_SECRET": "",
    "CARD_WEBHOOK_TOLERANCE_S": "300",
    # Escrow bank account receiving the backers' transfers.
    "BANK_IBAN": "FR76 3000 1000 6400 0000 0000 000",
    "BANK_BIC": "BDFEFRPPCCT",
    "BANK_HOLDER": "Région — compte de cantonnement du financement participatif",
}


def conf(name: str) -> str:
    value = getattr(settings, f"CROWDFUNDING_{name}", None)
    if value is None:
        value = os.environ.get(f"REGIO_CROWDFUNDING_{name}", DEFAULTS[name])
    return value
