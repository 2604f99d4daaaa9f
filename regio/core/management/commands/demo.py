from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from regio.core.registry import platform
from regio.territory.models import Commune


class Command(BaseCommand):
    help = "Charge la région de démonstration (référentiel territorial et contenus de chaque module). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="*", help="Noms des étapes à exécuter (par défaut : toutes)")

    def handle(self, *args, only=None, **opts):
        if not Commune.objects.filter(region_id=settings.REGION_CODE).exists():
            call_command("territory", "load", "--source", str(settings.SHARED_DIR / "data" / "territory"), stdout=self.stdout)
        for step in platform.demo:
            if only and step.name not in only:
                continue
            self.stdout.write(f"Démo : {step.name}…")
            step.run(self.stdout)
        self.stdout.write(self.style.SUCCESS("Région de démonstration prête."))
