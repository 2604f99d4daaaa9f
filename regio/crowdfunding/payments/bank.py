"""Bank transfer: each pledge gets a payment reference; an agent uploads the bank statement (CSV)
and every credit line carrying a known reference and the promised amount confirms its pledge.
Lines that match nothing are queued with a French reason; a line seen before is never counted again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from ..conf import conf
from ..importers.bank_statement import StatementError, parse_statement
from ..models import Pledge, StatementImport, StatementLine
from .base import PaymentProvider


class BankTransferProvider(PaymentProvider):
    code = Pledge.Provider.BANK_TRANSFER
    label = "Virement bancaire"

    def start(self, pledge, *, return_url: str = "") -> dict:
        from ..services import euros

        return {
            "provider": self.code,
            "iban": conf("BANK_IBAN"),
            "bic": conf("BANK_BIC"),
            "holder": conf("BANK_HOLDER"),
            "reference": pledge.payment_reference,
            "amount_cents": pledge.amount_cents,
            "instructions": (
                f"Faites un virement de {euros(pledge.amount_cents)} en indiquant la référence "
                f"{pledge.payment_reference} dans le libellé : sans elle, votre don ne peut pas être reconnu."
            ),
        }

    def capture(self, pledge) -> None:
        # The money already sits on the escrow account: capturing is a ledger movement only.
        return None

    def refund(self, pledge) -> None:
        # The agent sends the transfer back from the escrow account (listed on the refunds page).
        return None


@dataclass
class ImportResult:
    statement: StatementImport
    matched: list[StatementLine] = field(default_factory=list)
    queued: list[StatementLine] = field(default_factory=list)
    replayed: int = 0


def _fingerprint(row, occurrence: int) -> str:
    key = f"{row.booked_on}|{' '.join(row.label.upper().split())}|{row.amount_cents}|{row.raw if row.error else ''}|{occurrence}"
    return hashlib.sha256(key.encode()).hexdigest()


def _reason_for(row) -> tuple[Pledge | None, str]:
    from ..services import euros

    if row.error:
        return None, f"{row.error} Vérifiez la ligne dans le relevé."
    if row.amount_cents <= 0:
        return None, "Opération au débit ou nulle : ce n'est pas un don reçu."
    reference = row.reference
    if not reference:
        return None, "Aucune référence de don (RGCF…) dans le libellé : à rapprocher à la main."
    pledge = Pledge.objects.filter(payment_reference=reference).first()
    if pledge is None:
        return None, f"Référence {reference} inconnue : aucun don ne porte cette référence."
    if pledge.provider != Pledge.Provider.BANK_TRANSFER:
        return pledge, f"Le don {reference} devait être payé par carte : virement à rembourser au donateur."
    if row.amount_cents != pledge.amount_cents:
        return pledge, (
            f"Montant reçu {euros(row.amount_cents)} différent du montant promis {euros(pledge.amount_cents)} "
            f"pour le don {reference}."
        )
    if pledge.is_confirmed or pledge.status == Pledge.Status.REFUNDED:
        return pledge, f"Le don {reference} est déjà payé : ce second virement est à rembourser au donateur."
    if pledge.status == Pledge.Status.CANCELLED:
        return pledge, f"Le don {reference} a été annulé : ce virement est à rembourser au donateur."
    return pledge, ""


def import_statement(user, filename: str, data: bytes) -> ImportResult:
    """Reconcile a bank statement. Raise :class:`StatementError` (French) if the file is unreadable."""
    from ..services import CrowdfundingError, confirm_pledge

    parsed = parse_statement(data)
    statement = StatementImport.objects.create(uploaded_by=user, filename=filename[:255], encoding=parsed.encoding)
    result = ImportResult(statement)
    seen: Counter = Counter()
    for row in parsed.rows:
        ident = (row.booked_on, " ".join(row.label.upper().split()), row.amount_cents, row.raw if row.error else "")
        seen[ident] += 1
        fingerprint = _fingerprint(row, seen[ident])
        try:
            with transaction.atomic():
                pledge, reason = _reason_for(row)
                line = StatementLine.objects.create(
                    statement=statement,
                    fingerprint=fingerprint,
                    line_number=row.line_number,
                    booked_on=row.booked_on,
                    label=row.label[:500],
                    amount_cents=row.amount_cents or 0,
                    status=StatementLine.Status.QUEUED,
                    reason=reason,
                    pledge=pledge,
                )
                if not reason:
                    try:
                        confirm_pledge(pledge.pk)
                    except CrowdfundingError as exc:
                        line.reason = str(exc)
                    else:
                        line.status = StatementLine.Status.MATCHED
                    line.save(update_fields=["status", "reason"])
        except IntegrityError:
            result.replayed += 1
            continue
        (result.matched if line.status == StatementLine.Status.MATCHED else result.queued).append(line)
    statement.lines_total = len(parsed.rows)
    statement.lines_matched = len(result.matched)
    statement.lines_queued = len(result.queued)
    statement.lines_replayed = result.replayed
    statement.save()
    return result


def resolve_line(user, line: StatementLine, note: str) -> StatementLine:
    """An agent dealt with a queued line by hand (refund sent, backer contacted…)."""
    from ..services import CrowdfundingError, NotAllowed

    if not (user and user.is_authenticated and user.is_platform_staff):
        raise NotAllowed("Seuls les agents de la Région traitent les lignes du relevé.")
    if line.status != StatementLine.Status.QUEUED:
        raise CrowdfundingError("Cette ligne n'est pas en attente.")
    if not note.strip():
        raise CrowdfundingError("Indiquez ce qui a été fait pour cette ligne.")
    line.status = StatementLine.Status.RESOLVED
    line.reason = f"{line.reason} — Traitée : {note.strip()}"[:300]
    line.save(update_fields=["status", "reason", "updated_at"])
    return line


__all__ = ["BankTransferProvider", "StatementError", "import_statement", "resolve_line"]
