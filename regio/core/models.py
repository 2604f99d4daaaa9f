"""Abstract base models shared by every app."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField("créé le", default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        abstract = True


class PublicationStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    PUBLISHED = "published", "Publié"
    ARCHIVED = "archived", "Archivé"


class PublishedQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED)


class PublishableModel(TimeStampedModel):
    status = models.CharField(
        "statut", max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT, db_index=True
    )
    published_at = models.DateTimeField("publié le", null=True, blank=True)

    objects = PublishedQuerySet.as_manager()

    class Meta:
        abstract = True

    def publish(self) -> None:
        self.status = PublicationStatus.PUBLISHED
        self.published_at = self.published_at or timezone.now()

    def archive(self) -> None:
        self.status = PublicationStatus.ARCHIVED


# The ingest engine's tables live in regio.core.ingest.models (imported here so Django sees them).
from regio.core.ingest.models import Item, ItemError, Run, Source  # noqa: E402, F401
