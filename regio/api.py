"""The JSON API under /api/1/: every Regio app with an ``api.py`` exposing ``router`` plugs in."""

from importlib import import_module

from django.apps import apps
from ninja import NinjaAPI

from regio.core.problems import install_handlers

api = NinjaAPI(
    title="API Regio",
    version="1",
    description=(
        "API de la plateforme numérique régionale. Les listes répondent "
        "`{data, page, page_size, total, next_page}` ; les erreurs sont au format `application/problem+json`."
    ),
    urls_namespace="api-1",
    docs_url="/docs",
)
install_handlers(api)

for config in apps.get_app_configs():
    if not config.name.startswith("regio."):
        continue
    try:
        module = import_module(f"{config.name}.api")
    except ModuleNotFoundError as exc:
        if exc.name != f"{config.name}.api":
            raise
        continue
    api.add_router("", module.router)
