from django.core.management.base import BaseCommand

from regio.crowdfunding import services


class Command(BaseCommand):
    help = "Financement participatif : « regio crowdfunding close-due » clôt les collectes échues (à lancer par cron)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("close-due", help="Clôt les collectes dont la date de fin est passée (tout ou rien)")

    def handle(self, *args, action=None, **opts):
        reports = services.close_due_campaigns()
        for report in reports:
            self.stdout.write(f"{report.state} : {report.settled} don(s) réglé(s), {report.unsettled} en attente")
            for error in report.errors:
                self.stderr.write(error)
        self.stdout.write(self.style.SUCCESS(f"{len(reports)} collecte(s) close(s)."))
