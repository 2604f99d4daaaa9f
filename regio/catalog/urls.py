from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from . import ckan, dcat, views
from .feeds import SITEMAPS, DatasetFeed

urlpatterns = [
    path("donnees/", views.search, name="search"),
    path("donnees/nouveau", views.dataset_create, name="create"),
    path("donnees/moderation", views.moderation, name="moderation"),
    path("donnees/flux.atom", DatasetFeed(), name="feed"),
    path("donnees/producteurs/<slug:slug>", views.publisher, name="publisher"),
    path("donnees/reutilisations/", views.reuse_list, name="reuses"),
    path("donnees/reutilisations/nouvelle", views.reuse_create, name="reuse_create"),
    path("donnees/reutilisations/<slug:slug>", views.reuse_detail, name="reuse"),
    path("donnees/themes/<str:code>", views.theme, name="theme"),
    path("donnees/ressources/<uuid:uid>/telecharger", views.resource_download, name="resource_download"),
    path("donnees/discussions/<int:pk>/repondre", views.discussion_reply, name="discussion_reply"),
    path("donnees/<slug:slug>", views.dataset_detail, name="dataset"),
    path("donnees/<slug:slug>/modifier", views.dataset_edit, name="edit"),
    path("donnees/<slug:slug>/publier", views.dataset_publish, name="publish"),
    path("donnees/<slug:slug>/archiver", views.dataset_archive, name="archive"),
    path("donnees/<slug:slug>/ressources/ajouter", views.resource_add, name="resource_add"),
    path("donnees/<slug:slug>/discussions", views.discussion_open, name="discussion_open"),
    path("donnees/<slug:slug>/dcat.ttl", dcat.dataset_view, {"fmt": "ttl"}, name="dataset_ttl"),
    path("donnees/<slug:slug>/dcat.jsonld", dcat.dataset_view, {"fmt": "jsonld"}, name="dataset_jsonld"),
    path("donnees/<slug:slug>/dcat.rdf", dcat.dataset_view, {"fmt": "rdf"}, name="dataset_rdf"),
    path("catalog.ttl", dcat.catalog_view, {"fmt": "ttl"}, name="catalog_ttl"),
    path("catalog.rdf", dcat.catalog_view, {"fmt": "rdf"}, name="catalog_rdf"),
    path("catalog.jsonld", dcat.catalog_view, {"fmt": "jsonld"}, name="catalog_jsonld"),
    path("api/3/action/<str:name>", ckan.action, name="ckan_action"),
    # CKAN answers on both; the ckanapi client calls the unversioned one.
    path("api/action/<str:name>", ckan.action, name="ckan_action_unversioned"),
    path("sitemap.xml", sitemap_views.index, {"sitemaps": SITEMAPS, "sitemap_url_name": "catalog:sitemap_section"}, name="sitemap"),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS}, name="sitemap_section"),
]
