from django_tasks import task


@task()
def close_due_campaigns() -> list[str]:
    """Close every published campaign whose deadline has passed (all-or-nothing settlement)."""
    from . import services

    return [f"{r.state}: {r.settled} réglé(s), {r.unsettled} en attente" for r in services.close_due_campaigns()]


@task()
def publish_funded_projects_task() -> str:
    """Refresh the open dataset of funded projects in the catalogue."""
    from .opendata import publish_funded_projects

    dataset = publish_funded_projects()
    return dataset.slug if dataset else "pas d'organisation Région : rien publié"
