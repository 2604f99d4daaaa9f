from __future__ import annotations

import pytest

from regio.crowdfunding import services

from .conftest import make_project, make_user, pledge_and_confirm


def test_update_emails_each_backer_with_a_confirmed_pledge_once(owner, moderator, backers, mailbox):
    project = make_project(owner, moderator)
    pledge_and_confirm(backers[0], project, 2_000)
    pledge_and_confirm(backers[0], project, 1_000)  # same backer twice: one email
    services.create_pledge(backers[1], project, 1_500, idempotency_key="pending-only")  # never paid: no email
    shy = backers[2]
    pledge_and_confirm(shy, project, 3_000)  # show_name=False by default: consent irrelevant for the email
    other = make_project(owner, moderator)
    pledge_and_confirm(backers[3], other, 2_000)  # backer of another project

    services.post_update(owner, project, title="Les travaux commencent", body="Merci à toutes et tous.")

    assert sorted(m.to[0] for m in mailbox) == sorted([backers[0].email, shy.email])
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mailbox)
    message = mailbox[0]
    assert "Les travaux commencent" in message.subject
    assert project.title in message.subject
    assert "Merci à toutes et tous." in message.body
    assert f"/financement-participatif/projets/{project.slug}" in message.body


def test_update_without_confirmed_backers_sends_nothing(owner, moderator, mailbox):
    project = make_project(owner, moderator)
    services.post_update(owner, project, title="Bienvenue", body="Premier message.")
    assert mailbox == []


def test_refused_update_sends_nothing(owner, moderator, backers, mailbox):
    project = make_project(owner, moderator)
    pledge_and_confirm(backers[0], project, 2_000)
    with pytest.raises(services.NotAllowed):
        services.post_update(make_user(), project, title="x", body="y")
    assert mailbox == []
