from django.core.management.base import BaseCommand

from regio.participation import services


class Command(BaseCommand):
    help = "Débats publics : envoi des alertes (à planifier chaque jour / chaque semaine), mise à jour des statuts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        digests = sub.add_parser("alertes", help="Envoie les alertes quotidiennes ou hebdomadaires")
        digests.add_argument("frequence", choices=["daily", "weekly"])
        digests.add_argument("--background", action="store_true", help="Met l'envoi en file pour le worker")
        sub.add_parser("statuts", help="Met à jour les statuts d'après les dates et purge les abonnements non confirmés")

    def handle(self, *args, action, **opts):
        if action == "alertes":
            if opts["background"]:
                from regio.participation.tasks import send_digests_task

                send_digests_task.enqueue(opts["frequence"])
                self.stdout.write("Envoi des alertes mis en file.")
            else:
                self.stdout.write(f"{services.send_digests(opts['frequence'])} courriel(s) envoyé(s).")
        else:
            purged = services.purge_unconfirmed()
            self.stdout.write(f"{services.refresh_statuses()} statut(s) mis à jour, {purged} abonnement(s) non confirmé(s) effacé(s).")
