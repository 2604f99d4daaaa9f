from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from regio.accounts.models import User
from regio.crowdfunding import services
from regio.crowdfunding.models import Programme
from regio.territory.models import Commune

_counter = itertools.count(1)

RURAL_COMMUNE = "59663"  # Wormhout, density class 5 (bourg rural)
URBAN_COMMUNE = "80021"  # Amiens, density class 1


def make_user(**extra) -> User:
    n = next(_counter)
    return User.objects.create_user(f"personne{n}@exemple.fr", "mot-de-passe-solide-42", full_name=f"Personne {n}", is_active=True, **extra)


@pytest.fixture
def moderator(db):
    return make_user(is_moderator=True)


@pytest.fixture
def owner(db):
    return make_user()


@pytest.fixture
def backers(db):
    return [make_user() for _ in range(6)]


def make_programme(**overrides) -> Programme:
    now = timezone.now()
    fields = dict(
        name=f"Programme {next(_counter)}",
        slug=f"programme-{next(_counter)}",
        ratio_numerator=1,
        ratio_denominator=1,
        envelope_cents=1_000_000,
        density_classes=[5, 6, 7],
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        min_backers=0,
    )
    fields.update(overrides)
    return services.create_programme(**fields)


@pytest.fixture
def programme(db):
    return make_programme()


def make_project(owner, moderator, programme=None, *, commune=RURAL_COMMUNE, goal_cents=100_000, publish=True, **extra):
    project = services.create_project(
        owner,
        title=extra.pop("title", f"Projet {next(_counter)}"),
        category=extra.pop("category", "agriculture"),
        commune=Commune.objects.get(code=commune),
        goal_cents=goal_cents,
        deadline=extra.pop("deadline", timezone.now() + timedelta(days=10)),
        description=extra.pop("description", "Un **beau** projet."),
        programme=programme,
        budget_lines=extra.pop("budget_lines", [("Matériel", goal_cents)]),
        **extra,
    )
    if publish:
        services.submit_project(owner, project)
        services.moderate_project(moderator, project, approve=True)
    return project


def pledge_and_confirm(backer, project, amount_cents, key=None):
    pledge, _ = services.create_pledge(backer, project, amount_cents, idempotency_key=key or f"k-{next(_counter)}")
    return services.confirm_pledge(pledge.pk)
