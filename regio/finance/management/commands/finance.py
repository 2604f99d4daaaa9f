from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regio.accounts.models import Organisation
from regio.finance import services
from regio.finance.models import ImportBatch


class Command(BaseCommand):
    help = "Budgets et subventions : import de fichiers SCDL, publication du jeu consolidé, import des ressources SCDL du catalogue."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Importe un fichier SCDL subventions ou budget")
        imp.add_argument("kind", choices=["subventions", "budget"])
        imp.add_argument("file")
        imp.add_argument("--organisation", required=True, help="identifiant (slug) de l'organisation qui publie")
        imp.add_argument("--nomenclature", default="M57", choices=["M57", "M14", "M52", "M71"])
        sub.add_parser("publier", help="Republie les subventions consolidées dans le catalogue")
        sub.add_parser("catalogue", help="Importe toutes les ressources du catalogue au schéma SCDL budget ou subventions")

    def handle(self, *args, action, **opts):
        if action == "publier":
            dataset = services.publish_consolidated()
            self.stdout.write(f"Jeu publié : {dataset.slug}" if dataset else "Aucune région chargée : rien publié.")
            return
        if action == "catalogue":
            from regio.catalog.models import Resource

            for resource in Resource.objects.select_related("dataset__publisher").exclude(schema=""):
                batch = services.import_catalog_resource(resource)
                if batch is not None:
                    self.stdout.write(f"{resource.title} : {self._summary(batch)}")
            return
        org = Organisation.objects.filter(slug=opts["organisation"]).first()
        if org is None:
            raise CommandError(f"Organisation « {opts['organisation']} » inconnue.")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        try:
            batch = services.run_import(
                opts["kind"], path, organisation=org, origin=ImportBatch.Origin.CLI, nomenclature=opts["nomenclature"],
                check_permission=False,
            )
        except services.ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self._summary(batch))
        for q in batch.quarantine.all()[:50]:
            self.stdout.write(f"  ligne {q.line} : {q.reason}")
        for b in batch.report.get("balance", []):
            self.stdout.write(f"  {b['message']}")

    @staticmethod
    def _summary(batch) -> str:
        if batch.report.get("reimport"):
            return f"{batch.report['reimport']} (import n° {batch.pk})"
        return (f"import n° {batch.pk} : {batch.rows_read} lignes lues, {batch.rows_imported} importées, "
                f"{batch.rows_unchanged} déjà présentes, {batch.rows_quarantined} en quarantaine")
