"""The territory: régions, départements, EPCI and communes, keyed by their official codes."""

from django.db import models

URBAN_CLASSES = (1, 2, 3, 4)
RURAL_CLASSES = (5, 6, 7)


class DensityClass(models.IntegerChoices):
    GRANDS_CENTRES_URBAINS = 1, "Grands centres urbains"
    CENTRES_URBAINS_INTERMEDIAIRES = 2, "Centres urbains intermédiaires"
    PETITES_VILLES = 3, "Petites villes"
    CEINTURES_URBAINES = 4, "Ceintures urbaines"
    BOURGS_RURAUX = 5, "Bourgs ruraux"
    RURAL_DISPERSE = 6, "Rural à habitat dispersé"
    RURAL_TRES_DISPERSE = 7, "Rural à habitat très dispersé"


class Region(models.Model):
    code = models.CharField("code INSEE", max_length=3, primary_key=True)
    name = models.CharField("nom", max_length=120)
    chef_lieu_code = models.CharField("chef-lieu", max_length=5, blank=True)
    population = models.BigIntegerField("population municipale", null=True, blank=True)
    contour = models.TextField("contour (géométrie GeoJSON)", blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "région"

    def __str__(self) -> str:
        return self.name


class Departement(models.Model):
    code = models.CharField("code INSEE", max_length=3, primary_key=True)
    name = models.CharField("nom", max_length=120)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements")
    chef_lieu_code = models.CharField("chef-lieu", max_length=5, blank=True)
    population = models.BigIntegerField("population municipale", null=True, blank=True)
    contour = models.TextField("contour (géométrie GeoJSON)", blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "département"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class EPCI(models.Model):
    class Kind(models.TextChoices):
        CC = "CC", "Communauté de communes"
        CA = "CA", "Communauté d'agglomération"
        CU = "CU", "Communauté urbaine"
        METRO = "METRO", "Métropole"
        MET69 = "MET69", "Métropole de Lyon"

    siren = models.CharField("SIREN", max_length=9, primary_key=True)
    name = models.CharField("nom", max_length=200)
    kind = models.CharField("type", max_length=8, choices=Kind.choices)
    population = models.BigIntegerField("population municipale", null=True, blank=True)
    nb_communes = models.PositiveIntegerField("nombre de communes", default=0)
    # Main département and région: those of most of its member communes.
    departement = models.ForeignKey(Departement, on_delete=models.SET_NULL, null=True, blank=True, related_name="epcis")
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="epcis")
    is_active = models.BooleanField("en vigueur", default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "EPCI"
        verbose_name_plural = "EPCI"

    def __str__(self) -> str:
        return self.name


class Commune(models.Model):
    code = models.CharField("code INSEE", max_length=5, primary_key=True)
    name = models.CharField("nom", max_length=120)
    name_search = models.CharField("nom normalisé", max_length=120, db_index=True)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="communes")
    epci = models.ForeignKey(EPCI, on_delete=models.SET_NULL, null=True, blank=True, related_name="communes")
    population = models.PositiveIntegerField("population municipale", null=True, blank=True)
    postal_codes = models.CharField("codes postaux", max_length=200, blank=True)
    lat = models.FloatField("latitude", null=True, blank=True)
    lon = models.FloatField("longitude", null=True, blank=True)
    density_class = models.PositiveSmallIntegerField(
        "grille de densité INSEE", choices=DensityClass.choices, null=True, blank=True
    )
    contour = models.TextField("contour (géométrie GeoJSON)", blank=True)
    # A commune that vanished (merger) stays, inactive, so that nothing pointing to it breaks.
    is_active = models.BooleanField("en vigueur", default=True, db_index=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["lat", "lon"], name="commune_latlon_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_urban(self) -> bool | None:
        if self.density_class is None:
            return None
        return self.density_class in URBAN_CLASSES

    @property
    def area_kind(self) -> str:
        """``urbain``, ``rural`` or ``inconnu`` (no density class: never guessed)."""
        if self.is_urban is None:
            return "inconnu"
        return "urbain" if self.is_urban else "rural"

    @property
    def postal_code_list(self) -> list[str]:
        return self.postal_codes.split()


class PostalCode(models.Model):
    code = models.CharField("code postal", max_length=5, db_index=True)
    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="postal_code_rows")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "commune"], name="uniq_postal_code_commune")]


class TerritoryLoad(models.Model):
    """One run of the reference-data loader (what was loaded, from where, with which result)."""

    started_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=500)
    scope = models.CharField(max_length=20)
    checksum = models.CharField(max_length=64, db_index=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at"]
