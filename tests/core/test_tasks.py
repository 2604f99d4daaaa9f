import pytest
from django.core.management import call_command

from regio.core.tasks import send_email

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_runs_queued_jobs_from_the_database(mailbox):
    result = send_email.using(backend="database").enqueue("Objet", "Corps", ["x@example.fr"])
    assert result.status == "READY" and mailbox == []
    call_command("worker", "--batch", "--backend", "database")
    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert [m.subject for m in mailbox] == ["Objet"]
