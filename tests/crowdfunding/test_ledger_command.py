import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from regio.crowdfunding.models import Entry

from .conftest import make_programme, make_project, pledge_and_confirm

pytestmark = pytest.mark.django_db


def test_ledger_check_ok_then_fails_on_imbalance(owner, moderator, backers, capsys):
    project = make_project(owner, moderator, make_programme())
    pledge_and_confirm(backers[0], project, 2_000)
    call_command("ledger", "check")
    assert "Grand livre équilibré" in capsys.readouterr().out
    entry = Entry.objects.filter(debit_cents__gt=0).first()
    Entry.objects.filter(pk=entry.pk).update(debit_cents=entry.debit_cents + 1)
    with pytest.raises(CommandError, match="déséquilibré"):
        call_command("ledger", "check")
    assert "déséquilibrée" in capsys.readouterr().err


def test_ledger_check_exits_non_zero(owner, moderator, backers):
    """Through the real ``regio`` entry point: exit status 1 on imbalance."""
    project = make_project(owner, moderator, make_programme())
    pledge_and_confirm(backers[0], project, 2_000)
    Entry.objects.filter(credit_cents__gt=0).update(credit_cents=1)
    with pytest.raises(SystemExit) as exc:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["regio", "ledger", "check"])
    assert exc.value.code == 1


def test_close_due_command(owner, moderator, backers, capsys):
    from datetime import timedelta

    from django.utils import timezone

    from regio.crowdfunding.models import Project

    project = make_project(owner, moderator, make_programme(), goal_cents=10_000)
    pledge_and_confirm(backers[0], project, 2_000)
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    call_command("crowdfunding", "close-due")
    assert "failed : 1 don(s) réglé(s), 0 en attente" in capsys.readouterr().out
    call_command("ledger", "check")
