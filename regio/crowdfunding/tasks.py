from django_tasks import task


@task()
def close_due_campaigns() -> list[str]:
    """Close every published campaign whose deadline has passed (all-or-nothing settlement)."""
    from . import services

    return [f"{r.state}: {r.settled} réglé(s), {r.unsettled} en attente" for r in services.close_due_campaigns()]
