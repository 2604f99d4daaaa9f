"""Ingest tables: sources, runs, items (one per remote record) and per-item errors."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from regio.core.models import TimeStampedModel


class Source(TimeStampedModel):
    """Something Regio imports from on a schedule: a remote URL or a local file, parsed by ``kind``."""

    kind = models.CharField("type", max_length=40, db_index=True)
    name = models.CharField("nom", max_length=200)
    url = models.CharField("adresse (URL)", max_length=1000, blank=True)
    # A local file (an upload in MEDIA_ROOT, or a demo file): read instead of fetching ``url``.
    file_path = models.CharField("fichier local", max_length=1000, blank=True)
    owner = models.ForeignKey(
        "accounts.Organisation", on_delete=models.SET_NULL, null=True, blank=True, related_name="ingest_sources",
        verbose_name="organisation propriétaire",
    )
    # Either an interval in minutes or a cron-like expression "m h * * *" (minute and hour only).
    schedule_minutes = models.PositiveIntegerField("intervalle (minutes)", null=True, blank=True)
    schedule_cron = models.CharField("planification (cron)", max_length=60, blank=True)
    filters = models.JSONField("filtres et options", default=dict, blank=True)
    enabled = models.BooleanField("active", default=True)
    time_limit_s = models.PositiveIntegerField("durée maximale d'un passage (s)", default=3600)
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # Deleted by its managers: kept (its runs, items and what they became stay), never run again.
    deleted_at = models.DateTimeField("supprimée le", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "source d'import"

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def last_run(self):
        return self.runs.order_by("-id").first()

    def is_due(self, now=None) -> bool:
        if not self.enabled or self.deleted_at is not None:
            return False
        now = now or timezone.now()
        last = self.runs.filter(dry_run=False).exclude(status=Run.Status.QUEUED).order_by("-id").first()
        if self.schedule_minutes:
            return last is None or last.started_at is None or (now - last.started_at).total_seconds() >= self.schedule_minutes * 60
        if self.schedule_cron:
            parts = self.schedule_cron.split()
            local = timezone.localtime(now)
            minute_ok = parts[0] in ("*", str(local.minute))
            hour_ok = len(parts) < 2 or parts[1] in ("*", str(local.hour))
            fresh = last is not None and last.started_at and (now - last.started_at).total_seconds() < 3600
            return minute_ok and hour_ok and not fresh
        return False


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "En attente"
        RUNNING = "running", "En cours"
        SUCCEEDED = "succeeded", "Réussi"
        FAILED = "failed", "Échoué"
        CANCELLED = "cancelled", "Annulé"
        DEAD = "dead", "Interrompu (plus de signe de vie)"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    dry_run = models.BooleanField("simulation", default=False)
    resumed_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Opaque resume point returned by the backend with the last committed page.
    cursor = models.CharField(max_length=1000, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    complete = models.BooleanField("toutes les pages lues", default=False)
    can_resume = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    archived = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    message = models.TextField("message", blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "passage d'import"

    def __str__(self) -> str:
        return f"{self.source} #{self.pk} {self.status}"

    @property
    def counts(self) -> dict:
        return {k: getattr(self, k) for k in ("created", "updated", "unchanged", "archived", "failed")}

    def chain_ids(self) -> list[int]:
        """This run and the runs it resumed (their seen items count as seen by this run)."""
        ids, run = [], self
        while run is not None and run.pk not in ids:
            ids.append(run.pk)
            run = run.resumed_from
        return ids


class Item(models.Model):
    """One remote record of a source and what it became locally."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="items")
    remote_id = models.CharField(max_length=500)
    content_hash = models.CharField(max_length=64)
    target_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    target_key = models.CharField(max_length=300, blank=True)
    last_seen_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "remote_id"], name="uniq_ingest_item")]
        verbose_name = "élément importé"

    def __str__(self) -> str:
        return f"{self.source_id}:{self.remote_id}"

    @property
    def target(self):
        if self.target_type_id and self.target_id:
            return self.target_type.get_object_for_this_type(pk=self.target_id)
        return None


class ItemError(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="errors")
    page = models.PositiveIntegerField(default=0)
    remote_id = models.CharField(max_length=500, blank=True)
    field = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "erreur d'import"

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        where = [f"source « {self.run.source.name} »", f"page {self.page}"]
        if self.remote_id:
            where.append(f"élément {self.remote_id}")
        if self.field:
            where.append(f"champ {self.field}")
        return f"{self.message} ({', '.join(where)})"


def allowed_file_roots() -> list:
    return list(getattr(settings, "INGEST_FILE_ROOTS", None) or [settings.MEDIA_ROOT, settings.SHARED_DIR, settings.BASE_DIR / "regio"])
