import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from regio.catalog import selectors, services
from regio.catalog.models import ActivityLog, Dataset, Resource
from regio.catalog.rendering import render_markdown

pytestmark = pytest.mark.django_db

SUBVENTIONS_CSV = "schemas/scdl-subventions/exemple_valide.csv"


def messages(exc):
    return exc.value.message_dict


def test_missing_title_is_refused_in_french(agent, amiens):
    with pytest.raises(ValidationError) as exc:
        services.create_dataset(agent, amiens, {"title": "  ", "licence": "lov2"})
    assert messages(exc)["title"] == ["Le titre est obligatoire."]
    assert not Dataset.objects.exists()


def test_missing_licence_is_refused_in_french(agent, amiens):
    with pytest.raises(ValidationError) as exc:
        services.create_dataset(agent, amiens, {"title": "Budget 2024"})
    assert messages(exc)["licence"][0].startswith("La licence est obligatoire")


def test_unknown_licence_lists_the_accepted_ones(agent, amiens):
    with pytest.raises(ValidationError) as exc:
        services.create_dataset(agent, amiens, {"title": "Budget 2024", "licence": "wtfpl"})
    message = messages(exc)["licence"][0]
    assert message.startswith("Licence inconnue : « wtfpl ».")
    assert "lov2" in message and "odc-odbl" in message


def test_licence_aliases_from_real_records_are_understood(agent, amiens):
    ds = services.create_dataset(agent, amiens, {"title": "Parkings", "licence": "etalab-2.0"})
    assert ds.licence == "lov2"
    assert ds.licence_info.uri == "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def test_duplicate_slug_is_refused(agent, amiens, dataset):
    with pytest.raises(ValidationError) as exc:
        services.create_dataset(agent, amiens, {"title": "Autre", "licence": "lov2", "slug": dataset.slug})
    assert messages(exc)["slug"] == [
        f"L'identifiant « {dataset.slug} » est déjà utilisé par un autre jeu de données : choisissez-en un autre."
    ]


def test_slug_derived_from_title_is_made_unique(agent, amiens, dataset):
    again = services.create_dataset(agent, amiens, {"title": dataset.title, "licence": "lov2"})
    assert again.slug == f"{dataset.slug}-2"


def test_editor_of_another_organisation_gets_403(dataset, lille_agent, lille):
    with pytest.raises(PermissionDenied) as exc:
        services.update_dataset(lille_agent, dataset, {"title": "Piraté"})
    assert "dont vous n'êtes pas éditeur" in str(exc.value)
    with pytest.raises(PermissionDenied):
        services.archive_dataset(lille_agent, dataset)
    with pytest.raises(PermissionDenied):
        services.add_resource(lille_agent, dataset, title="x", url="https://example.org/x.csv")
    dataset.refresh_from_db()
    assert dataset.title == "Subventions versées aux associations"


def test_cannot_publish_for_an_organisation_one_is_not_editor_of(lille_agent, amiens):
    with pytest.raises(PermissionDenied) as exc:
        services.create_dataset(lille_agent, amiens, {"title": "X", "licence": "lov2"})
    assert "Vous ne pouvez pas publier au nom de « Commune de Amiens »" in str(exc.value) or "Amiens" in str(exc.value)


def test_simple_member_cannot_edit(amiens, dataset):
    from tests.factories import make_user, member_of

    reader = member_of(make_user("lecteur@amiens.fr"), amiens, role="member")
    with pytest.raises(PermissionDenied):
        services.update_dataset(reader, dataset, {"title": "Non"})


def test_script_tags_in_description_are_rendered_inert(agent, amiens):
    ds = services.create_dataset(
        agent, amiens,
        {"title": "XSS", "licence": "lov2",
         "description": "**Gras** <script>alert('x')</script> <img src=x onerror=alert(1)> [lien](javascript:alert(2))"},
    )
    html = render_markdown(ds.description)
    assert "<strong>Gras</strong>" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert ds.description.count("<script>") == 1  # what the user typed is kept, only the rendering is sanitised


def test_delete_archives_and_keeps_everything(agent, dataset):
    services.archive_dataset(agent, dataset)
    dataset.refresh_from_db()
    assert dataset.status == "archived"
    assert dataset.resources.count() == 1
    assert not selectors.search_datasets("subvention").total
    assert ActivityLog.objects.filter(dataset=dataset, action="archive").exists()


def test_update_logs_a_field_diff(agent, dataset):
    services.update_dataset(agent, dataset, {"title": "Subventions 2024", "keywords": ["subventions", "2024"], "territories": ["80021", "80"]})
    log = ActivityLog.objects.filter(dataset=dataset, action="update").get()
    assert log.actor == agent
    assert log.changes["title"] == ["Subventions versées aux associations", "Subventions 2024"]
    assert log.changes["territory_codes"] == [["commune:80021"], ["commune:80021", "departement:80"]]
    assert "licence" not in log.changes


def test_unknown_territory_and_theme_are_refused(agent, dataset):
    with pytest.raises(ValidationError) as exc:
        services.update_dataset(agent, dataset, {"territories": ["99999"], "themes": ["FOO"]})
    assert messages(exc)["territories"][0].startswith("Territoire inconnu : 99999")
    assert messages(exc)["themes"][0].startswith("Thème inconnu : FOO.")


def test_dates_must_be_in_order(agent, dataset):
    with pytest.raises(ValidationError) as exc:
        services.update_dataset(agent, dataset, {"temporal_start": "2024-12-31", "temporal_end": "2024-01-01"})
    assert messages(exc)["temporal_end"] == ["La fin de la période couverte doit être postérieure à son début."]


def test_upload_stores_file_with_size_and_sha256(agent, dataset, shared_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = (shared_dir / "standards" / SUBVENTIONS_CSV).read_bytes()
    upload = SimpleUploadedFile("subventions.csv", content, content_type="text/csv")
    resource = services.add_resource(agent, dataset, title="Subventions (fichier)", upload=upload)
    assert resource.size == len(content)
    assert resource.checksum_sha256 == hashlib.sha256(content).hexdigest()
    assert resource.format == "csv" and resource.media_type == "text/csv"
    assert resource.file.read() == content


def test_oversized_upload_is_refused(agent, dataset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.REGIO_MAX_UPLOAD_MB = 1
    upload = SimpleUploadedFile("gros.csv", b"a;b\n" * 300_000, content_type="text/csv")
    with pytest.raises(ValidationError) as exc:
        services.add_resource(agent, dataset, title="Trop gros", upload=upload)
    assert messages(exc)["file"][0].startswith("Le fichier « gros.csv » dépasse la taille maximale autorisée de 1 Mo")
    assert Resource.objects.filter(dataset=dataset).count() == 1
    assert not list(tmp_path.rglob("*.csv"))


def test_resource_needs_url_or_file(agent, dataset):
    with pytest.raises(ValidationError) as exc:
        services.add_resource(agent, dataset, title="Rien")
    assert messages(exc)["url"] == ["Indiquez l'adresse de la ressource ou déposez un fichier."]


def test_first_datasets_of_an_association_wait_for_moderation(asso_member, association, moderator, agent):
    first = services.create_dataset(asso_member, association, {"title": "Compteurs vélo", "licence": "odc-odbl"}, publish=True)
    assert first.status == "published" and first.moderation == "pending"
    assert not selectors.public_datasets().filter(pk=first.pk).exists()
    assert list(services.moderation_queue()) == [first]
    with pytest.raises(PermissionDenied):
        services.moderate_dataset(agent, first, approve=True)
    services.moderate_dataset(moderator, first, approve=True)
    assert selectors.public_datasets().filter(pk=first.pk).exists()
    # Once one dataset is approved, the next ones are published directly.
    second = services.create_dataset(asso_member, association, {"title": "Comptages piétons", "licence": "odc-odbl"}, publish=True)
    assert second.moderation == "not_required" and second.is_public


def test_rejected_dataset_goes_back_to_draft(asso_member, association, moderator):
    ds = services.create_dataset(asso_member, association, {"title": "Douteux", "licence": "cc-by"}, publish=True)
    services.moderate_dataset(moderator, ds, approve=False, reason="Données personnelles")
    ds.refresh_from_db()
    assert (ds.status, ds.moderation) == ("draft", "rejected")
    assert ActivityLog.objects.get(dataset=ds, action="moderation").changes["reason"] == "Données personnelles"


def test_collectivite_datasets_are_not_moderated_and_cover_its_territory(dataset):
    assert dataset.moderation == "not_required"
    assert [(t.level, t.code, t.name) for t in dataset.territories.all()] == [("commune", "80021", "Amiens")]


def test_discussion_and_personal_data(agent, dataset, lille_agent, mailbox):
    discussion = services.open_discussion(lille_agent, dataset, title="Colonne vide", body="La colonne montant est vide.")
    assert [m.to for m in mailbox] == [[agent.email]]
    assert "La colonne montant est vide." in mailbox[0].body
    services.reply(agent, discussion, "Corrigé, merci !")
    exported = services.export_user(lille_agent)
    assert exported["discussions"][0]["message"] == "La colonne montant est vide."
    services.erase_user(lille_agent)
    assert discussion.messages.first().author is None
    with pytest.raises(ValidationError):
        services.open_discussion(lille_agent, dataset, title="", body="")


def test_reserved_slugs_are_refused(agent, amiens):
    with pytest.raises(ValidationError) as exc:
        services.create_dataset(agent, amiens, {"title": "X", "licence": "lov2", "slug": "nouveau"})
    assert messages(exc)["slug"] == ["L'identifiant « nouveau » est réservé par la plateforme : choisissez-en un autre."]
    assert services.create_dataset(agent, amiens, {"title": "Nouveau", "licence": "lov2"}).slug == "nouveau-2"
