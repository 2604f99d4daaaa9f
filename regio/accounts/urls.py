from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("compte/", views.profile, name="profile"),
    path("compte/inscription", views.signup, name="signup"),
    path("compte/confirmer/<str:token>", views.confirm, name="confirm"),
    path(
        "compte/connexion",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("compte/deconnexion", auth_views.LogoutView.as_view(), name="logout"),
    path("compte/mes-donnees", views.my_data, name="my_data"),
    path("compte/supprimer", views.delete_account, name="delete"),
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/nouvelle", views.organisation_create, name="organisation_create"),
    path("organisations/adhesions/<int:pk>/decision", views.decide, name="decide"),
    path("organisations/<slug:slug>", views.organisation_detail, name="organisation"),
    path("organisations/<slug:slug>/membres", views.organisation_members, name="organisation_members"),
]
