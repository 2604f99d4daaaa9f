"""The interface every payment provider implements."""

from __future__ import annotations

from typing import Any


class PaymentError(Exception):
    """A provider refused or failed; ``str(exc)`` is in French."""


class PaymentProvider:
    code = ""
    label = ""

    def start(self, pledge, *, return_url: str = "") -> dict[str, Any]:
        """What the backer must do to pay (bank details and reference, or a checkout URL)."""
        raise NotImplementedError

    def capture(self, pledge) -> None:
        """The campaign succeeded: collect the authorised payment."""
        raise NotImplementedError

    def refund(self, pledge) -> None:
        """The campaign failed: give the money back (or release the authorisation)."""
        raise NotImplementedError
