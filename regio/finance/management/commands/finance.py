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
        bal = sub.add_parser("import-balance", help="Importe une balance comptable DGFiP (compte administratif)")
        bal.add_argument("file")
        bal.add_argument("--siren", default="", help="SIREN de la collectivité dont importer les lignes (sinon toutes)")
        bal.add_argument("--organisation", default="", help="organisation qui publie (par défaut : celle du SIREN)")
        plan = sub.add_parser("load-plan", help="Charge un plan de compte officiel (XML ODM) M57, M14, M52 ou M71")
        plan.add_argument("file")
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
        if action == "load-plan":
            return self._load_plan(Path(opts["file"]))
        if action == "import-balance":
            return self._import_balance(Path(opts["file"]), opts["siren"], opts["organisation"])
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
        for w in batch.report.get("unchecked_codes", []):
            self.stdout.write(f"  {w}")

    def _load_plan(self, path: Path) -> None:
        from regio.finance import nomenclature

        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        try:
            loaded = nomenclature.load_plan_file(path.read_bytes(), path.name)
        except nomenclature.PlanError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Plan de compte {loaded.norme} ({loaded.declinaison or 'sans déclinaison'}, exercice {loaded.year or '?'}) chargé : "
            f"{len(loaded.plan.natures)} natures et chapitres, {len(loaded.plan.functions)} fonctions. "
            f"Les codes des prochains imports {loaded.norme} seront vérifiés avec ce plan."
        )

    def _import_balance(self, path: Path, siren: str, slug: str) -> None:
        from regio.finance.importers.scdl import luhn_ok

        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        if siren and not (len(siren) == 9 and siren.isdigit() and luhn_ok(siren)):
            raise CommandError(f"SIREN « {siren} » invalide (9 chiffres avec une clé de Luhn correcte attendus).")
        org = Organisation.objects.filter(slug=slug).first() if slug else services.organisation_of_siren(siren)
        if org is None:
            raise CommandError(
                f"Organisation « {slug} » inconnue." if slug else
                "Aucune organisation ne correspond à ce SIREN : indiquez --organisation SLUG (et --siren pour ne garder que ses lignes)."
            )
        try:
            batch = services.run_import("budget", path, organisation=org, origin=ImportBatch.Origin.CLI,
                                        check_permission=False, siren=siren)
        except services.ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{org.name} — {self._summary(batch)}")
        stats = batch.report.get("balance_dgfip")
        if stats:
            self.stdout.write(
                f"  balance : {stats['lines']} ligne(s) lue(s), {stats['other_collectivites']} ligne(s) d'autres collectivités, "
                f"{stats['non_budget_accounts']} compte(s) de classes 3, 4, 5 (hors budget), {stats['zero_lines']} à zéro"
            )
        for q in batch.quarantine.all()[:50]:
            self.stdout.write(f"  ligne {q.line} : {q.reason}")
        for w in batch.report.get("unchecked_codes", []):
            self.stdout.write(f"  {w}")

    @staticmethod
    def _summary(batch) -> str:
        if batch.report.get("reimport"):
            return f"{batch.report['reimport']} (import n° {batch.pk})"
        return (f"import n° {batch.pk} : {batch.rows_read} lignes lues, {batch.rows_imported} importées, "
                f"{batch.rows_unchanged} déjà présentes, {batch.rows_quarantined} en quarantaine")
