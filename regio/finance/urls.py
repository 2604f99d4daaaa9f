from django.urls import path

from . import views

urlpatterns = [
    path("subventions/", views.subsidies, name="subsidies"),
    path("budgets/", views.budgets, name="budgets"),
    path("budgets/importer", views.upload, name="upload"),
    path("budgets/imports/<int:pk>", views.batch_report, name="batch"),
    path("budgets/imports/<int:pk>/quarantaine/<int:row_pk>", views.correct_row, name="correct_row"),
]
