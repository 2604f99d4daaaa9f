"""Who may do what on which dataset."""

from django.core.exceptions import PermissionDenied

from regio.accounts.permissions import can_edit_for


def can_edit_dataset(user, dataset) -> bool:
    return can_edit_for(user, dataset.publisher)


def can_moderate(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or user.is_moderator))


def can_view_dataset(user, dataset) -> bool:
    """Public datasets for everyone; drafts, pending and archived ones for their editors and moderators."""
    return dataset.is_public or can_edit_dataset(user, dataset) or can_moderate(user)


def require_edit(user, dataset) -> None:
    if not can_edit_dataset(user, dataset):
        raise PermissionDenied(
            f"Vous ne pouvez pas modifier ce jeu de données : il est publié par « {dataset.publisher.name} », "
            "dont vous n'êtes pas éditeur."
        )


def require_publish_for(user, organisation) -> None:
    if not can_edit_for(user, organisation):
        raise PermissionDenied(
            f"Vous ne pouvez pas publier au nom de « {organisation.name} » : il faut en être éditeur ou administrateur."
        )


def require_moderator(user) -> None:
    if not can_moderate(user):
        raise PermissionDenied("Seuls les modérateurs de la plateforme peuvent valider ou refuser un jeu de données.")
