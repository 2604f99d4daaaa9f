"""Many simultaneous pledges on projects sharing one envelope: the envelope is never overspent.

Runs on PostgreSQL only (real row locks, one connection per thread); SQLite serialises writers.
The test commits real rows (threads cannot see a test transaction), so it creates its own data
outside pytest-django's per-test transaction and deletes it afterwards, leaving the session's
reference territory untouched.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from regio.accounts.models import User
from regio.crowdfunding import ledger, services
from regio.crowdfunding.models import (
    Account,
    BudgetLine,
    Counterpart,
    Entry,
    MatchReservation,
    Pledge,
    Programme,
    Project,
    Transaction,
)
from regio.territory.models import Commune

pytestmark = pytest.mark.postgres_only

BACKERS = 40
PLEDGE_CENTS = 5_000
ENVELOPE_CENTS = 77_700  # far less than the 200 000 c the rules would grant


def _cleanup(emails):
    Entry.objects.all().delete()
    Transaction.objects.all().delete()
    MatchReservation.objects.all().delete()
    Pledge.objects.all().delete()
    BudgetLine.objects.all().delete()
    Counterpart.objects.all().delete()
    Project.objects.all().delete()
    Account.objects.all().delete()
    Programme.objects.all().delete()
    User.objects.filter(email__in=emails).delete()


def test_concurrent_pledges_never_overspend_the_envelope(django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        pytest.skip("test de concurrence réservé à PostgreSQL (verrous de ligne)")
    emails = [f"concurrent{i}@exemple.fr" for i in range(BACKERS)] + ["porteur.concurrent@exemple.fr", "moderation.concurrente@exemple.fr"]
    with django_db_blocker.unblock():
        assert not Pledge.objects.exists(), "la base de test doit être vide de dons"
        try:
            owner = User.objects.create(email=emails[-2], is_active=True)
            moderator = User.objects.create(email=emails[-1], is_active=True, is_moderator=True)
            backers = [User.objects.create(email=e, is_active=True) for e in emails[:BACKERS]]
            now = timezone.now()
            programme = services.create_programme(
                name="Concurrence", slug="concurrence", envelope_cents=ENVELOPE_CENTS, density_classes=[5, 6, 7],
                starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1),
            )
            projects = []
            for i, code in enumerate(["59663", "59481", "59012", "59241"]):
                project = services.create_project(
                    owner, title=f"Projet concurrent {i}", category="agriculture", commune=Commune.objects.get(code=code),
                    goal_cents=1_000_000, deadline=now + timedelta(days=5), description="x", programme=programme,
                    budget_lines=[("Tout", 10_000_000)],
                )
                services.submit_project(owner, project)
                services.moderate_project(moderator, project, approve=True)
                projects.append(project)

            barrier = threading.Barrier(BACKERS)
            errors: list[BaseException] = []

            def backer_thread(i):
                try:
                    barrier.wait()
                    pledge, _ = services.create_pledge(backers[i], projects[i % len(projects)], PLEDGE_CENTS, idempotency_key=f"conc-{i}")
                    services.confirm_pledge(pledge.pk)
                    # a retry of the same request from the same backer changes nothing
                    again, created = services.create_pledge(backers[i], projects[i % len(projects)], PLEDGE_CENTS, idempotency_key=f"conc-{i}")
                    assert not created and again.pk == pledge.pk
                    services.confirm_pledge(pledge.pk)
                except BaseException as exc:  # reported to the main thread
                    errors.append(exc)
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=backer_thread, args=(i,)) for i in range(BACKERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []

            programme.refresh_from_db()
            reserved = sum(MatchReservation.objects.filter(programme=programme).values_list("amount_cents", flat=True))
            assert programme.committed_cents == reserved == ENVELOPE_CENTS  # exhausted, never exceeded
            assert Pledge.objects.filter(status="authorised").count() == BACKERS
            assert Transaction.objects.filter(kind="pledge_authorised").count() == BACKERS
            report = ledger.check()
            assert report.ok, report.problems
        finally:
            _cleanup(emails)
            connections.close_all()
