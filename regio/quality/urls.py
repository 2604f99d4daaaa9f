from django.urls import path

from . import views

urlpatterns = [
    path("donnees/schemas/", views.schemas, name="schemas"),
    path("donnees/schemas/<slug:slug>/", views.schema_detail, name="schema"),
    path("donnees/validation/<int:pk>/", views.report, name="report"),
]
