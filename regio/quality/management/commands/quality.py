from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Qualité des données : maintenance des scores de qualité."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        recompute = sub.add_parser(
            "recompute",
            help="Recalcule le score de qualité de tous les jeux de données (par lots) et enregistre ceux qui ont changé",
        )
        recompute.add_argument("--batch", type=int, default=500, help="jeux de données traités par lot (500)")
        recompute.add_argument(
            "--schedule", action="store_true",
            help="Met en file la tâche quotidienne à la place (elle se reprogramme chaque jour ; regio worker l'exécute)",
        )

    def handle(self, *args, action, **opts):
        if action == "recompute":
            if opts["schedule"]:
                from regio.quality.tasks import recompute_scores_task

                recompute_scores_task.enqueue(True)
                self.stdout.write("Recalcul quotidien des scores de qualité mis en file (regio worker l'exécute).")
                return
            from regio.quality.catalog_link import recompute_scores

            counts = recompute_scores(batch=max(1, opts["batch"]))
            self.stdout.write(
                f"{counts['examined']} jeu(x) de données examiné(s), {counts['changed']} score(s) modifié(s), "
                f"{counts['created']} score(s) calculé(s) pour la première fois."
            )
