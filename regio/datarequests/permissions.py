"""Who may do what on a data request."""

from __future__ import annotations

from regio.accounts.permissions import can_edit_for

from .models import DataRequest, Status


def is_cdo(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.is_cdo))


def can_moderate(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.is_cdo or user.is_moderator))


def is_requester(user, request: DataRequest) -> bool:
    return bool(user and user.is_authenticated and request.requester_id == user.pk)


def is_producer(user, request: DataRequest) -> bool:
    org = request.assigned_to or request.holder
    return bool(org and can_edit_for(user, org))


def can_transition(user, request: DataRequest, target: str) -> bool:
    if is_cdo(user):
        return True
    if target == Status.WITHDRAWN:
        return is_requester(user, request)
    if target in (Status.IN_PROGRESS, Status.RELEASED, Status.REFUSED):
        return request.assigned_to_id is not None and is_producer(user, request)
    return False


def can_view(user, request: DataRequest) -> bool:
    return request.is_public or can_moderate(user) or is_requester(user, request)
