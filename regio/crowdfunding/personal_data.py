"""RGPD: what crowdfunding keeps about a person, and its erasure.

Pledges are accounting records (the ledger must keep reconciling), so erasure keeps the amounts
but cuts the link to the person: the backer's name is no longer shown and the message is erased;
the user row itself is anonymised by the accounts app.
"""

from .models import Pledge, Project, Update


def export_user(user) -> dict:
    return {
        "dons": [
            {
                "projet": p.project.title,
                "montant_centimes": p.amount_cents,
                "statut": p.get_status_display(),
                "reference": p.payment_reference,
                "moyen_de_paiement": p.get_provider_display(),
                "nom_visible_du_porteur": p.show_name,
                "message": p.message,
                "cree_le": p.created_at.isoformat(),
            }
            for p in Pledge.objects.filter(backer=user).select_related("project")
        ],
        "projets": [
            {"titre": p.title, "statut": p.get_moderation_status_display(), "collecte": p.get_campaign_state_display()}
            for p in Project.objects.filter(owner=user)
        ],
        "actualites": [{"projet": u.project.title, "titre": u.title} for u in Update.objects.filter(author=user).select_related("project")],
    }


def erase_user(user) -> None:
    Pledge.objects.filter(backer=user).update(show_name=False, message="")
    # Pending pledges will never be paid by an erased account.
    Pledge.objects.filter(backer=user, status=Pledge.Status.PENDING).update(status=Pledge.Status.CANCELLED)
