"""Background jobs of the debates registry (run by ``regio worker``)."""

from django_tasks import task

from . import services


@task()
def send_digests_task(frequency: str = "daily") -> int:
    """Daily or weekly digest of the new debates matching each confirmed alert."""
    return services.send_digests(frequency)


@task()
def refresh_statuses_task() -> int:
    services.purge_unconfirmed()
    return services.refresh_statuses()
