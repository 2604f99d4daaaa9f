"""The funded projects and their amounts as an open dataset of the catalogue (backers anonymised:
only counts and totals per project, never a name or an individual pledge)."""

from __future__ import annotations

import csv
import io
import logging

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from .models import Pledge, Project
from .selectors import progress_many

log = logging.getLogger(__name__)

DATASET_SLUG = "financement-participatif-projets-finances"
FUNDED_STATES = [Project.Campaign.FUNDED, Project.Campaign.CLOSED]
COLUMNS = [
    "titre",
    "code_commune_insee",
    "commune",
    "categorie",
    "objectif_euros",
    "montant_citoyens_euros",
    "abondement_region_euros",
    "nombre_contributeurs",
    "etat",
    "date_cloture",
]


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def funded_projects_rows() -> list[list[str]]:
    projects = list(
        Project.objects.filter(moderation_status=Project.Moderation.PUBLISHED, campaign_state__in=FUNDED_STATES)
        .select_related("commune")
        .annotate(
            backers=Count(
                "pledges__backer",
                filter=Q(pledges__status__in=[Pledge.Status.AUTHORISED, Pledge.Status.CAPTURED]),
                distinct=True,
            )
        )
        .order_by("closed_at", "pk")
    )
    progress = progress_many(projects)
    rows = []
    for p in projects:
        pr = progress[p.pk]
        rows.append(
            [
                p.title,
                p.commune.code,
                p.commune.name,
                p.get_category_display(),
                _euros(p.goal_cents),
                _euros(pr.citizens_cents),
                _euros(pr.region_cents),
                str(p.backers),
                p.get_campaign_state_display(),
                timezone.localdate(p.closed_at).isoformat() if p.closed_at else "",
            ]
        )
    return rows


def funded_projects_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(funded_projects_rows())
    return out.getvalue().encode("utf-8")


def publish_funded_projects():
    """(Re)publish the dataset in the région's name through the catalogue's services and the
    platform's service account; the CSV resource is replaced. Returns the dataset (None without a
    région organisation)."""
    from django.core.files.base import ContentFile
    from django.db import transaction

    from regio.accounts.models import Organisation
    from regio.catalog import services as catalog
    from regio.catalog.models import Dataset

    region = Organisation.objects.filter(kind="region", region_id=settings.REGION_CODE).first()
    if region is None:
        return None
    robot = catalog.service_account(region)
    rows = funded_projects_rows()
    description = (
        "Les projets du financement participatif de la Région dont la collecte a atteint son objectif : titre, "
        "commune (code INSEE), catégorie, objectif, montant donné par les citoyens, abondement de la Région, "
        "nombre de contributeurs, état et date de clôture. Les contributeurs sont anonymes : seuls leur nombre "
        "et le total de leurs dons sont publiés. Mis à jour à chaque clôture de collecte.\n\n"
        f"Dernière mise à jour : {timezone.localtime():%d/%m/%Y %H:%M} — {len(rows)} projet(s) financé(s)."
    )
    dataset = Dataset.objects.filter(slug=DATASET_SLUG).first()
    if dataset is None:
        dataset = catalog.create_dataset(
            robot,
            region,
            {
                "title": "Financement participatif : projets financés et montants",
                "slug": DATASET_SLUG,
                "description": description,
                "licence": "lov2",
                "frequency": "CONT",
                "themes": ["ECON"],
                "keywords": ["financement participatif", "abondement", "subventions"],
            },
            publish=True,
        )
    else:
        catalog.update_dataset(robot, dataset, {"description": description})
    upload = ContentFile(funded_projects_csv(), name="projets-finances.csv")
    upload.content_type = "text/csv"
    with transaction.atomic():
        old = list(dataset.resources.all())
        catalog.add_resource(robot, dataset, title="Projets financés (CSV)", upload=upload, format="csv", media_type="text/csv")
        for resource in old:
            if resource.file:
                resource.file.delete(save=False)
            resource.delete()
    return dataset


def schedule_publication() -> None:
    from .tasks import publish_funded_projects_task

    try:
        publish_funded_projects_task.enqueue()
    except Exception:  # a failed publication must never undo a closing
        log.exception("publication des projets financés non planifiée")
