"""Personal API tokens for write access to /api/1/ (``Authorization: Bearer rg_…``)."""

from django.utils import timezone
from ninja.security import HttpBearer

from .models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        found = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(token), user__is_active=True).first()
        if found is None:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        request.user = found.user
        return found.user


def session_or_token(request):
    """Ninja auth callable: a logged-in session (with CSRF) or a bearer token."""
    if request.user.is_authenticated:
        return request.user
    return TokenAuth()(request)
