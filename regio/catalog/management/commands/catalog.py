from django.core.management.base import BaseCommand

from regio.catalog import services


class Command(BaseCommand):
    help = "Catalogue de données : maintenance."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        reindex = sub.add_parser(
            "reindex", help="Reconstruit l'index plein texte et les termes de facettes de tous les jeux de données"
        )
        reindex.add_argument("--batch", type=int, default=1000, help="jeux de données traités par lot (1000)")

    def handle(self, *args, action, **opts):
        if action == "reindex":
            count = services.reindex_all(batch=max(1, opts["batch"]))
            self.stdout.write(f"{count} jeu(x) de données réindexé(s).")
