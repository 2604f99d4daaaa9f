from django.core.management.base import BaseCommand

from regio.quality.services import check_due_links


class Command(BaseCommand):
    help = "Vérifie les liens suivis dont la vérification est due (ou lance la vérification périodique en tâche de fond)."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", action="store_true", help="Met en file la tâche périodique (elle se reprogramme toutes les heures)")

    def handle(self, *args, schedule=False, **options):
        if schedule:
            from regio.quality.tasks import check_links_task

            check_links_task.enqueue(True)
            self.stdout.write("Vérification périodique des liens mise en file (regio worker l'exécute).")
            return
        count = check_due_links()
        self.stdout.write(f"{count} lien(s) vérifié(s).")
