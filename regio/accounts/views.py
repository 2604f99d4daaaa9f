import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from regio.core.text import normalize_text

from . import permissions, services
from .forms import JoinForm, OrganisationForm, SignUpForm
from .models import Membership, Organisation


def signup(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_up(form.cleaned_data["email"], form.cleaned_data["password"], form.cleaned_data["full_name"])
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "accounts/signup_done.html", {"email": form.cleaned_data["email"]})
    return render(request, "accounts/signup.html", {"form": form})


def confirm(request, token):
    try:
        services.confirm_email(token)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:signup")
    messages.success(request, "Votre adresse est confirmée : vous pouvez vous connecter.")
    return redirect("accounts:login")


@login_required
def profile(request):
    memberships = request.user.memberships.select_related("organisation").order_by("organisation__name")
    return render(
        request,
        "accounts/profile.html",
        {"memberships": memberships, "pending": services.pending_requests_for(request.user)[:200]},
    )


@login_required
def my_data(request):
    data = services.export_personal_data(request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2, default=str), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="mes-donnees-regio.json"'
    return response


@login_required
def delete_account(request):
    if request.method == "POST":
        if request.POST.get("confirm") != "SUPPRIMER":
            messages.error(request, "Pour confirmer, saisissez SUPPRIMER en majuscules.")
        else:
            user = request.user
            logout(request)
            services.erase_personal_data(user)
            messages.success(request, "Votre compte et vos données personnelles ont été supprimés.")
            return redirect("core:home")
    return render(request, "accounts/delete.html")


def organisation_list(request):
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    qs = Organisation.objects.select_related("commune", "departement")
    if kind in Organisation.Kind.values:
        qs = qs.filter(kind=kind)
    if q:
        words = normalize_text(q).split()
        for word in words:
            qs = qs.filter(Q(name__icontains=word) | Q(slug__icontains=word))
    page = Paginator(qs.order_by("kind", "name"), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/organisation_list.html", {"page": page, "q": q, "kind": kind, "kinds": Organisation.Kind.choices})


def organisation_detail(request, slug):
    organisation = get_object_or_404(Organisation.objects.select_related("commune", "epci", "departement", "region"), slug=slug)
    members = organisation.memberships.filter(status=Membership.Status.ACTIVE).select_related("user")
    my_membership = (
        organisation.memberships.filter(user=request.user).first() if request.user.is_authenticated else None
    )
    form = JoinForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/compte/connexion?next={request.path}")
        if form.is_valid():
            try:
                services.request_membership(request.user, organisation, role=form.cleaned_data["role"], message=form.cleaned_data["message"])
            except services.AccountError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "Votre demande a été envoyée aux administrateurs de l'organisation.")
            return redirect("accounts:organisation", slug=slug)
    return render(
        request,
        "accounts/organisation_detail.html",
        {
            "organisation": organisation,
            "members_count": members.count(),
            "my_membership": my_membership,
            "form": form,
            "can_manage": permissions.can_manage_members(request.user, organisation),
            "claimed": permissions.is_claimed(organisation),
        },
    )


@login_required
def organisation_create(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.register_organisation(request.user, **form.cleaned_data)
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{organisation.name} est inscrite ; vous en êtes administrateur.")
            return redirect("accounts:organisation", slug=organisation.slug)
    return render(request, "accounts/organisation_form.html", {"form": form})


@login_required
def organisation_members(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    if not permissions.can_manage_members(request.user, organisation):
        raise PermissionDenied("Vous ne gérez pas les membres de cette organisation.")
    memberships = organisation.memberships.select_related("user").order_by("status", "user__email")
    return render(request, "accounts/organisation_members.html", {"organisation": organisation, "memberships": memberships})


@login_required
@require_POST
def decide(request, pk):
    membership = get_object_or_404(Membership.objects.select_related("organisation", "user"), pk=pk)
    approve = request.POST.get("decision") == "approve"
    services.decide_membership(request.user, membership, approve=approve, role=request.POST.get("role") or None)
    messages.success(request, f"Demande de {membership.user.email} {'acceptée' if approve else 'refusée'}.")
    return redirect(request.POST.get("next") or "accounts:profile")
