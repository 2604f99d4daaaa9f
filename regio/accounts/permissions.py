"""Who may do what on which organisation."""

from .models import Membership, Organisation

EDIT_ROLES = (Membership.Role.ADMIN, Membership.Role.EDITOR)


def active_role(user, organisation: Organisation) -> str | None:
    if not user or not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user, organisation=organisation, status=Membership.Status.ACTIVE)
        .values_list("role", flat=True)
        .first()
    )
    return membership


def is_claimed(organisation: Organisation) -> bool:
    return Membership.objects.filter(
        organisation=organisation, role=Membership.Role.ADMIN, status=Membership.Status.ACTIVE
    ).exists()


def can_manage_members(user, organisation: Organisation) -> bool:
    """Organisation admins; the région's staff for collectivités nobody has claimed yet."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser or active_role(user, organisation) == Membership.Role.ADMIN:
        return True
    return user.is_platform_staff and not is_claimed(organisation)


def can_edit_for(user, organisation: Organisation) -> bool:
    """May publish and edit content on behalf of ``organisation``."""
    if not user or not user.is_authenticated:
        return False
    return user.is_superuser or active_role(user, organisation) in EDIT_ROLES


def organisations_user_can_edit(user):
    if not user or not user.is_authenticated:
        return Organisation.objects.none()
    if user.is_superuser:
        return Organisation.objects.all()
    return Organisation.objects.filter(
        memberships__user=user, memberships__status=Membership.Status.ACTIVE, memberships__role__in=EDIT_ROLES
    ).distinct()
