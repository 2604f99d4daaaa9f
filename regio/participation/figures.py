from regio.core.registry import TerritoryFigure

from .models import Debate


def territory_figures(level: str, code: str) -> list[TerritoryFigure]:
    qs = Debate.objects.filter(moderation=Debate.Moderation.APPROVED, archived_at__isnull=True, status=Debate.Status.OPEN)
    if level == "commune":
        qs = qs.filter(territory_codes__contains=f"|{code}|")
    elif level == "epci":
        qs = qs.filter(commune__epci_id=code)
    elif level == "departement":
        qs = qs.filter(commune__departement_id=code)
    elif level == "region":
        qs = qs.filter(commune__region_id=code)
    else:
        return []
    return [TerritoryFigure("Débats publics en cours", qs.count(), "", "/debats/")]
