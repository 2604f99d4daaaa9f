from django.urls import path

from . import views

urlpatterns = [
    path("donnees/schemas/", views.schemas, name="schemas"),
    path("donnees/schemas/<slug:slug>/", views.schema_detail, name="schema"),
    path("donnees/validation/<int:pk>/", views.report, name="report"),
    path("donnees/ressources/<int:pk>/declarer-schema", views.declare_schema, name="declare_schema"),
]
