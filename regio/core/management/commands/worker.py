from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Exécute les tâches de fond (django-tasks, file en base de données)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Traite les tâches en attente puis s'arrête")
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--backend", default="default", help="Alias de file de tâches (REGIO_TASK_BACKEND)")

    def handle(self, *args, batch=False, interval=1.0, backend="default", **opts):
        argv = ["--interval", str(interval), "--backend", backend, "--no-startup-delay"]
        if batch:
            argv.append("--batch")
        call_command("db_worker", *argv)
