from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from regio.core.registry import platform
from regio.territory import selectors


def home(request):
    region = selectors.platform_region()
    modules = []
    for entry in platform.nav:
        try:
            modules.append({"label": entry.label, "url": reverse(entry.url_name)})
        except NoReverseMatch:
            continue
    context = {"region": region, "modules": modules}
    if region is not None:
        context["key"] = selectors.region_key_figures(region)
        context["departements"] = selectors.departements_of(region)
    return render(request, "core/home.html", context)


def accessibility(request):
    return render(
        request,
        "core/page.html",
        {
            "title": "Accessibilité",
            "paragraphs": [
                "Cette plateforme vise la conformité au référentiel général d'amélioration de l'accessibilité (RGAA 4), "
                "niveau AA des WCAG 2.1. Ses pages sont vérifiées automatiquement avec axe-core à chaque version.",
                "Les cartes sont accompagnées de listes et de tableaux équivalents. Si vous rencontrez un défaut "
                "d'accessibilité, signalez-le à la région : une alternative vous sera proposée.",
            ],
        },
    )


def legal(request):
    return render(
        request,
        "core/page.html",
        {
            "title": "Mentions légales et données personnelles",
            "paragraphs": [
                "La plateforme ne dépose aucun traceur publicitaire et ne fait appel à aucun service tiers : "
                "toutes les ressources des pages sont servies par la plateforme elle-même.",
                "Les données personnelles se limitent à votre adresse électronique, votre nom et vos adhésions. "
                "Depuis « Mon compte », vous pouvez les télécharger ou supprimer votre compte (RGPD, articles 15, 17 et 20).",
            ],
        },
    )


def not_found(request, exception=None):
    message = str(exception) if exception and str(exception) and "Resolver404" not in repr(exception) else ""
    if request.path.startswith("/api/"):
        from regio.core.problems import problem

        return problem(404, message or "Cette ressource n'existe pas.")
    return render(request, "404.html", {"message": message}, status=404)


def server_error(request):
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("500.html").render())
