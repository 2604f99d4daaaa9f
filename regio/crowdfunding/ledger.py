"""Double-entry ledger: every money movement is one balanced :class:`Transaction`.

Accounts (balance = debits − credits):

- ``region:budget``              the région's budget, debited when an envelope is allotted
- ``region:treasury``            the région's treasury, credited when a match is paid out
- ``programme:<id>:available``   the part of a programme's envelope not yet committed
- ``programme:<id>:reserved``    match reserved for open campaigns
- ``cash:<provider>``            money received from backers, held at the bank / card provider
- ``project:<id>:held``          confirmed pledges held until the campaign ends
- ``project:<id>:payable``       captured pledges + released match owed to the project owner

Each transaction has a unique ``key`` (e.g. ``pledge:42:authorised``): posting the same movement
twice returns the first transaction, so a retry never counts money twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Sum

from .models import Account, Entry, MatchReservation, Payout, Pledge, Programme, Project, Transaction

ACCOUNT_NAMES = {
    "region:budget": ("Budget de la Région", Account.Kind.EQUITY),
    "region:treasury": ("Trésorerie de la Région", Account.Kind.ASSET),
}


def account(code: str) -> Account:
    found = Account.objects.filter(code=code).first()
    if found:
        return found
    if code in ACCOUNT_NAMES:
        name, kind = ACCOUNT_NAMES[code]
    elif code.startswith("cash:"):
        name, kind = f"Fonds reçus ({code[5:]})", Account.Kind.ASSET
    elif code.startswith("programme:"):
        name, kind = f"Enveloppe {code}", Account.Kind.LIABILITY
    else:
        name, kind = f"Projet {code}", Account.Kind.LIABILITY
    try:
        with transaction.atomic():
            return Account.objects.create(code=code, name=name, kind=kind)
    except IntegrityError:
        return Account.objects.get(code=code)


def post(key: str, kind: str, lines: list[tuple[str, int, int]], memo: str = "", **links) -> Transaction:
    """Record one balanced movement; ``lines`` are ``(account_code, debit_cents, credit_cents)``."""
    lines = [(code, debit, credit) for code, debit, credit in lines if debit or credit]
    debits = sum(d for _, d, _ in lines)
    credits = sum(c for _, _, c in lines)
    if debits != credits or debits <= 0:
        raise ValueError(f"Écriture déséquilibrée {key} : débit {debits} ≠ crédit {credits}")
    existing = Transaction.objects.filter(key=key).first()
    if existing:
        return existing
    with transaction.atomic():
        tx = Transaction.objects.create(key=key, kind=kind, memo=memo[:300], **links)
        Entry.objects.bulk_create(
            [Entry(transaction=tx, account=account(code), debit_cents=d, credit_cents=c) for code, d, c in lines]
        )
    return tx


# ---- the movements -----------------------------------------------------------------------------


def envelope_allotted(programme: Programme, amount_cents: int, key_suffix: str = "initial") -> Transaction:
    return post(
        f"programme:{programme.pk}:envelope:{key_suffix}",
        Transaction.Kind.ENVELOPE_ALLOTTED,
        [("region:budget", amount_cents, 0), (f"programme:{programme.pk}:available", 0, amount_cents)],
        memo=f"Enveloppe du programme {programme.name}",
        programme=programme,
    )


def pledge_authorised(pledge: Pledge) -> Transaction:
    return post(
        f"pledge:{pledge.pk}:authorised",
        Transaction.Kind.PLEDGE_AUTHORISED,
        [(f"cash:{pledge.provider}", pledge.amount_cents, 0), (f"project:{pledge.project_id}:held", 0, pledge.amount_cents)],
        memo=f"Don {pledge.payment_reference}",
        project_id=pledge.project_id,
        pledge=pledge,
    )


def pledge_captured(pledge: Pledge) -> Transaction:
    return post(
        f"pledge:{pledge.pk}:captured",
        Transaction.Kind.PLEDGE_CAPTURED,
        [(f"project:{pledge.project_id}:held", pledge.amount_cents, 0), (f"project:{pledge.project_id}:payable", 0, pledge.amount_cents)],
        memo=f"Don {pledge.payment_reference} encaissé",
        project_id=pledge.project_id,
        pledge=pledge,
    )


def pledge_refunded(pledge: Pledge) -> Transaction:
    return post(
        f"pledge:{pledge.pk}:refunded",
        Transaction.Kind.PLEDGE_REFUNDED,
        [(f"project:{pledge.project_id}:held", pledge.amount_cents, 0), (f"cash:{pledge.provider}", 0, pledge.amount_cents)],
        memo=f"Don {pledge.payment_reference} remboursé",
        project_id=pledge.project_id,
        pledge=pledge,
    )


def match_reserved(r: MatchReservation) -> Transaction:
    return post(
        f"match:{r.pk}:reserved",
        Transaction.Kind.MATCH_RESERVED,
        [(f"programme:{r.programme_id}:available", r.amount_cents, 0), (f"programme:{r.programme_id}:reserved", 0, r.amount_cents)],
        memo=f"Abondement réservé pour le projet {r.project_id}",
        programme_id=r.programme_id,
        project_id=r.project_id,
        pledge_id=r.pledge_id,
        reservation=r,
    )


def match_released(r: MatchReservation) -> Transaction:
    return post(
        f"match:{r.pk}:released",
        Transaction.Kind.MATCH_RELEASED,
        [(f"programme:{r.programme_id}:reserved", r.amount_cents, 0), (f"project:{r.project_id}:payable", 0, r.amount_cents)],
        memo=f"Abondement versé au projet {r.project_id}",
        programme_id=r.programme_id,
        project_id=r.project_id,
        reservation=r,
    )


def match_cancelled(r: MatchReservation) -> Transaction:
    return post(
        f"match:{r.pk}:cancelled",
        Transaction.Kind.MATCH_CANCELLED,
        [(f"programme:{r.programme_id}:reserved", r.amount_cents, 0), (f"programme:{r.programme_id}:available", 0, r.amount_cents)],
        memo=f"Abondement annulé pour le projet {r.project_id}",
        programme_id=r.programme_id,
        project_id=r.project_id,
        reservation=r,
    )


def payout(project: Project, by_provider: dict[str, int], match_cents: int) -> Transaction:
    total = sum(by_provider.values()) + match_cents
    lines = [(f"project:{project.pk}:payable", total, 0)]
    lines += [(f"cash:{provider}", 0, cents) for provider, cents in sorted(by_provider.items())]
    lines.append(("region:treasury", 0, match_cents))
    return post(f"project:{project.pk}:payout", Transaction.Kind.PAYOUT, lines, memo=f"Versement au porteur de {project.title}", project=project)


# ---- verification ------------------------------------------------------------------------------


@dataclass
class CheckReport:
    transactions: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    imbalance_cents: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def balances() -> dict[str, int]:
    rows = Entry.objects.values("account__code").annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    return {r["account__code"]: (r["d"] or 0) - (r["c"] or 0) for r in rows}


def check() -> CheckReport:
    """Every transaction balances; every account reconciles with pledges, matches and payouts."""
    report = CheckReport()
    per_tx: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for tx_id, d, c in Entry.objects.values_list("transaction_id", "debit_cents", "credit_cents").iterator():
        row = per_tx[tx_id]
        row[0] += d
        row[1] += c
        row[2] += 1
        report.entries += 1
    report.transactions = Transaction.objects.count()
    for tx_id, (d, c, n) in per_tx.items():
        if d != c or n < 2:
            report.imbalance_cents += abs(d - c)
            report.problems.append(f"Transaction {tx_id} déséquilibrée : débit {d} c, crédit {c} c, {n} écriture(s).")
    empty = Transaction.objects.exclude(pk__in=list(per_tx)).count() if report.transactions != len(per_tx) else 0
    if empty:
        report.problems.append(f"{empty} transaction(s) sans écriture.")

    bal = balances()
    expected: dict[str, int] = defaultdict(int)
    paid_projects = set(Payout.objects.values_list("project_id", flat=True))
    for project_id, provider, status, amount in Pledge.objects.values_list("project_id", "provider", "status", "amount_cents"):
        if status == Pledge.Status.AUTHORISED:
            expected[f"project:{project_id}:held"] -= amount
            expected[f"cash:{provider}"] += amount
        elif status == Pledge.Status.CAPTURED and project_id not in paid_projects:
            expected[f"project:{project_id}:payable"] -= amount
            expected[f"cash:{provider}"] += amount
    for programme_id, project_id, status, amount in MatchReservation.objects.values_list(
        "programme_id", "project_id", "status", "amount_cents"
    ):
        if status == MatchReservation.Status.RESERVED:
            expected[f"programme:{programme_id}:reserved"] -= amount
        elif status == MatchReservation.Status.RELEASED:
            if project_id in paid_projects:
                expected["region:treasury"] -= amount
            else:
                expected[f"project:{project_id}:payable"] -= amount
    for programme in Programme.objects.all():
        committed = (
            MatchReservation.objects.filter(
                programme=programme, status__in=[MatchReservation.Status.RESERVED, MatchReservation.Status.RELEASED]
            ).aggregate(s=Sum("amount_cents"))["s"]
            or 0
        )
        if committed != programme.committed_cents:
            report.problems.append(
                f"Programme {programme.slug} : montant engagé {programme.committed_cents} c ≠ réservations {committed} c."
            )
        if committed > programme.envelope_cents:
            report.problems.append(f"Programme {programme.slug} : enveloppe dépassée de {committed - programme.envelope_cents} c.")
        allotted = (
            Entry.objects.filter(
                transaction__programme=programme,
                transaction__kind=Transaction.Kind.ENVELOPE_ALLOTTED,
                account__code=f"programme:{programme.pk}:available",
            ).aggregate(s=Sum("credit_cents"))["s"]
            or 0
        )
        if allotted != programme.envelope_cents:
            report.problems.append(
                f"Programme {programme.slug} : enveloppe {programme.envelope_cents} c, allouée au grand livre {allotted} c."
            )
        expected[f"programme:{programme.pk}:available"] -= allotted - committed
        expected["region:budget"] += allotted
    for code in set(expected) | set(bal):
        if bal.get(code, 0) != expected.get(code, 0):
            diff = bal.get(code, 0) - expected.get(code, 0)
            report.imbalance_cents += abs(diff)
            report.problems.append(
                f"Compte {code} : solde {bal.get(code, 0)} c, attendu {expected.get(code, 0)} c d'après les dons et abondements."
            )
    return report
