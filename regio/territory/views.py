from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from regio.core.registry import platform

from . import selectors
from .maps import Layer, render_svg
from .models import EPCI, Departement, Region


def index(request):
    region = get_object_or_404(Region, code=settings.REGION_CODE)
    return region_detail(request, region.code)


def search(request):
    q = request.GET.get("q", "").strip()
    results = selectors.search_communes(q)[:50] if q else []
    return render(request, "territory/search.html", {"q": q, "results": results})


def commune_detail(request, code):
    commune = selectors.commune_by_code(code)
    if commune is None:
        raise Http404(f"La commune {code} n'existe pas.")
    near = selectors.neighbours(commune, 10.0)
    shapes = selectors.contours([commune.code, *(n.obj.code for n in near)])
    layers = [Layer(shapes.get(n.obj.code, ""), "map-neighbour", n.obj.name, f"/territoire/{n.obj.code}") for n in near]
    layers.append(Layer(shapes.get(commune.code, ""), "map-focus", commune.name))
    svg = render_svg(
        layers,
        title=f"Carte de {commune.name}",
        description=f"Contour de {commune.name} (en couleur) et des {len(near)} communes voisines à moins de 10 km.",
    )
    return render(
        request,
        "territory/commune.html",
        {
            "commune": commune,
            "neighbours": near,
            "map_svg": svg,
            "figures": platform.figures_for("commune", commune.code),
        },
    )


def epci_detail(request, siren):
    epci = get_object_or_404(EPCI.objects.select_related("departement", "region"), siren=siren)
    communes = selectors.communes_of(epci=epci)
    layers = [Layer(c.contour, "map-focus", c.name, f"/territoire/{c.code}") for c in communes]
    svg = render_svg(layers, title=f"Carte de {epci.name}", description=f"Les {len(layers)} communes de {epci.name}.")
    return render(
        request,
        "territory/epci.html",
        {"epci": epci, "communes": communes, "map_svg": svg, "figures": platform.figures_for("epci", epci.siren)},
    )


def departement_detail(request, code):
    dept = get_object_or_404(Departement.objects.select_related("region"), code=code)
    page = Paginator(selectors.communes_of(departement=dept).select_related("epci"), 100).get_page(request.GET.get("page"))
    svg = render_svg(
        [Layer(dept.contour, "map-focus", dept.name)], title=f"Carte de {dept.name}", description=f"Contour du département {dept.name}."
    )
    return render(
        request,
        "territory/departement.html",
        {
            "departement": dept,
            "page": page,
            "epcis": dept.epcis.filter(is_active=True).order_by("name"),
            "map_svg": svg,
            "figures": platform.figures_for("departement", dept.code),
        },
    )


def region_detail(request, code):
    region = get_object_or_404(Region, code=code)
    departements = list(selectors.departements_of(region))
    svg = render_svg(
        [Layer(d.contour, "map-focus", d.name, f"/territoire/departement/{d.code}") for d in departements],
        title=f"Carte de la région {region.name}",
        description=f"Les {len(departements)} départements de la région {region.name} ; chacun est un lien.",
    )
    return render(
        request,
        "territory/region.html",
        {
            "region": region,
            "departements": departements,
            "key": selectors.region_key_figures(region),
            "map_svg": svg,
            "figures": platform.figures_for("region", region.code),
        },
    )
