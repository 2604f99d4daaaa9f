"""URLs: each Regio app with a ``urls.py`` plugs in at the root (its paths are French)."""

from django.contrib import admin
from django.urls import include, path

from regio.api import api
from regio.core.registry import app_modules

admin.site.site_header = "Administration Regio"
admin.site.site_title = "Regio"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/1/", api.urls),
]

for config, module in app_modules("urls"):
    urlpatterns.append(path("", include((module.urlpatterns, config.label), namespace=config.label)))

handler404 = "regio.core.views.not_found"
handler500 = "regio.core.views.server_error"
