from django.urls import path

from . import views

urlpatterns = [
    path("debats/", views.debate_list, name="list"),
    path("debats/carte", views.debate_map, name="map"),
    path("debats/calendrier", views.debate_calendar, name="calendar"),
    path("debats/export.ics", views.export_ics, name="export_ics"),
    path("debats/feed.xml", views.feed, name="feed"),
    path("debats/<int:pk>", views.debate_detail, name="detail"),
    path("debats/declarer", views.submit, name="submit"),
    path("debats/espace-agent", views.agent_space, name="agent"),
    path("debats/moderation", views.moderation, name="moderation"),
    path("debats/import", views.upload, name="upload"),
    path("debats/modele.csv", views.template_file, name="template"),
    path("debats/sources/<int:pk>", views.source_runs, name="source"),
    path("debats/sources/ajouter", views.add_source, name="add_source"),
    path("debats/alertes", views.subscribe, name="subscribe"),
    path("debats/alertes/confirmer/<str:token>", views.confirm, name="confirm"),
    path("debats/alertes/desabonner/<str:token>", views.unsubscribe_view, name="unsubscribe"),
    path("debats/mes-donnees", views.my_data, name="my_data"),
    path("debats/mes-donnees/effacer/<str:token>", views.erase, name="erase"),
]
