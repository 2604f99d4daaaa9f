"""Who may do what in the debates registry."""

from regio.accounts.permissions import can_edit_for, organisations_user_can_edit

from .services import is_region_moderator


def can_submit(user) -> bool:
    return any(o.is_collectivite for o in organisations_user_can_edit(user))


def submitting_organisations(user):
    return [o for o in organisations_user_can_edit(user) if o.is_collectivite]


def can_moderate(user) -> bool:
    return is_region_moderator(user)


def can_edit_debate(user, debate) -> bool:
    return bool(debate.organiser and can_edit_for(user, debate.organiser)) or is_region_moderator(user)
