"""RGPD: what the debates registry holds about a person (alerts by e-mail, debates they submitted)."""

from .models import Debate, Subscription


def export(user) -> dict:
    sub = Subscription.objects.filter(email=user.email.lower()).select_related("commune").first()
    return {
        "alerte_debats": None if sub is None else {
            "email": sub.email, "themes": sub.theme_list, "commune": sub.commune.name if sub.commune else None,
            "rayon_km": sub.radius_km, "frequence": sub.frequency,
            "confirmee_le": sub.confirmed_at.isoformat() if sub.confirmed_at else None,
        },
        "debats_declares": list(Debate.objects.filter(submitted_by=user).values("id", "title", "created_at")),
    }


def erase(user) -> None:
    Subscription.objects.filter(email=user.email.lower()).delete()
    Debate.objects.filter(submitted_by=user).update(submitted_by=None)
    Debate.objects.filter(moderated_by=user).update(moderated_by=None)
