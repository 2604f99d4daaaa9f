from datetime import timedelta

import pytest
from django.utils import timezone

from regio.crowdfunding import ledger, services
from regio.crowdfunding.models import MatchReservation, Pledge, Programme, Project
from regio.territory.models import Commune

from .conftest import URBAN_COMMUNE, make_programme, make_project, make_user, pledge_and_confirm

pytestmark = pytest.mark.django_db


def reserved(project):
    return sum(r.amount_cents for r in MatchReservation.objects.filter(project=project).exclude(status="cancelled"))


def test_description_is_sanitised(owner, moderator):
    project = make_project(owner, moderator, description="Bonjour <script>alert(1)</script> [lien](javascript:alert(1)) ![x](https://ailleurs.example/x.png)")
    assert "<script" not in project.description_html
    assert "javascript:" not in project.description_html
    assert "<img" not in project.description_html


def test_moderation_workflow(owner, moderator):
    project = make_project(owner, moderator, publish=False)
    assert project.moderation_status == Project.Moderation.DRAFT
    with pytest.raises(services.NotAllowed):
        services.submit_project(make_user(), project)
    services.submit_project(owner, project)
    with pytest.raises(services.NotAllowed):
        services.moderate_project(owner, project, approve=True)
    with pytest.raises(services.CrowdfundingError, match="motif"):
        services.moderate_project(moderator, project, approve=False)
    services.moderate_project(moderator, project, approve=False, note="Budget incomplet.")
    assert project.moderation_status == Project.Moderation.REJECTED
    services.submit_project(owner, project)
    services.moderate_project(moderator, project, approve=True)
    assert project.is_published and project.published_at


def test_one_to_one_match_with_caps(owner, moderator, backers):
    programme = make_programme(cap_per_pledge_cents=5_000, cap_per_backer_cents=8_000)
    project = make_project(owner, moderator, programme)
    pledge_and_confirm(backers[0], project, 3_000)  # +3000
    assert reserved(project) == 3_000
    pledge_and_confirm(backers[0], project, 10_000)  # +5000 capped per pledge -> backer total 8000 (cap)
    assert reserved(project) == 8_000
    pledge_and_confirm(backers[1], project, 2_000)
    assert reserved(project) == 10_000
    programme.refresh_from_db()
    assert programme.committed_cents == 10_000
    assert ledger.check().ok


def test_ratio_one_to_two(owner, moderator, backers):
    programme = make_programme(ratio_numerator=1, ratio_denominator=2)
    project = make_project(owner, moderator, programme)
    pledge_and_confirm(backers[0], project, 3_001)
    assert reserved(project) == 1_500


def test_min_backers_before_any_match(owner, moderator, backers):
    programme = make_programme(min_backers=3)
    project = make_project(owner, moderator, programme)
    pledge_and_confirm(backers[0], project, 1_000)
    pledge_and_confirm(backers[0], project, 1_000)  # same backer: still one distinct backer
    pledge_and_confirm(backers[1], project, 1_000)
    assert reserved(project) == 0
    pledge_and_confirm(backers[2], project, 1_000)
    assert reserved(project) == 4_000  # every earlier pledge is matched once the threshold is met


def test_fixed_top_up_once_threshold_reached(owner, moderator, backers):
    programme = make_programme(mode=Programme.Mode.TOP_UP, top_up_cents=20_000, top_up_threshold_cents=50_000)
    project = make_project(owner, moderator, programme, goal_cents=100_000)
    pledge_and_confirm(backers[0], project, 30_000)
    assert reserved(project) == 0
    pledge_and_confirm(backers[1], project, 20_000)
    assert reserved(project) == 20_000
    pledge_and_confirm(backers[2], project, 20_000)
    assert reserved(project) == 20_000  # the top-up is granted once


def test_public_aid_ceiling_80_percent(owner, moderator, backers):
    programme = make_programme(ratio_numerator=2, ratio_denominator=1)
    # cost 10 000 €, other public aid 7 000 € → the région may add at most 8 000 − 7 000 = 1 000 €
    project = make_project(owner, moderator, programme, goal_cents=300_000, budget_lines=[("Travaux", 1_000_000)], other_public_funding_cents=700_000)
    pledge_and_confirm(backers[0], project, 100_000)
    assert reserved(project) == 100_000
    pledge_and_confirm(backers[1], project, 100_000)
    assert reserved(project) == 100_000


def test_per_project_cap(owner, moderator, backers):
    programme = make_programme(cap_per_project_cents=15_000)
    project = make_project(owner, moderator, programme)
    pledge_and_confirm(backers[0], project, 10_000)
    pledge_and_confirm(backers[1], project, 10_000)
    assert reserved(project) == 15_000


def test_eligibility_density_category_and_unknown_class(owner, moderator, backers):
    programme = make_programme(categories=["culture"])
    urban = make_project(owner, moderator, programme, commune=URBAN_COMMUNE, category="culture")
    assert "n'est pas dans le territoire éligible" in services.eligibility(programme, urban)[0]
    pledge_and_confirm(backers[0], urban, 1_000)
    assert reserved(urban) == 0
    wrong_category = make_project(owner, moderator, programme, category="artisanat")
    assert "catégorie" in services.eligibility(programme, wrong_category)[0]
    Commune.objects.filter(code="59241").update(density_class=None)
    unknown = make_project(owner, moderator, programme, commune="59241", category="culture")
    assert "inconnue" in services.eligibility(programme, unknown)[0]
    pledge_and_confirm(backers[1], unknown, 1_000)
    assert reserved(unknown) == 0


def test_organisation_kind_eligibility(owner, moderator):
    programme = make_programme(organisation_kinds=["association"])
    project = make_project(owner, moderator, programme)  # carried by a private person
    assert services.eligibility(programme, project) == ["Le type de porteur de projet n'est pas éligible."]


def test_time_window(owner, moderator, backers):
    programme = make_programme(starts_at=timezone.now() + timedelta(days=1))
    project = make_project(owner, moderator, programme)
    pledge_and_confirm(backers[0], project, 1_000)
    assert reserved(project) == 0


def test_envelope_never_overspent_sequentially(owner, moderator, backers):
    programme = make_programme(envelope_cents=2_500)
    projects = [make_project(owner, moderator, programme) for _ in range(2)]
    pledge_and_confirm(backers[0], projects[0], 2_000)
    pledge_and_confirm(backers[1], projects[1], 2_000)
    programme.refresh_from_db()
    assert programme.committed_cents == 2_500
    assert reserved(projects[1]) == 500
    assert ledger.check().ok


def test_pledge_is_idempotent(owner, moderator, backers):
    project = make_project(owner, moderator)
    first, created = services.create_pledge(backers[0], project, 2_000, idempotency_key="clic-1")
    again, created_again = services.create_pledge(backers[0], project, 2_000, idempotency_key="clic-1")
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(services.Conflict, match="déjà servi"):
        services.create_pledge(backers[0], project, 3_000, idempotency_key="clic-1")
    services.confirm_pledge(first.pk)
    services.confirm_pledge(first.pk)
    assert Pledge.objects.filter(project=project).count() == 1
    assert ledger.check().ok
    assert project.pledges.get().transactions.count() == 1


def test_successful_close_captures_and_releases(owner, moderator, backers):
    programme = make_programme()
    project = make_project(owner, moderator, programme, goal_cents=5_000, budget_lines=[("Travaux", 100_000)])
    pledge_and_confirm(backers[0], project, 3_000)
    pledge_and_confirm(backers[1], project, 2_500)
    pending, _ = services.create_pledge(backers[2], project, 1_000, idempotency_key="jamais-paye")
    with pytest.raises(services.Conflict, match="pas terminée"):
        services.close_campaign(project)
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    report = services.close_campaign(project)
    assert report.state == Project.Campaign.FUNDED and report.settled == 2 and report.unsettled == 0
    assert set(project.pledges.values_list("status", flat=True)) == {"captured", "cancelled"}
    assert set(project.reservations.values_list("status", flat=True)) == {"released"}
    assert ledger.check().ok
    payout = services.pay_out(moderator, project)
    assert payout.amount_cents == 5_500 + 5_500
    assert ledger.check().ok
    project.refresh_from_db()
    assert project.campaign_state == Project.Campaign.CLOSED


def test_failed_close_refunds_and_cancels_match(owner, moderator, backers):
    programme = make_programme(envelope_cents=10_000)
    project = make_project(owner, moderator, programme, goal_cents=50_000)
    pledge_and_confirm(backers[0], project, 3_000)
    programme.refresh_from_db()
    assert programme.committed_cents == 3_000
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    report = services.close_campaign(project)
    assert report.state == Project.Campaign.FAILED
    assert list(project.pledges.values_list("status", flat=True)) == ["refunded"]
    assert list(project.reservations.values_list("status", flat=True)) == ["cancelled"]
    programme.refresh_from_db()
    assert programme.committed_cents == 0
    assert ledger.check().ok
    services.close_campaign(project)  # closing again changes nothing
    assert ledger.check().ok


def test_close_due_campaigns(owner, moderator, backers):
    project = make_project(owner, moderator, goal_cents=1_000)
    pledge_and_confirm(backers[0], project, 1_000)
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    reports = services.close_due_campaigns()
    assert [r.state for r in reports] == ["funded"]


def test_updates(owner, moderator):
    project = make_project(owner, moderator)
    update = services.post_update(owner, project, title="Les travaux commencent", body="Merci à *toutes et tous*.")
    assert "<em>" in update.body_html
    with pytest.raises(services.NotAllowed):
        services.post_update(make_user(), project, title="x", body="y")


def test_ledger_check_detects_tampering(owner, moderator, backers):
    project = make_project(owner, moderator)
    pledge = pledge_and_confirm(backers[0], project, 2_000)
    assert ledger.check().ok
    Pledge.objects.filter(pk=pledge.pk).update(amount_cents=2_500)
    report = ledger.check()
    assert not report.ok and report.imbalance_cents > 0
