from django.core.management.base import BaseCommand, CommandError

from regio.crowdfunding import ledger


class Command(BaseCommand):
    help = "Grand livre du financement participatif : « regio ledger check » vérifie qu'il est équilibré et rapproché."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="Vérifie chaque transaction et rapproche les soldes des dons et abondements")

    def handle(self, *args, action=None, **opts):
        report = ledger.check()
        for problem in report.problems:
            self.stderr.write(problem)
        summary = f"{report.transactions} transaction(s), {report.entries} écriture(s)"
        if not report.ok:
            raise CommandError(f"Grand livre déséquilibré : {len(report.problems)} anomalie(s), écart {report.imbalance_cents} c ({summary}).")
        self.stdout.write(self.style.SUCCESS(f"Grand livre équilibré et rapproché : {summary}."))
