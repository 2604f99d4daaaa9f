"""Small helpers shared by the test suites of several apps."""

from regio.accounts.models import Membership, User


def make_user(email, **extra):
    """An active (email-confirmed) user."""
    return User.objects.create_user(email, "mot-de-passe-solide-123", is_active=True, **extra)


def member_of(user, org, role="editor"):
    Membership.objects.create(user=user, organisation=org, role=role, status="active")
    return user
