"""Quality panels included by catalogue pages: ``{% dataset_quality_panel dataset %}`` (score,
criteria with their fix, link availability) and ``{% publisher_quality_panel organisation %}``
(average score, score per dataset, broken links)."""

from django import template
from django.db.models import Avg

from ..catalog_link import refresh_dataset_quality
from ..models import CheckedLink, DatasetQuality

register = template.Library()


def _links(resources) -> list[dict]:
    urls = [r.url for r in resources if r.url and not r.file]
    links = {link.url: link for link in CheckedLink.objects.filter(url__in=urls).prefetch_related("checks")}
    out = []
    for r in resources:
        if not r.url or r.file:
            continue
        link = links.get(r.url)
        history = list(link.checks.all()[:10]) if link else []
        out.append({"resource": r, "link": link, "history": history, "failures": sum(1 for c in history if not c.ok)})
    return out


@register.inclusion_tag("quality/_dataset_panel.html")
def dataset_quality_panel(dataset):
    quality = DatasetQuality.objects.filter(dataset=dataset).first() or refresh_dataset_quality(dataset)
    return {"quality": quality, "links": _links(list(dataset.resources.all())), "dataset": dataset}


@register.inclusion_tag("quality/_publisher_panel.html")
def publisher_quality_panel(organisation):
    from regio.catalog.models import Resource
    from regio.catalog.selectors import publisher_datasets

    datasets = publisher_datasets(organisation)
    missing = datasets.filter(quality__isnull=True)
    for dataset in missing[:200]:
        refresh_dataset_quality(dataset)
    rows = []
    for d in datasets.select_related("quality").order_by("quality__score", "title"):
        criteria = d.quality.criteria if hasattr(d, "quality") else []
        first = next((c for c in criteria if c.get("fix") and c.get("applicable", True)), None)
        rows.append({"dataset": d, "score": d.quality.score if hasattr(d, "quality") else None, "first_fix": first})
    average = datasets.aggregate(avg=Avg("quality__score"))["avg"]
    broken = (
        Resource.objects.filter(dataset__in=datasets, url__in=CheckedLink.objects.filter(available=False).values("url"))
        .select_related("dataset")
        .order_by("dataset__title", "title")
    )
    links = {link.url: link for link in CheckedLink.objects.filter(url__in=[r.url for r in broken])}
    return {
        "organisation": organisation,
        "rows": rows,
        "average": round(average) if average is not None else None,
        "broken": [{"resource": r, "link": links.get(r.url)} for r in broken],
    }
