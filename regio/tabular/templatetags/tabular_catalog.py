"""``{% dataset_tabular_panel dataset %}``: on a catalogue dataset page, per tabular resource, its
processing status (and the reason in French when the preview or the validation is missing), the
first rows, links to the full preview and to the downloads, its validation report or the closest
registered schema that its publisher can declare in one click."""

from django import template

from ..catalog_link import is_tabular, resource_key
from ..models import Status, TabularResource

register = template.Library()
EMBED_ROWS = 5
REMOTE_HISTORY = 10


def _reason(tab, resource) -> str:
    from ..catalog_link import catalog_downloads

    if tab is None:
        if resource.url and not resource.file and not catalog_downloads():
            return "Aperçu indisponible : les fichiers distants ne sont pas téléchargés par cette instance de la plateforme."
        return "Aperçu pas encore disponible : le fichier va être converti dans un instant."
    if tab.status in (Status.QUEUED, Status.PROCESSING):
        return "Aperçu pas encore disponible : la conversion du fichier est en cours."
    if tab.status == Status.FAILED:
        kept = " L'aperçu montre la dernière version lue correctement." if tab.has_data else ""
        return f"La conversion a échoué : {tab.error}{kept}"
    return ""


@register.inclusion_tag("tabular/_dataset_panel.html", takes_context=True)
def dataset_tabular_panel(context, dataset):
    from regio.catalog.permissions import can_edit_dataset
    from regio.quality.catalog_link import validation_state

    from .. import selectors
    from ..engine.errors import TabularError

    request = context.get("request")
    user = getattr(request, "user", None)
    can_edit = bool(user) and can_edit_dataset(user, dataset)
    resources = [r for r in dataset.resources.all() if is_tabular(r)]
    tabs = {t.resource_key: t for t in TabularResource.objects.filter(resource_key__in=[resource_key(r) for r in resources])}
    items = []
    for r in resources:
        key = resource_key(r)
        tab = tabs.get(key)
        sample = None
        if tab is not None and tab.has_data:
            try:
                sample = selectors.page(tab, [], page=1, page_size=EMBED_ROWS)
            except TabularError:
                sample = None
        items.append(
            {
                "resource": r,
                "key": key,
                "tab": tab,
                "reason": _reason(tab, r),
                "sample": sample,
                "sample_rows": [[row.get(c) for c in sample["columns"]] for row in sample["rows"]] if sample else [],
                "validation": validation_state(r, tab),
                "remote_checks": list(tab.remote_checks.all()[:REMOTE_HISTORY]) if tab is not None else [],
            }
        )
    return {"items": items, "dataset": dataset, "can_edit": can_edit, "csrf_token": context.get("csrf_token"), "embed_rows": EMBED_ROWS}
