from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Rapport annuel de l'administrateur général des données (HTML, PDF et chiffres en CSV)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="kind", required=True)
        annual = sub.add_parser("annual", help="Rapport annuel")
        annual.add_argument("--year", type=int, default=timezone.localdate().year)
        annual.add_argument("--output", default=None, help="Dossier de sortie (défaut : var/rapports/AAAA)")

    def handle(self, *args, kind, year, output, **opts):
        from django.conf import settings

        from regio.datarequests.report import write_report

        if year < 2000 or year > 2100:
            raise CommandError(f"Année invalide : {year}.")
        out = Path(output) if output else Path(settings.BASE_DIR) / "var" / "rapports" / str(year)
        for path in write_report(year, out):
            self.stdout.write(str(path))
