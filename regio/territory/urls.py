from django.urls import path, re_path

from . import views

urlpatterns = [
    path("territoire/", views.index, name="index"),
    path("territoire/recherche", views.search, name="search"),
    path("territoire/region/<str:code>", views.region_detail, name="region"),
    path("territoire/departement/<str:code>", views.departement_detail, name="departement"),
    path("territoire/epci/<str:siren>", views.epci_detail, name="epci"),
    re_path(r"^territoire/(?P<code>[0-9AB]{5})$", views.commune_detail, name="commune"),
    re_path(r"^territoire/(?P<code>[^/]+)$", views.commune_detail),
]
