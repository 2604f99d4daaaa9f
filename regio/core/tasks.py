"""Background jobs shared by every app (django-tasks, database backend, run by `regio worker`)."""

from django.core.mail import send_mail
from django_tasks import task


@task()
def send_email(subject: str, body: str, recipients: list[str]) -> int:
    """Send one email outside the request (SMTP may be slow or down; the job is retried by the worker)."""
    return send_mail(subject, body, None, recipients)
