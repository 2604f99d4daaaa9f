from django.urls import path

from . import views

urlpatterns = [
    path("moissonnage/", views.source_list, name="list"),
    path("moissonnage/nouvelle", views.source_create, name="create"),
    path("moissonnage/<int:pk>", views.source_detail, name="detail"),
    path("moissonnage/<int:pk>/modifier", views.source_edit, name="edit"),
    path("moissonnage/<int:pk>/supprimer", views.source_delete, name="delete"),
    path("moissonnage/<int:pk>/apercu", views.source_preview, name="preview"),
    path("moissonnage/<int:pk>/activation", views.source_toggle, name="toggle"),
    path("moissonnage/<int:pk>/lancer", views.source_run, name="run"),
    path("moissonnage/<int:pk>/passages/<int:run_id>", views.run_detail, name="run_detail"),
    path("moissonnage/<int:pk>/passages/<int:run_id>/annuler", views.run_cancel, name="cancel"),
]
