from django.core.management.base import BaseCommand, CommandError

from regio.core.ingest import registry
from regio.core.ingest.engine import detect_dead_runs, request_cancel, run_source
from regio.core.ingest.models import Run, Source


class Command(BaseCommand):
    help = "Moteur d'import : lancer une source, lister les sources, détecter les passages interrompus, annuler."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Lance une source maintenant (dans ce processus)")
        run.add_argument("source_id", type=int)
        run.add_argument("--dry-run", action="store_true", help="Simulation : rien n'est enregistré")
        run.add_argument("--background", action="store_true", help="Met le passage en file pour le worker")
        run.add_argument("--force", action="store_true", help="Réapplique chaque élément même inchangé")
        sub.add_parser("list", help="Liste les sources et leur dernier passage")
        sub.add_parser("due", help="Met en file les sources dont la planification est échue (à lancer par cron)")
        dead = sub.add_parser("detect-dead", help="Marque les passages sans signe de vie")
        dead.add_argument("--minutes", type=int, default=15)
        cancel = sub.add_parser("cancel", help="Demande l'annulation d'un passage")
        cancel.add_argument("run_id", type=int)

    def handle(self, *args, action, **opts):
        if action == "run":
            source = Source.objects.filter(pk=opts["source_id"]).first()
            if source is None:
                raise CommandError(f"Source {opts['source_id']} introuvable.")
            if opts["background"]:
                from regio.core.ingest.tasks import run_source_task

                run_source_task.enqueue(source.pk, opts["dry_run"])
                self.stdout.write(f"Passage de « {source.name} » mis en file.")
                return
            try:
                run = run_source(source, dry_run=opts["dry_run"], force=opts["force"])
            except registry.IngestError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{source.name} : {run.get_status_display()} — créés {run.created}, modifiés {run.updated}, "
                f"inchangés {run.unchanged}, archivés {run.archived}, en erreur {run.failed}"
            )
            if run.message:
                self.stdout.write(run.message)
            for error in run.errors.all()[:50]:
                self.stdout.write(f"  - {error.describe()}")
            if run.status != Run.Status.SUCCEEDED:
                raise CommandError(f"Le passage n'a pas réussi ({run.get_status_display()}).")
        elif action == "list":
            for source in Source.objects.all():
                last = source.last_run
                state = f"{last.get_status_display()} le {last.created_at:%d/%m/%Y %H:%M}" if last else "jamais lancé"
                self.stdout.write(f"{source.pk}\t{source.kind}\t{source.name}\t{state}")
        elif action == "due":
            from regio.core.ingest.tasks import run_due_sources

            queued = run_due_sources.call()
            self.stdout.write(f"{len(queued)} source(s) mise(s) en file.")
        elif action == "detect-dead":
            self.stdout.write(f"{detect_dead_runs(opts['minutes'])} passage(s) marqué(s) interrompu(s).")
        elif action == "cancel":
            run = Run.objects.filter(pk=opts["run_id"]).first()
            if run is None:
                raise CommandError("Passage introuvable.")
            request_cancel(run)
            self.stdout.write("Annulation demandée.")
