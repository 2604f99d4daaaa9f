from __future__ import annotations

import pytest

from regio.crowdfunding.models import Project

from .conftest import make_project, make_user

URL = "/financement-participatif/gestion/moderation"


@pytest.fixture
def submitted(owner, moderator):
    from regio.crowdfunding import services

    project = make_project(owner, moderator, publish=False, title="Four à pain du village")
    services.submit_project(owner, project)
    return project


def test_queue_lists_submitted_projects_only(client, moderator, owner, submitted):
    draft = make_project(owner, moderator, publish=False, title="Brouillon pas encore soumis")
    published = make_project(owner, moderator, title="Déjà publié")
    client.force_login(moderator)
    page = client.get(URL).content.decode()
    assert "Four à pain du village" in page
    assert draft.title not in page
    assert published.title not in page


def test_moderator_approves(client, moderator, submitted):
    client.force_login(moderator)
    response = client.post(URL, {"project": submitted.pk, "decision": "approve", "note": ""})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.moderation_status == Project.Moderation.PUBLISHED
    assert submitted.published_at is not None


def test_moderator_rejects_with_a_reason(client, moderator, submitted):
    client.force_login(moderator)
    client.post(URL, {"project": submitted.pk, "decision": "reject", "note": "Budget incomplet."})
    submitted.refresh_from_db()
    assert submitted.moderation_status == Project.Moderation.REJECTED
    assert submitted.moderation_note == "Budget incomplet."


def test_reject_without_a_reason_is_refused(client, moderator, submitted):
    client.force_login(moderator)
    page = client.post(URL, {"project": submitted.pk, "decision": "reject", "note": "  "}, follow=True).content.decode()
    assert "Indiquez au porteur le motif du refus." in page
    submitted.refresh_from_db()
    assert submitted.moderation_status == Project.Moderation.SUBMITTED


def test_already_moderated_project_is_refused(client, moderator, submitted):
    client.force_login(moderator)
    client.post(URL, {"project": submitted.pk, "decision": "approve"})
    page = client.post(URL, {"project": submitted.pk, "decision": "reject", "note": "Trop tard"}, follow=True).content.decode()
    assert "Seul un projet soumis peut être modéré." in page
    submitted.refresh_from_db()
    assert submitted.moderation_status == Project.Moderation.PUBLISHED


def test_others_get_403_and_no_link(client, owner, submitted):
    client.force_login(owner)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"project": submitted.pk, "decision": "approve"}).status_code == 403
    submitted.refresh_from_db()
    assert submitted.moderation_status == Project.Moderation.SUBMITTED
    assert URL not in client.get("/financement-participatif/").content.decode()
    cdo = make_user(is_cdo=True)
    client.force_login(cdo)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "connexion" in response["Location"] or "login" in response["Location"]


def test_link_shown_to_moderators(client, moderator):
    client.force_login(moderator)
    assert URL in client.get("/financement-participatif/").content.decode()
    assert URL in client.get("/financement-participatif/programmes/").content.decode()
