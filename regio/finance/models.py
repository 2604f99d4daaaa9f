"""Budgets and subsidies of the collectivités of the territory (SCDL budget / subventions)."""

from __future__ import annotations

from django.db import models

from regio.core.models import TimeStampedModel


class ImportBatch(TimeStampedModel):
    """One import of one file (upload, command line or catalogue resource)."""

    class Kind(models.TextChoices):
        SUBSIDIES = "subventions", "Subventions (SCDL)"
        BUDGET = "budget", "Budget (SCDL)"

    class Origin(models.TextChoices):
        UPLOAD = "upload", "dépôt par un agent"
        CLI = "cli", "ligne de commande"
        CATALOG = "catalog", "ressource du catalogue"
        DEMO = "demo", "démonstration"

    class Status(models.TextChoices):
        DONE = "done", "terminé"
        UNCHANGED = "unchanged", "inchangé (fichier déjà importé)"
        FAILED = "failed", "échec"

    kind = models.CharField("type", max_length=12, choices=Kind.choices, db_index=True)
    origin = models.CharField("origine", max_length=8, choices=Origin.choices, default=Origin.UPLOAD)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="finance_batches"
    )
    source_key = models.CharField("clé de la source", max_length=200, blank=True, db_index=True)
    file_name = models.CharField("fichier", max_length=255, blank=True)
    file_sha256 = models.CharField("empreinte SHA-256", max_length=64, db_index=True)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.DONE)
    error = models.TextField("erreur", blank=True)
    rows_read = models.PositiveIntegerField("lignes lues", default=0)
    rows_imported = models.PositiveIntegerField("lignes importées", default=0)
    rows_unchanged = models.PositiveIntegerField("lignes déjà présentes", default=0)
    rows_quarantined = models.PositiveIntegerField("lignes en quarantaine", default=0)
    report = models.JSONField("rapport", default=dict, blank=True)
    is_demo = models.BooleanField("données de démonstration", default=False)
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "import financier"
        verbose_name_plural = "imports financiers"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.file_name} ({self.created_at:%d/%m/%Y})"


class QuarantinedRow(models.Model):
    """A row refused by an import, kept with the French reason (nothing is silently dropped)."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="quarantine")
    line = models.PositiveIntegerField("ligne du fichier")
    reasons = models.JSONField("motifs", default=list)
    raw = models.JSONField("valeurs brutes", default=dict)
    amount_cents = models.BigIntegerField("montant lisible (centimes)", null=True, blank=True)
    year = models.PositiveSmallIntegerField("année", null=True, blank=True)

    class Meta:
        ordering = ["batch", "line"]
        verbose_name = "ligne en quarantaine"

    @property
    def reason(self) -> str:
        return " ; ".join(self.reasons)


class Subsidy(models.Model):
    """One line of an SCDL subventions file."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="subsidies")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    row_hash = models.CharField("empreinte de la ligne", max_length=64, unique=True)
    line = models.PositiveIntegerField("ligne du fichier", default=0)
    grantor_name = models.CharField("attribuant", max_length=255)
    grantor_siret = models.CharField("SIRET de l'attribuant", max_length=14, db_index=True)
    beneficiary_name = models.CharField("bénéficiaire", max_length=255)
    beneficiary_name_search = models.CharField("bénéficiaire (normalisé)", max_length=255)
    beneficiary_siret = models.CharField("SIRET du bénéficiaire", max_length=14, blank=True, db_index=True)
    beneficiary_rna = models.CharField("RNA", max_length=10, blank=True)
    object = models.TextField("objet")
    amount_cents = models.BigIntegerField("montant (centimes)")
    decision_date = models.DateField("date de la convention", db_index=True)
    decision_reference = models.CharField("référence de la décision", max_length=255, blank=True)
    nature = models.CharField("nature", max_length=120, blank=True)
    conditions = models.TextField("conditions de versement", blank=True)
    payment_period = models.CharField("période de versement", max_length=60, blank=True)
    percentage = models.FloatField("pourcentage de subvention", null=True, blank=True)
    year = models.PositiveSmallIntegerField("année")  # indexed by finance_sub_year_list below
    theme = models.CharField("thème", max_length=16, default="autre", db_index=True)
    beneficiary_commune = models.ForeignKey(
        "territory.Commune", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    beneficiary_epci_id = models.CharField("EPCI du bénéficiaire", max_length=9, blank=True, db_index=True)
    beneficiary_departement_id = models.CharField("département du bénéficiaire", max_length=3, blank=True, db_index=True)
    is_demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["-decision_date", "id"]
        # no covering index for aggregates any more: the explorer's GROUP BYs run on DuckDB over
        # the Parquet snapshot (analytics.py); every index costs import time on millions of lines.
        # The paginated list of one year (page, API) is read in the list's order from this index:
        # with a year index and a date index apart, PostgreSQL walked the date index backwards
        # and dropped the other years' lines one by one (seconds at 5 M lines for an early year).
        indexes = [models.Index(fields=["year", "-decision_date", "id"], name="finance_sub_year_list")]
        verbose_name = "subvention"

    def __str__(self) -> str:
        return f"{self.grantor_name} → {self.beneficiary_name} ({self.amount_cents / 100:.2f} €)"

    @property
    def theme_label(self) -> str:
        from .themes import LABELS

        return LABELS.get(self.theme, self.theme)


class BudgetLine(models.Model):
    """One line of an SCDL budget file."""

    class BudgetType(models.TextChoices):
        PRIMITIF = "budget primitif", "budget primitif"
        SUPPLEMENTAIRE = "budget supplémentaire", "budget supplémentaire"
        DM = "décision modificative", "décision modificative"
        CA = "compte administratif", "compte administratif"

    class Section(models.TextChoices):
        FONCTIONNEMENT = "fonctionnement", "fonctionnement"
        INVESTISSEMENT = "investissement", "investissement"

    class Direction(models.TextChoices):
        DEPENSE = "dépense", "dépense"
        RECETTE = "recette", "recette"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="budget_lines")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    row_hash = models.CharField("empreinte de la ligne", max_length=64, unique=True)
    line = models.PositiveIntegerField("ligne du fichier", default=0)
    collectivite_siret = models.CharField("SIRET de la collectivité", max_length=14, db_index=True)
    collectivite_name = models.CharField("collectivité", max_length=255)
    year = models.PositiveSmallIntegerField("exercice", db_index=True)
    budget_type = models.CharField("type de budget", max_length=24, choices=BudgetType.choices)
    nomenclature = models.CharField("nomenclature", max_length=10)
    section = models.CharField("section", max_length=16, choices=Section.choices)
    operation = models.CharField("opération", max_length=8, blank=True)
    direction = models.CharField("sens", max_length=8, choices=Direction.choices)
    function_code = models.CharField("fonction", max_length=12, blank=True)
    function_label = models.CharField("libellé de la fonction", max_length=255, blank=True)
    nature_code = models.CharField("nature", max_length=12)
    nature_label = models.CharField("libellé de la nature", max_length=255, blank=True)
    amount_cents = models.BigIntegerField("montant (centimes)")
    is_demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["year", "section", "direction", "nature_code"]
        indexes = [models.Index(fields=["collectivite_siret", "year", "budget_type"], name="finance_bgt_coll_year")]
        verbose_name = "ligne de budget"
        verbose_name_plural = "lignes de budget"
