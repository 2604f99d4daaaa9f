from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accessibilite", views.accessibility, name="accessibility"),
    path("mentions-legales", views.legal, name="legal"),
]
