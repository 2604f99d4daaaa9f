from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from regio.harvest.models import HarvestSource
from regio.harvest.selectors import sources


class Command(BaseCommand):
    help = "Moissonnage des portails locaux : lancer une source (délègue au moteur d'import), lister les sources."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Moissonne une source maintenant")
        run.add_argument("source_id", type=int)
        run.add_argument("--dry-run", action="store_true", help="Simulation : rien n'est enregistré")
        run.add_argument("--force", action="store_true", help="Réapplique chaque jeu de données même inchangé")
        sub.add_parser("list", help="Liste les sources moissonnées et leur dernier passage")

    def handle(self, *args, action, **opts):
        if action == "run":
            if not HarvestSource.objects.filter(pk=opts["source_id"]).exists():
                raise CommandError(f"Source moissonnée {opts['source_id']} introuvable.")
            args = ["run", str(opts["source_id"])]
            if opts["dry_run"]:
                args.append("--dry-run")
            if opts["force"]:
                args.append("--force")
            call_command("ingest", *args, stdout=self.stdout, stderr=self.stderr)
        else:
            for source in sources():
                last = source.last_real_run()
                status = f"{last.get_status_display()} le {last.started_at:%d/%m/%Y %H:%M}" if last and last.started_at else "jamais lancée"
                self.stdout.write(f"{source.pk}\t{source.kind}\t{source.name}\t{status}")
