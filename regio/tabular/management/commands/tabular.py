from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Données tabulaires : maintenance."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser(
            "check-remote",
            help="Vérifie si les fichiers distants dont la vérification est due ont changé, et convertit les nouvelles versions",
        )
        check.add_argument(
            "--schedule", action="store_true",
            help="Met en file la tâche périodique à la place (elle se reprogramme toutes les heures ; regio worker l'exécute)",
        )

    def handle(self, *args, action, **opts):
        if action == "check-remote":
            from regio.tabular.tasks import check_remote_sources_task

            if opts["schedule"]:
                check_remote_sources_task.enqueue(True)
                self.stdout.write("Vérification périodique des fichiers distants mise en file (regio worker l'exécute).")
                return
            from collections import Counter

            from regio.tabular.services import check_remote_source, due_remote_sources

            outcomes = Counter()
            for resource in due_remote_sources(limit=10**9):
                check = check_remote_source(resource)
                outcomes[check.get_outcome_display() if check else "ignoré"] += 1
            summary = ", ".join(f"{label} : {n}" for label, n in sorted(outcomes.items())) or "aucun fichier distant à vérifier"
            self.stdout.write(f"{sum(outcomes.values())} fichier(s) distant(s) vérifié(s) — {summary}.")
