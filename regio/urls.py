"""URLs: each Regio app with a ``urls.py`` plugs in at the root (its paths are French)."""

from importlib import import_module

from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from regio.api import api

admin.site.site_header = "Administration Regio"
admin.site.site_title = "Regio"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/1/", api.urls),
]

for config in apps.get_app_configs():
    if not config.name.startswith("regio."):
        continue
    try:
        module = import_module(f"{config.name}.urls")
    except ModuleNotFoundError as exc:
        if exc.name != f"{config.name}.urls":
            raise
        continue
    urlpatterns.append(path("", include((module.urlpatterns, config.label), namespace=config.label)))

handler404 = "regio.core.views.not_found"
handler500 = "regio.core.views.server_error"
