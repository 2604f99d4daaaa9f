"""HTML pages: /subventions/ (explorer, equality of territories), /budgets/, agent import."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from regio.accounts.permissions import organisations_user_can_edit
from regio.core.lru import BoundedCache
from regio.territory.maps import Layer, render_svg
from regio.territory.selectors import contours

from . import analytics, charts, selectors, services, themes
from .exports import rows_to_csv
from .models import ImportBatch, QuarantinedRow


def _float(value):
    try:
        return float(str(value).replace(",", ".").replace(" ", "")) if value not in (None, "") else None
    except ValueError:
        return None


class CountedPaginator(Paginator):
    """A paginator told its count (already computed by the aggregates) instead of counting again."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def filters_from(params) -> selectors.SubsidyFilters:
    year = params.get("annee", "")
    theme = params.get("theme", "").strip()
    return selectors.SubsidyFilters(
        grantor=params.get("attribuant", "").strip(), beneficiary=params.get("beneficiaire", "").strip(),
        q=params.get("q", "").strip(), year=int(year) if year.isdigit() else None, nature=params.get("nature", "").strip(),
        min_eur=_float(params.get("min")), max_eur=_float(params.get("max")), territory=params.get("territoire", "").strip(),
        theme=theme if theme in themes.LABELS else "",
    )


def _params(request) -> dict:
    return {k: v for k, v in request.GET.items() if k not in ("page", "export", "theme") and v}


def _chart(name, title, description, header, rows, svg, *, csv_rows=None, note=""):
    """``csv_rows`` (a callable, run only for the export) when the CSV holds more than the table."""
    return {"name": name, "title": title, "description": description, "header": header, "rows": rows, "svg": svg,
            "csv_rows": csv_rows, "note": note}


def _export(request, charts_by_name: dict):
    """``?export=<chart>.csv`` → the chart's data; ``?export=<chart>.svg`` → the SVG itself."""
    wanted = request.GET.get("export", "")
    name, _, ext = wanted.rpartition(".")
    chart = charts_by_name.get(name)
    if chart is None or ext not in ("csv", "svg"):
        raise Http404("Graphique inconnu.")
    if ext == "svg":
        if not chart["svg"]:
            raise Http404("Graphique vide.")
        response = HttpResponse(charts.standalone_svg(chart["svg"]), content_type="image/svg+xml; charset=utf-8")
    else:
        rows = chart["csv_rows"]() if chart["csv_rows"] else chart["rows"]
        response = HttpResponse(rows_to_csv(chart["header"], rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{ext}"'
    return response


# rendered maps by their content (communes, classes, labels, title): reading and projecting the
# contours of thousands of communes costs seconds, the same figures give the same map. Five
# minutes at most, like the commune table, since contours change only when the territory is reloaded.
_maps = BoundedCache(32, ttl_s=300)
LORENZ_STEPS = 100  # the Lorenz curve is drawn and tabled at each centile of the beneficiaries


def _map(rows: list[dict], title: str) -> str:
    values = [r["per_inhabitant"] for r in rows if r["per_inhabitant"]]
    if not values:
        return ""
    ordered = sorted(values)
    cuts = [ordered[min(len(ordered) - 1, int(len(ordered) * q / 5))] for q in range(1, 5)]
    styled = []
    for r in rows:
        v = r["per_inhabitant"] or 0
        klass = 1 + sum(1 for c in cuts if v > c)
        styled.append((r["code"], f"q{klass}", f"{r['name']} : {v:,.2f} € par habitant".replace(",", " ")))
    key = hashlib.sha256(repr((title, styled)).encode()).hexdigest()
    found = _maps.get(key)
    if found is not None:
        return found
    shapes = contours([code for code, _, _ in styled])
    svg = render_svg([Layer(shapes.get(code, ""), klass, label) for code, klass, label in styled], title=title, description=(
        "Carte des communes des bénéficiaires, plus la couleur est foncée plus le montant par habitant est élevé "
        "(5 classes de même effectif). Les valeurs sont dans le tableau qui suit."))
    _maps.put(key, svg)
    return svg


def subsidies(request):
    f = filters_from(request.GET)
    qs = selectors.subsidies(f)
    explorer = analytics.Explorer(f)  # aggregates on DuckDB over the Parquet snapshot
    total = explorer.totals()
    query = urlencode({k: v for k, v in request.GET.items() if k not in ("page", "export") and v})
    top = explorer.top_beneficiaries(10)
    per_commune = explorer.territory_per_inhabitant("commune")
    per_epci = explorer.territory_per_inhabitant("epci")
    split = explorer.urban_rural()
    points, gini = selectors.lorenz(explorer.beneficiary_totals())
    curve = selectors.lorenz_quantiles(points, LORENZ_STEPS)  # drawn and tabled; every point in the CSV
    years = explorer.by_year()
    by_theme = explorer.themes()
    g = "non calculable" if gini is None else f"{gini:.3f}".replace(".", ",")
    chart_list = [
        _chart(
            "beneficiaires", "Les dix premiers bénéficiaires",
            "Montant total reçu par les dix premiers bénéficiaires, du plus grand au plus petit. Chaque barre mène aux subventions du bénéficiaire.",
            ["beneficiaire", "siret", "montant_eur", "nombre"],
            [[r["beneficiary_name"], r["beneficiary_siret"], f"{r['total'] / 100:.2f}", r["n"]] for r in top],
            charts.bar_chart(
                [(r["beneficiary_name"], r["total"], "?" + urlencode({"beneficiaire": r["beneficiary_siret"] or r["beneficiary_name"]})) for r in top],
                title="Les dix premiers bénéficiaires", description="Montant total reçu par bénéficiaire.", uid="c-benef"),
        ),
        _chart(
            "annees", "Montants par année", "Total des subventions attribuées par année de convention.",
            ["annee", "montant_eur", "nombre"], [[r["year"], f"{r['total'] / 100:.2f}", r["n"]] for r in years],
            charts.bar_chart([(str(r["year"]), r["total"], "?" + urlencode({"annee": r["year"]})) for r in years],
                             title="Montants par année", description="Total par année de convention.", uid="c-annees"),
        ),
        _chart(
            "themes", "Montants par thème",
            "Total des subventions par thème (déduit à l'import des mots de l'objet). Chaque barre mène aux subventions du thème.",
            ["theme", "libelle", "montant_eur", "nombre"],
            [[r["theme"], themes.LABELS.get(r["theme"], r["theme"]), f"{r['total'] / 100:.2f}", r["n"]] for r in by_theme],
            charts.bar_chart([(themes.LABELS.get(r["theme"], r["theme"]), r["total"], "?" + urlencode({**_params(request), "theme": r["theme"]}))
                              for r in by_theme], title="Montants par thème", description="Total par thème.", uid="c-themes"),
        ),
        _chart(
            "communes", "Montant par habitant, par commune du bénéficiaire",
            "Somme des subventions reçues par les bénéficiaires situés dans chaque commune, divisée par sa population.",
            ["code_insee", "commune", "montant_eur", "population", "eur_par_habitant"],
            [[r["code"], r["name"], f"{r['total']:.2f}", r["population"] or "", f"{r['per_inhabitant']:.4f}" if r["per_inhabitant"] else ""] for r in per_commune],
            _map(per_commune, "Subventions par habitant, par commune du bénéficiaire"),
        ),
        _chart(
            "epci", "Montant par habitant, par intercommunalité (EPCI)",
            "Somme des subventions reçues par les bénéficiaires de chaque EPCI, divisée par la population de ses communes.",
            ["siren_epci", "epci", "montant_eur", "population", "eur_par_habitant"],
            [[r["code"], r["name"], f"{r['total']:.2f}", r["population"] or "", f"{r['per_inhabitant']:.4f}" if r["per_inhabitant"] else ""] for r in per_epci],
            charts.bar_chart([(r["name"], (r["per_inhabitant"] or 0) * 100, "?" + urlencode({"territoire": r["code"]})) for r in per_epci[:15]],
                             title="Euros par habitant, par EPCI", description="Montant par habitant des 15 premiers EPCI.", uid="c-epci",
                             value_format=lambda v: f"{v / 100:,.2f} €/hab.".replace(",", " ")),
        ),
        _chart(
            "urbain-rural", "Communes urbaines et rurales",
            "Répartition des montants selon la grille communale de densité de la commune du bénéficiaire (urbain : classes 1 à 4, rural : 5 à 7).",
            ["categorie", "montant_eur"], [[k, f"{v:.2f}"] for k, v in split.items()],
            charts.bar_chart([(k, v * 100, "") for k, v in split.items()], title="Montants urbains et ruraux",
                             description="Total des subventions par catégorie de densité.", uid="c-ur"),
        ),
        _chart(
            "lorenz", f"Concentration : courbe de Lorenz (indice de Gini {g})",
            "Part cumulée des montants en fonction de la part cumulée des bénéficiaires, du plus petit au plus grand.",
            ["part_beneficiaires", "part_montants"], [[f"{x:.4f}", f"{y:.4f}"] for x, y in curve],
            charts.lorenz_chart(curve, gini),
            csv_rows=lambda: [[f"{x:.4f}", f"{y:.4f}"] for x, y in points],
            note=(f"les {len(curve)} points de la courbe (un par centile des bénéficiaires) ; "
                  f"le CSV donne un point par bénéficiaire ({len(points) - 1})") if len(curve) < len(points) else "",
        ),
    ]
    by_name = {c["name"]: c for c in chart_list}
    if request.GET.get("export"):
        return _export(request, by_name)
    for c in chart_list:  # long tables: the page shows the first 50 rows, the CSV has them all
        c["shown"] = c["rows"] if c["note"] else c["rows"][:50]
    page = CountedPaginator(qs.select_related("beneficiary_commune"), 25, count=total["count"]).get_page(request.GET.get("page"))
    return render(request, "finance/subsidies.html", {
        "filters": f, "total": total, "page": page, "query": query, "charts": chart_list, "gini": gini,
        "warning": selectors.quarantine_warning("subventions", year=f.year),
        "completeness": explorer.decree_completeness(),
        "has_demo": explorer.has_demo(),
        "grantors": explorer.by_grantor(filtered=False),
        "years": [r["year"] for r in explorer.by_year(filtered=False)],
        "themes": themes.CHOICES,
    })


def _treemap_summary(parts: list[dict]) -> str:
    total = sum(p["total"] for p in parts if p["total"] > 0)
    if not total:
        return ""
    top = sorted(parts, key=lambda p: -p["total"])[:3]
    text = ", ".join(f"{p['code']} {p['label']}".strip() + f" ({p['total'] / total:.0%})" for p in top)
    return f"Les plus gros postes : {text}."


def _sunburst_chart(parts: list[dict], lines, by: str, base: dict, direction: str, label: str, prefix: str) -> dict:
    """Two levels of the breakdown in one picture: each item of ``parts`` and its sub-levels."""
    def href(item):
        return "" if item["leaf"] else "?" + urlencode({**base, "code": item["code"]})

    tree, rows = [], []
    total = sum(p["total"] for p in parts if p["total"] > 0) or 1
    for p in parts:
        children = [] if p["leaf"] else selectors.breakdown(lines, by, prefix=p["code"])
        name = f"{p['code']} {p['label']}".strip()
        tree.append({"label": name, "value": p["total"], "href": href(p),
                     "children": [{"label": f"{c['code']} {c['label']}".strip(), "value": c["total"], "href": href(c)}
                                  for c in children]})
        rows.append([1, p["code"], p["label"], "", f"{p['total'] / 100:.2f}", f"{p['total'] / total:.1%}"])
        rows += [[2, c["code"], c["label"], p["code"], f"{c['total'] / 100:.2f}", f"{c['total'] / total:.1%}"] for c in children]
    biggest = sorted((r for r in rows if r[0] == 2), key=lambda r: -float(r[4]))[:3]
    detail = ", ".join(f"{r[1]} {r[2]}".strip() + f" ({r[5]})" for r in biggest)
    level = f"des sous-niveaux de {prefix}" if prefix else "des postes de premier niveau"
    description = (
        f"Diagramme en anneaux des {direction}s par {label} : l'anneau intérieur montre {level}, l'anneau extérieur "
        "la subdivision de chacun ; l'angle de chaque secteur est proportionnel à son montant, en partant du haut "
        f"dans le sens des aiguilles d'une montre, du plus grand au plus petit. {_treemap_summary(parts)}"
        + (f" Plus grosses subdivisions : {detail}." if detail else "")
        + " Les secteurs qui ont des sous-niveaux sont des liens vers le détail (touche Tab puis Entrée). "
        "Toutes les valeurs sont dans le tableau des données."
    )
    return _chart(
        "anneaux", f"Répartition des {direction}s par {label} sur deux niveaux", description,
        ["niveau", "code", "libelle", "code_parent", "montant_eur", "part"], rows,
        charts.sunburst(tree, title=f"{direction.capitalize()}s par {label}, deux niveaux",
                        description="Angles proportionnels aux montants ; anneau intérieur : premier niveau, anneau extérieur : sous-niveaux.",
                        uid="c-sb"),
    )


def budgets(request):
    collectivites = selectors.budget_collectivites()
    siret = request.GET.get("collectivite") or (collectivites[0]["collectivite_siret"] if collectivites else "")
    ctx = {"collectivites": collectivites, "siret": siret}
    if not siret:
        return render(request, "finance/budgets.html", ctx)
    years = selectors.budget_years(siret)
    year = int(request.GET["annee"]) if request.GET.get("annee", "").isdigit() else (years[-1] if years else None)
    types = selectors.budget_types(siret, year) if year else []
    budget_type = request.GET.get("type") if request.GET.get("type") in types else (types[0] if types else "")
    by = request.GET.get("par") if request.GET.get("par") in ("fonction", "nature") else "fonction"
    direction = request.GET.get("sens") if request.GET.get("sens") in ("dépense", "recette") else "dépense"
    prefix = "".join(ch for ch in request.GET.get("code", "") if ch.isalnum())[:10]
    operations = request.GET.get("operations") if request.GET.get("operations") in selectors.OPERATIONS else "reelles"
    all_lines = selectors.budget_lines(siret, year, budget_type) if year else selectors.budget_lines(siret, 0, "")
    lines = selectors.of_operations(all_lines, operations)
    secs = selectors.sections(all_lines)
    base = {"collectivite": siret, "annee": year, "type": budget_type, "par": by, "sens": direction, "operations": operations}
    parts = selectors.breakdown(lines.filter(direction=direction), by, prefix=prefix)
    evo = selectors.evolution(siret, operations)
    similar = selectors.similar_collectivites(siret, year, budget_type, operations=operations) if year else []
    label = "fonction" if by == "fonction" else "nature"
    counted = selectors.OPERATIONS[operations]
    chart_list = [
        _chart(
            "repartition", f"Répartition des {direction}s par {label}" + (f" (sous-niveaux de {prefix})" if prefix else ""),
            f"Carte proportionnelle (treemap) des {direction}s par {label} ({counted}) : la surface de chaque rectangle est proportionnelle "
            f"à son montant, du plus grand (en haut à gauche) au plus petit. {_treemap_summary(parts)} "
            "Les rectangles qui ont des sous-niveaux sont des liens vers le détail (touche Tab puis Entrée). "
            "Toutes les valeurs sont dans le tableau des données.",
            ["code", "libelle", "montant_eur"], [[p["code"], p["label"], f"{p['total'] / 100:.2f}"] for p in parts],
            charts.treemap([(f"{p['code']} {p['label']}".strip(), p["total"],
                             "" if p["leaf"] else "?" + urlencode({**base, "code": p["code"]})) for p in parts],
                           title=f"{direction.capitalize()}s par {label}", description="Surfaces proportionnelles aux montants.", uid="c-rep"),
        ),
        _sunburst_chart(parts, lines.filter(direction=direction), by, base, direction, label, prefix),
        _chart(
            "evolution", "Évolution au fil des exercices", f"Total des dépenses et des recettes par exercice et type de budget ({counted}).",
            ["annee", "type", "sens", "montant_eur"], [[r["year"], r["budget_type"], r["direction"], f"{r['total'] / 100:.2f}"] for r in evo],
            charts.bar_chart([(f"{r['year']} {r['budget_type']} ({r['direction']})", r["total"], "") for r in evo],
                             title="Évolution", description="Totaux par exercice, type de budget et sens.", uid="c-evo"),
        ),
        _chart(
            "comparaison", "Comparaison avec des collectivités de population proche",
            f"Dépenses totales et dépenses par habitant ({counted}) des collectivités dont la population est la plus proche.",
            ["siret", "collectivite", "population", "depenses_eur", "eur_par_habitant"],
            [[r["collectivite_siret"], r["collectivite_name"], r["population"] or "", f"{r['total'] / 100:.2f}",
              f"{r['per_inhabitant']:.2f}" if r["per_inhabitant"] else ""] for r in similar],
            charts.bar_chart([(r["collectivite_name"], (r["per_inhabitant"] or 0) * 100, "") for r in similar],
                             title="Dépenses par habitant", description="Dépenses par habitant.", uid="c-cmp",
                             value_format=lambda v: f"{v / 100:,.0f} €/hab.".replace(",", " ")),
        ),
    ]
    if request.GET.get("export"):
        return _export(request, {c["name"]: c for c in chart_list})
    for c in chart_list:
        c["shown"] = c["rows"]
    orgs = [pk for pk in all_lines.order_by().values_list("organisation_id", flat=True).distinct() if pk]
    name = next((c["collectivite_name"] for c in collectivites if c["collectivite_siret"] == siret), siret)
    balance = [
        {"section": s, "ok": a["recette"] == a["dépense"], "diff": a["recette"] - a["dépense"], **a}
        for s, a in secs.items() if a["recette"] or a["dépense"]
    ]
    counted_secs = {s: (a["dépense"] - a["dépense_ordre"], a["recette"] - a["recette_ordre"]) if operations == "reelles"
                    else (a["dépense"], a["recette"]) for s, a in secs.items()}
    ctx.update({
        "name": name, "years": years, "year": year, "types": types, "budget_type": budget_type, "by": by,
        "direction": direction, "prefix": prefix, "sections": balance, "charts": chart_list, "base": urlencode(base),
        "up": urlencode({**base, "code": prefix[:-1]}) if prefix else "",
        "total_depenses": sum(d for d, _ in counted_secs.values()), "total_recettes": sum(r for _, r in counted_secs.values()),
        "operations": operations, "operation_choices": selectors.OPERATIONS, "counted": counted,
        "has_ordre": any(a["dépense_ordre"] or a["recette_ordre"] for a in secs.values()),
        "unflagged": selectors.unflagged_lines(all_lines),
        "warning": selectors.quarantine_warning("budget", orgs or None, year),
        "is_demo": all_lines.filter(is_demo=True).exists(),
        "label_notes": _label_notes(all_lines),
    })
    return render(request, "finance/budgets.html", ctx)


def _label_notes(lines) -> list[str]:
    """Where the labels of the budget's nomenclatures come from, when no official plan is loaded."""
    from .nomenclature import plan

    notes = []
    for nomen in sorted(set(lines.order_by().values_list("nomenclature", flat=True).distinct())):
        p = plan(nomen)
        if p is not None and not p.complete:
            notes.append(
                f"Aucun plan de compte officiel {nomen} n'est chargé : les libellés viennent du fichier importé, "
                f"sinon des {p.source} ; « (compte 65748) » ou « (sous-fonction 311) » signale un code libellé "
                "d'après son code parent."
            )
    return notes


@login_required
def upload(request):
    orgs = organisations_user_can_edit(request.user).order_by("name")
    ctx = {"organisations": orgs, "errors": {}}
    if request.method == "POST":
        org = orgs.filter(slug=request.POST.get("organisation", "")).first()
        kind = request.POST.get("kind", "")
        upload_file = request.FILES.get("file")
        if org is None:
            ctx["errors"]["organisation"] = "Choisissez une organisation pour laquelle vous êtes éditeur."
        if kind not in ImportBatch.Kind.values:
            ctx["errors"]["kind"] = "Choisissez le type de fichier : subventions ou budget."
        if upload_file is None:
            ctx["errors"]["file"] = "Joignez le fichier CSV à importer."
        if not ctx["errors"]:
            try:
                batch = services.import_upload(request.user, org, kind, upload_file, nomenclature=request.POST.get("nomenclature", "M57"))
            except PermissionDenied as exc:
                ctx["errors"]["organisation"] = str(exc)
            except services.ImportRefused as exc:
                ctx["errors"]["file"] = str(exc)
            else:
                return redirect("finance:batch", pk=batch.pk)
        return render(request, "finance/upload.html", ctx, status=422)
    return render(request, "finance/upload.html", ctx)


def batch_report(request, pk: int):
    batch = get_object_or_404(ImportBatch.objects.select_related("organisation"), pk=pk)
    return render(request, "finance/batch.html", {
        "batch": batch, "quarantine": batch.quarantine.all()[:500], "can_correct": services.can_correct(request.user, batch),
        "corrected": request.GET.get("corrigee", ""),
    })


@login_required
def correct_row(request, pk: int, row_pk: int):
    """Form pre-filled with a quarantined row's values and its French reasons; re-submitted, the
    row is imported if it now passes the checks."""
    batch = get_object_or_404(ImportBatch.objects.select_related("organisation"), pk=pk)
    row = get_object_or_404(QuarantinedRow, pk=row_pk, batch=batch)
    if not services.can_correct(request.user, batch):
        raise PermissionDenied("Il faut être éditeur ou administrateur de l'organisation de cet import pour corriger ses lignes.")
    fields = [{"name": name, "value": value, "id": f"c-{i}"} for i, (name, value) in enumerate(row.raw.items())]
    reasons = row.reasons
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in row.raw}
        obj, new_reasons = services.correct_quarantined_row(request.user, row, values)
        if obj is not None:
            return redirect(f"{reverse('finance:batch', args=[batch.pk])}?corrigee={row.line}")
        reasons = new_reasons
        fields = [{**f, "value": values[f["name"]]} for f in fields]
        status = 422
    return render(request, "finance/correct.html", {
        "batch": batch, "row": row, "fields": fields, "reasons": reasons, "resubmitted": request.method == "POST",
    }, status=status)
