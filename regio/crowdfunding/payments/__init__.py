"""Payment providers: bank transfer (reconciled from statements) and card (Stripe Checkout style)."""

from .base import PaymentError, PaymentProvider


def get_provider(code: str) -> PaymentProvider:
    from .bank import BankTransferProvider
    from .card import CardProvider

    providers = {BankTransferProvider.code: BankTransferProvider, CardProvider.code: CardProvider}
    if code not in providers:
        raise PaymentError(f"Moyen de paiement inconnu : {code}.")
    return providers[code]()


__all__ = ["PaymentError", "PaymentProvider", "get_provider"]
