from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors
from .charts import histogram_bins, histogram_svg
from .engine.errors import TabularError
from .engine.query import OPERATOR_LABELS
from .models import TabularResource

PAGE_SIZES = (20, 50, 100)


def index(request):
    paginator = Paginator(TabularResource.objects.order_by("title", "resource_key"), 50)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "tabular/index.html", {"page_obj": page})


def _int(value, default, low, high):
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


def preview(request, key: str):
    resource = selectors.get_resource(key)
    page = _int(request.GET.get("page"), 1, 1, 10**9)
    page_size = _int(request.GET.get("page_size"), 20, 1, 100)
    sort = request.GET.get("sort") or None
    params = [(k, v) for k, v in selectors.filter_params(request.GET) if not k.startswith("filtre_")]
    new_column, new_op, new_value = (request.GET.get(f"filtre_{n}", "") for n in ("colonne", "operateur", "valeur"))
    if new_column and new_value and new_op in OPERATOR_LABELS:
        params.append((f"{new_column}__{new_op}", new_value))
    result = None
    error = ""
    try:
        result = selectors.page(resource, params, sort=sort, page=page, page_size=page_size)
    except TabularError as exc:
        error = str(exc)
    columns = resource.columns or []
    names = [c["name"] for c in columns]
    base = [(k, v) for k, v in params]
    if page_size != 20:
        base.append(("page_size", str(page_size)))

    def link(**changes):
        query = [(k, v) for k, v in base]
        if "sort" in changes:
            if changes["sort"]:
                query.append(("sort", changes["sort"]))
        elif sort:
            query.append(("sort", sort))
        if changes.get("page", 1) > 1:
            query.append(("page", str(changes["page"])))
        return "?" + urlencode(query)

    headers = []
    for name in names:
        state = "ascending" if sort == name else "descending" if sort == f"-{name}" else "none"
        next_sort = f"-{name}" if state == "ascending" else name
        headers.append({"name": name, "aria_sort": state, "url": link(sort=next_sort)})
    total = result["total"] if result else 0
    last_page = max(1, -(-total // page_size))
    profile = []
    for index, column in enumerate(columns):
        profile.append(
            {
                **column,
                "svg": histogram_svg(column, f"histo-{index}") if column.get("histogram") else "",
                "bins": histogram_bins(column.get("histogram") or []),
                "anchor": f"colonne-{index}",
            }
        )
    active_filters = [
        {"column": k.rpartition("__")[0] or k, "op": OPERATOR_LABELS.get(k.rpartition("__")[2], "égal à"), "value": v}
        for k, v in params
    ]
    from regio.quality import selectors as quality_selectors

    context = {
        "resource": resource,
        "result": result,
        "error": error,
        "headers": headers,
        "rows": [[row.get(n) for n in result["columns"]] for row in result["rows"]] if result else [],
        "page": page,
        "page_size": page_size,
        "page_sizes": PAGE_SIZES,
        "last_page": last_page,
        "previous_url": link(page=page - 1) if page > 1 else "",
        "next_url": link(page=page + 1) if page < last_page else "",
        "profile": profile,
        "operators": OPERATOR_LABELS.items(),
        "active_filters": active_filters,
        "sort": sort or "",
        "sort_label": (f"{sort[1:]} (ordre décroissant)" if sort.startswith("-") else f"{sort} (ordre croissant)") if sort else "",
        "hidden_params": base + ([("sort", sort)] if sort else []),
        "download_query": urlencode(params + ([("sort", sort)] if sort else [])),
        "report": quality_selectors.latest_report(resource.resource_key),
        "suggestions": quality_selectors.schema_suggestions(resource),
    }
    return render(request, "tabular/preview.html", context)
