from django.urls import path

from . import views

urlpatterns = [
    path("demandes-de-donnees/", views.request_list, name="list"),
    path("demandes-de-donnees/nouvelle", views.request_new, name="new"),
    path("demandes-de-donnees/tableau-de-bord", views.dashboard, name="dashboard"),
    path("demandes-de-donnees/rapport-annuel", views.annual_report, name="report"),
    path("demandes-de-donnees/moderation", views.moderation, name="moderation"),
    path("demandes-de-donnees/commentaires/<int:pk>/moderer", views.comment_moderate, name="comment_moderate"),
    path("demandes-de-donnees/<slug:slug>", views.request_detail, name="detail"),
    path("demandes-de-donnees/<slug:slug>/transition", views.request_transition, name="transition"),
    path("demandes-de-donnees/<slug:slug>/soutenir", views.request_support, name="support"),
    path("demandes-de-donnees/<slug:slug>/commenter", views.request_comment, name="comment"),
    path("demandes-de-donnees/<slug:slug>/moderer", views.request_moderate, name="moderate"),
    path("obligations/", views.obligations_page, name="obligations"),
    path("obligations/carte.svg", views.obligations_map, name="obligations_map"),
    path("obligations/gestion", views.obligations_manage, name="obligations_manage"),
    path("obligations/<slug:slug>", views.obligation_detail, name="obligation"),
]
