from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from regio.territory.loader import TerritoryLoadError, load_territory
from regio.territory.signals import territory_loaded


class Command(BaseCommand):
    help = "Référentiel territorial : `regio territory load --source DOSSIER_OU_URL [--all] [--force]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Charger régions, départements, EPCI et communes")
        load.add_argument("--source", default=str(settings.SHARED_DIR / "data" / "territory"),
                          help="Dossier local ou URL de base contenant communes.csv, epci.csv, …")
        load.add_argument("--region", default=settings.REGION_CODE, help="Code INSEE de la région (défaut : REGIO_REGION)")
        load.add_argument("--all", action="store_true", help="Charger les communes et EPCI de toute la France")
        load.add_argument("--force", action="store_true", help="Recharger même si les fichiers n'ont pas changé")

    def handle(self, *args, action, **opts):
        if action == "load":
            try:
                report = load_territory(opts["source"], region_code=opts["region"], all_france=opts["all"], force=opts["force"])
            except TerritoryLoadError as exc:
                raise CommandError(f"Chargement du référentiel territorial impossible : {exc} Les données existantes sont conservées.")
            if report.skipped:
                self.stdout.write("Référentiel territorial déjà à jour (fichiers inchangés).")
            else:
                self.stdout.write(self.style.SUCCESS(f"Référentiel territorial chargé : {report.counts}"))
            territory_loaded.send(sender=self.__class__, region_code=opts["region"], all_france=opts["all"])
