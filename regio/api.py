"""The JSON API under /api/1/: every Regio app with an ``api.py`` exposing ``router`` plugs in."""

from ninja import NinjaAPI

from regio.core.problems import install_handlers
from regio.core.registry import app_modules

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

for _config, module in app_modules("api"):
    api.add_router("", module.router)
