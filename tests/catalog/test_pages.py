import xml.etree.ElementTree as ET

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regio.catalog import services
from regio.catalog.models import Dataset, Discussion

pytestmark = pytest.mark.django_db


def test_search_page_with_facets(client, dataset):
    html = client.get("/donnees/?q=subvention").content.decode()
    assert "Subventions versées aux associations" in html
    assert "1 jeu de données pour « subvention »" in html
    assert 'href="?q=subvention&amp;licence=lov2"' in html
    filtered = client.get("/donnees/?q=subvention&format=pdf").content.decode()
    assert "Aucun jeu de données ne correspond" in filtered


def test_dataset_page_shows_resources_metadata_links_and_inert_scripts(client, agent, dataset):
    services.update_dataset(agent, dataset, {"description": "Voir <script>alert('x')</script> **ici**",
                                             "conforms_to": "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"})
    response = client.get(f"/donnees/{dataset.slug}")
    html = response.content.decode()
    assert "<script>alert" not in html and "<strong>ici</strong>" in html
    assert "/donnees/ressources/" in html and "Télécharger" in html
    assert f"/api/1/datasets/{dataset.slug}" in html and f"/donnees/{dataset.slug}/dcat.ttl" in html
    assert "Licence Ouverte / Open Licence version 2.0" in html
    assert "scdl/subventions" in html
    assert "Signaler un problème" in html
    assert Dataset.objects.get(pk=dataset.pk).views_count == 1


def test_download_counts_and_redirects(client, dataset):
    resource = dataset.resources.get()
    response = client.get(f"/donnees/ressources/{resource.uid}/telecharger")
    assert response.status_code == 302 and response["Location"] == resource.url
    dataset.refresh_from_db()
    assert dataset.downloads_count == 1


def test_drafts_are_hidden_from_the_public(client, agent, amiens):
    draft = services.create_dataset(agent, amiens, {"title": "Brouillon", "licence": "lov2"})
    assert client.get(f"/donnees/{draft.slug}").status_code == 404
    client.force_login(agent)
    assert "Brouillon : ce jeu de données n'est pas publié" in client.get(f"/donnees/{draft.slug}").content.decode()


def test_create_form_shows_french_errors_then_creates(client, agent):
    client.force_login(agent)
    form = client.get("/donnees/nouveau")
    assert form.status_code == 200 and "Commune de Amiens" in form.content.decode()
    org_id = agent.memberships.get().organisation_id
    bad = client.post("/donnees/nouveau", {"title": "", "publisher": org_id, "licence": "", "frequency": "UNKNOWN"})
    text = bad.content.decode()
    assert "Le titre est obligatoire." in text and "La licence est obligatoire" in text
    ok = client.post("/donnees/nouveau", {"title": "Arbres remarquables", "publisher": org_id, "licence": "lov2",
                                          "frequency": "ANNUAL", "themes": ["ENVI"], "keywords": "arbres, nature", "publish": "1"})
    assert ok.status_code == 302
    created = Dataset.objects.get(title="Arbres remarquables")
    assert created.status == "published" and created.keywords == ["arbres", "nature"]


def test_upload_form_enforces_the_size_limit(client, agent, dataset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.REGIO_MAX_UPLOAD_MB = 1
    client.force_login(agent)
    big = SimpleUploadedFile("gros.csv", b"x" * (1024 * 1024 + 1), content_type="text/csv")
    text = client.post(f"/donnees/{dataset.slug}/ressources/ajouter", {"title": "Gros", "file": big}).content.decode()
    assert "dépasse la taille maximale autorisée de 1 Mo" in text
    small = SimpleUploadedFile("petit.csv", b"a;b\n1;2\n", content_type="text/csv")
    assert client.post(f"/donnees/{dataset.slug}/ressources/ajouter", {"title": "Petit", "file": small}).status_code == 302
    uploaded = dataset.resources.get(title="Petit")
    download = client.get(f"/donnees/ressources/{uploaded.uid}/telecharger")
    assert b"".join(download.streaming_content) == b"a;b\n1;2\n"


def test_other_organisation_editor_gets_403_on_pages(client, dataset, lille_agent):
    client.force_login(lille_agent)
    assert client.get(f"/donnees/{dataset.slug}/modifier").status_code == 403
    assert client.post(f"/donnees/{dataset.slug}/archiver").status_code == 403
    assert client.get(f"/donnees/{dataset.slug}/ressources/ajouter").status_code == 403


def test_archive_button(client, agent, dataset):
    client.force_login(agent)
    assert client.post(f"/donnees/{dataset.slug}/archiver").status_code == 302
    dataset.refresh_from_db()
    assert dataset.status == "archived"


def test_signaler_un_probleme(client, dataset, lille_agent):
    client.force_login(lille_agent)
    response = client.post(f"/donnees/{dataset.slug}/discussions", {"title": "Doublons", "body": "Deux lignes identiques."})
    assert response.status_code == 302
    discussion = Discussion.objects.get()
    assert discussion.author == lille_agent
    assert "Deux lignes identiques." in client.get(f"/donnees/{dataset.slug}").content.decode()


def test_moderation_page(client, asso_member, association, moderator):
    ds = services.create_dataset(asso_member, association, {"title": "Compteurs", "licence": "lov2"}, publish=True)
    client.force_login(asso_member)
    assert client.get("/donnees/moderation").status_code == 403
    client.force_login(moderator)
    assert "Compteurs" in client.get("/donnees/moderation").content.decode()
    client.post("/donnees/moderation", {"dataset": ds.pk, "decision": "approve"})
    ds.refresh_from_db()
    assert ds.moderation == "approved" and ds.is_public


def test_publisher_and_territory_pages(client, dataset):
    assert "Subventions versées" in client.get("/donnees/producteurs/amiens-80021").content.decode()
    html = client.get("/territoire/80021").content.decode()
    assert "Jeux de données ouverts sur ce territoire" in html


def test_atom_feed_and_sitemap(client, dataset):
    feed = ET.fromstring(client.get("/donnees/flux.atom").content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert [e.find("a:title", ns).text for e in entries] == ["Subventions versées aux associations"]
    assert entries[0].find("a:id", ns).text == f"urn:uuid:{dataset.uid}"
    index = client.get("/sitemap.xml").content.decode()
    assert "sitemap-donnees.xml" in index
    section = client.get("/sitemap-donnees.xml").content.decode()
    assert f"/donnees/{dataset.slug}</loc>" in section
