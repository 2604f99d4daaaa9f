from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from regio.catalog.models import Dataset
from regio.catalog.selectors import public_datasets
from regio.catalog.services import SERVICE_ACCOUNT_EMAIL
from regio.crowdfunding import services
from regio.crowdfunding.models import Project
from regio.crowdfunding.opendata import COLUMNS, DATASET_SLUG

from .conftest import URBAN_COMMUNE, make_programme, make_project, pledge_and_confirm

pytestmark = pytest.mark.django_db


def _close(project):
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    return services.close_campaign(project)


def _rows(dataset) -> list[dict]:
    resources = list(dataset.resources.all())
    assert len(resources) == 1
    resource = resources[0]
    assert resource.format == "csv" and resource.media_type == "text/csv"
    with resource.file.open("rb") as handle:
        text = handle.read().decode("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_funded_projects_published_when_a_campaign_closes(owner, moderator, backers):
    programme = make_programme()
    funded = make_project(owner, moderator, programme, title="Fromagerie de Wormhout", goal_cents=5_000, budget_lines=[("Travaux", 100_000)])
    pledge_and_confirm(backers[0], funded, 3_000)
    pledge_and_confirm(backers[0], funded, 500)  # same backer twice: counted once
    pledge_and_confirm(backers[1], funded, 2_000)
    failed = make_project(owner, moderator, programme, title="Atelier qui échoue", goal_cents=50_000)
    pledge_and_confirm(backers[2], failed, 1_000)
    make_project(owner, moderator, title="Collecte encore ouverte")
    assert not Dataset.objects.filter(slug=DATASET_SLUG).exists()

    _close(failed)
    assert not Dataset.objects.filter(slug=DATASET_SLUG).exists()  # nothing funded yet

    _close(funded)
    dataset = Dataset.objects.get(slug=DATASET_SLUG)
    assert dataset in public_datasets()
    assert dataset.publisher.kind == "region"
    assert dataset.created_by.email == SERVICE_ACCOUNT_EMAIL and not dataset.created_by.is_active
    rows = _rows(dataset)
    assert rows == [
        {
            "titre": "Fromagerie de Wormhout",
            "code_commune_insee": "59663",
            "commune": "Wormhout",
            "categorie": funded.get_category_display(),
            "objectif_euros": "50.00",
            "montant_citoyens_euros": "55.00",
            "abondement_region_euros": "55.00",
            "nombre_contributeurs": "2",
            "etat": "Financé",
            "date_cloture": timezone.localdate().isoformat(),
        }
    ]


def test_backers_are_anonymised_and_dataset_refreshed(owner, moderator, backers):
    first = make_project(owner, moderator, title="Premier", goal_cents=1_000)
    pledge_and_confirm(backers[0], first, 1_000)
    _close(first)
    second = make_project(owner, moderator, title="Librairie", goal_cents=2_000, commune=URBAN_COMMUNE, category="culture")
    pledge_and_confirm(backers[1], second, 2_500)
    _close(second)
    dataset = Dataset.objects.get(slug=DATASET_SLUG)
    rows = _rows(dataset)  # still one resource: replaced, not piled up
    assert [r["titre"] for r in rows] == ["Premier", "Librairie"]
    assert rows[1]["code_commune_insee"] == URBAN_COMMUNE and rows[1]["abondement_region_euros"] == "0.00"
    dump = json.dumps(rows)
    for backer in backers[:2]:
        assert backer.email not in dump and backer.full_name not in dump
    assert "2 projet(s) financé(s)" in dataset.description
    services.pay_out(moderator, first)
    rows = _rows(Dataset.objects.get(slug=DATASET_SLUG))
    assert rows[0]["etat"] == "Clos"
