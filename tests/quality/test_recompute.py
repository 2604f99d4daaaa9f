"""Scores recomputed as time passes: the "update frequency respected" criterion goes stale with no
change to the dataset; the daily task (and ``regio quality recompute``) takes the points away."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from regio.accounts.models import User
from regio.catalog import services as catalog
from regio.quality.models import DatasetQuality
from tests.factories import make_user, member_of

pytestmark = pytest.mark.django_db


def make(amiens, frequency="MONTHLY", title="Fréquentation des piscines"):
    agent = member_of(make_user(f"{frequency.lower()}@amiens.fr"), amiens)
    return catalog.create_dataset(
        agent, amiens,
        {"title": title, "licence": "lov2", "frequency": frequency, "description": "Entrées par piscine et par jour. " * 10},
        publish=True,
    )


def frequency(dataset) -> dict:
    return next(c for c in DatasetQuality.objects.get(dataset=dataset).criteria if c["key"] == "frequency")


def later(days: int):
    """Shift the clock: every ``timezone.now()`` answers ``days`` later (no sleeping)."""
    return mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(days=days))


def test_a_dataset_left_without_update_loses_the_frequency_points(amiens, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    from regio.quality.tasks import recompute_scores_task

    with django_capture_on_commit_callbacks(execute=True):
        monthly = make(amiens)
        annual = make(amiens, "ANNUAL", "Budget primitif")
    fresh = DatasetQuality.objects.get(dataset=monthly).score
    assert frequency(monthly)["points"] == 15
    # 20 days later: still within 1.5 × a month; only the explanation's day count changes.
    with later(20):
        counts = recompute_scores_task.enqueue(False).return_value
    assert counts["examined"] >= 2 and DatasetQuality.objects.get(dataset=monthly).score == fresh
    assert "il y a 20 jours" in frequency(monthly)["explanation"]
    # 60 days later, nothing changed in the dataset: the monthly frequency is no longer respected.
    with later(60):
        counts = recompute_scores_task.enqueue(False).return_value
    stale = DatasetQuality.objects.get(dataset=monthly)
    assert frequency(monthly)["points"] == 0 and stale.score < fresh
    assert "il y a 60 jours" in frequency(monthly)["explanation"]
    assert "Publiez la version à jour des données" in frequency(monthly)["fix"]
    assert stale.computed_at > timezone.now() + timedelta(days=59)
    assert frequency(annual)["points"] == 15  # an annual dataset is still on time
    # The catalogue facet follows the stored score.
    from regio.catalog.selectors import search_datasets
    from regio.quality.catalog_link import bucket

    found = search_datasets("", {"quality": bucket(stale.score)}, "")
    assert monthly in list(found.queryset)
    # Updating the dataset gives the points back.
    with later(61), django_capture_on_commit_callbacks(execute=True):
        agent = User.objects.get(email="monthly@amiens.fr")
        catalog.update_dataset(agent, monthly, {"description": monthly.description + " Mis à jour."})
    assert frequency(monthly)["points"] == 15


def test_the_task_reschedules_itself_a_day_later(amiens, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    from django_tasks import default_task_backend

    from regio.quality.tasks import RECOMPUTE_EVERY, recompute_scores_task

    default_task_backend.clear()
    make(amiens)
    before = timezone.now()
    counts = recompute_scores_task.call(True)
    assert counts["created"] >= 1  # not scored yet (no on_commit here): scored now
    queued = [r for r in default_task_backend.results if r.task.name == "recompute_scores_task"]
    assert len(queued) == 1 and queued[0].args == [True]
    assert queued[0].task.run_after >= before + RECOMPUTE_EVERY


def test_recompute_command(amiens, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        monthly = make(amiens)
    out = StringIO()
    with later(100):
        call_command("quality", "recompute", "--batch", "1", stdout=out)
    assert "score(s) modifié(s)" in out.getvalue()
    assert frequency(monthly)["points"] == 0
    out = StringIO()
    with later(100):
        call_command("quality", "recompute", stdout=out)
    assert ", 0 score(s) modifié(s)" in out.getvalue()  # same day, same result: nothing written
