from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Exécute les tâches de fond (django-tasks, file en base de données)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Traite les tâches en attente puis s'arrête")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, batch=False, interval=1.0, **opts):
        argv = ["--interval", str(interval)]
        if batch:
            argv.append("--batch")
        call_command("db_worker", *argv)
