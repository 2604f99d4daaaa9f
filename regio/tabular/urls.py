from django.urls import path

from . import views

urlpatterns = [
    path("donnees/tableaux/", views.index, name="index"),
    path("donnees/tableaux/<str:key>/", views.preview, name="preview"),
]
