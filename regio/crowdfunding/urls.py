from django.urls import path

from . import views

urlpatterns = [
    path("financement-participatif/", views.project_list, name="projects"),
    path("financement-participatif/projets/nouveau", views.project_create, name="project_create"),
    path("financement-participatif/projets/<slug:slug>", views.project_detail, name="project"),
    path("financement-participatif/projets/<slug:slug>/contribuer", views.pledge_create, name="pledge_create"),
    path("financement-participatif/projets/<slug:slug>/porteur", views.owner_page, name="owner"),
    path("financement-participatif/dons/<str:reference>", views.pledge_detail, name="pledge"),
    path("financement-participatif/programmes/", views.programme_list, name="programmes"),
    path("financement-participatif/programmes/<slug:slug>", views.programme_detail, name="programme"),
    path("financement-participatif/statistiques", views.stats, name="stats"),
    path("financement-participatif/gestion/moderation", views.moderation, name="moderation"),
    path("financement-participatif/gestion/versements", views.payouts, name="payouts"),
    path("financement-participatif/gestion/releves", views.statements, name="statements"),
    path("financement-participatif/gestion/releves/lignes/<int:pk>", views.statement_line_resolve, name="statement_line_resolve"),
]
