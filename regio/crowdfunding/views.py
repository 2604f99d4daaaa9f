import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from regio.territory.maps import Layer, render_svg
from regio.territory.models import Commune, Departement
from regio.territory.selectors import commune_by_code_or_postal_code

from . import selectors, services
from .forms import PledgeForm, ProjectForm, StatementForm, UpdateForm
from .models import Category, Payout, Pledge, Programme, Project, StatementLine
from .payments import PaymentError, get_provider
from .payments.bank import StatementError, import_statement, resolve_line


def project_list(request):
    q = request.GET.get("q", "").strip()
    category = request.GET.get("categorie", "")
    state = request.GET.get("etat", "")
    territory_input = request.GET.get("territoire", "").strip()
    territory, territory_label, error = "", "", ""
    if territory_input:
        departement = Departement.objects.filter(code=territory_input).first()
        commune = None if departement else commune_by_code_or_postal_code(territory_input)
        if departement:
            territory, territory_label = departement.code, departement.name
        elif commune:
            territory, territory_label = commune.code, commune.name
        else:
            error = f"Territoire « {territory_input} » introuvable : indiquez un code INSEE, un code postal ou un numéro de département."
    if category not in Category.values:
        category = ""
    if state not in Project.Campaign.values:
        state = ""
    qs = selectors.search_projects(q=q, category=category, territory=territory, state=state)
    if error:
        qs = qs.none()
    page = Paginator(qs, 24).get_page(request.GET.get("page"))
    projects_map = _projects_map(qs)
    progress = selectors.progress_many(page.object_list)
    cards = [(p, progress[p.pk]) for p in page.object_list]
    return render(
        request,
        "crowdfunding/project_list.html",
        {
            "page": page,
            "cards": cards,
            "q": q,
            "category": category,
            "state": state,
            "territory_input": territory_input,
            "territory_label": territory_label,
            "error": error,
            "categories": Category.choices,
            "states": Project.Campaign.choices,
            "programmes": selectors.active_programmes()[:5],
            "projects_map": projects_map,
        },
    )


def _projects_map(qs) -> str:
    """Server-side SVG: the contour of each commune with projects, linking to the project (or to the
    commune's list when it has several). The list of projects under the map is its text alternative."""
    by_commune: dict[str, list[tuple[str, str]]] = {}
    for code, slug, title in qs.order_by().values_list("commune__code", "slug", "title"):
        by_commune.setdefault(code, []).append((slug, title))
    if not by_commune:
        return ""
    layers = []
    for code, name, contour in Commune.objects.filter(code__in=by_commune).values_list("code", "name", "contour"):
        projects = by_commune[code]
        if len(projects) == 1:
            slug, title = projects[0]
            label = f"{name} : {title}"
            href = reverse("crowdfunding:project", kwargs={"slug": slug})
        else:
            label = f"{name} : {len(projects)} projets"
            href = reverse("crowdfunding:projects") + "?" + urlencode({"territoire": code})
        layers.append(Layer(contour, "map-focus", label, href))
    n = len(layers)
    return render_svg(
        layers,
        title="Carte des projets",
        description=(
            f"Les {n} commune{'s' if n > 1 else ''} des projets de cette recherche ; chaque commune mène à son projet. "
            "La liste des projets qui suit donne les mêmes informations."
        ),
    )


def _visible_project(request, slug) -> Project:
    project = get_object_or_404(Project.objects.select_related("commune", "commune__departement", "organisation", "programme", "owner"), slug=slug)
    if not project.is_published and not services.can_manage(request.user, project) and not (
        request.user.is_authenticated and request.user.is_platform_staff
    ):
        raise Http404("Ce projet n'est pas publié.")
    return project


def project_detail(request, slug):
    project = _visible_project(request, slug)
    progress = selectors.progress(project)
    eligibility = services.eligibility(project.programme, project) if project.programme_id else []
    return render(
        request,
        "crowdfunding/project_detail.html",
        {
            "project": project,
            "progress": progress,
            "eligibility": eligibility,
            "updates": project.updates.all()[:20],
            "can_manage": services.can_manage(request.user, project),
        },
    )


@login_required
def pledge_create(request, slug):
    project = _visible_project(request, slug)
    form = PledgeForm(request.POST or None, initial={"idempotency_key": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        try:
            pledge, created = services.create_pledge(
                request.user,
                project,
                form.cleaned_data["amount_cents"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                provider=form.cleaned_data["provider"],
                show_name=form.cleaned_data["show_name"],
                message=form.cleaned_data["message"],
            )
        except services.CrowdfundingError as exc:
            form.add_error(None, str(exc))
        else:
            if created:
                messages.success(request, "Votre promesse de don est enregistrée : il reste à la payer.")
            return redirect("crowdfunding:pledge", reference=pledge.payment_reference)
    return render(request, "crowdfunding/pledge_form.html", {"project": project, "form": form, "open": project.is_open})


@login_required
def pledge_detail(request, reference):
    pledge = get_object_or_404(Pledge.objects.select_related("project"), payment_reference=reference)
    if pledge.backer_id != request.user.pk:
        raise Http404("Ce don n'existe pas.")
    payment, payment_error = None, ""
    if pledge.status == Pledge.Status.PENDING:
        try:
            payment = get_provider(pledge.provider).start(
                pledge, return_url=request.build_absolute_uri(f"/financement-participatif/dons/{pledge.payment_reference}")
            )
        except PaymentError as exc:
            payment_error = str(exc)
    return render(request, "crowdfunding/pledge_detail.html", {"pledge": pledge, "payment": payment, "payment_error": payment_error})


@login_required
def project_create(request):
    form = ProjectForm(request.user, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(request.user, **form.service_kwargs())
        except services.CrowdfundingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Projet enregistré en brouillon : relisez-le puis soumettez-le à la modération.")
            return redirect("crowdfunding:owner", slug=project.slug)
    return render(request, "crowdfunding/project_form.html", {"form": form})


@login_required
def owner_page(request, slug):
    project = _visible_project(request, slug)
    if not services.can_manage(request.user, project):
        raise PermissionDenied("Seul le porteur du projet accède à cette page.")
    form = UpdateForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "submit":
                services.submit_project(request.user, project)
                messages.success(request, "Projet soumis à la modération de la Région.")
                return redirect("crowdfunding:owner", slug=slug)
            if action == "update" and form.is_valid():
                services.post_update(request.user, project, title=form.cleaned_data["title"], body=form.cleaned_data["body"])
                messages.success(request, "Actualité publiée pour les contributeurs.")
                return redirect("crowdfunding:owner", slug=slug)
        except services.CrowdfundingError as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "crowdfunding/owner.html",
        {
            "project": project,
            "form": form,
            "backers": selectors.backers_with_consent(project),
            "report": selectors.closing_report(project),
            "updates": project.updates.all(),
        },
    )


def programme_list(request):
    return render(request, "crowdfunding/programme_list.html", {"programmes": selectors.active_programmes()})


def programme_detail(request, slug):
    programme = get_object_or_404(Programme, slug=slug)
    projects = selectors.public_projects().filter(programme=programme)
    progress = selectors.progress_many(projects)
    return render(
        request,
        "crowdfunding/programme_detail.html",
        {"programme": programme, "cards": [(p, progress[p.pk]) for p in projects], "categories": dict(Category.choices)},
    )


def stats(request):
    level = request.GET.get("niveau", "departement")
    if level not in ("departement", "epci"):
        level = "departement"
    data = selectors.territory_stats(level)
    names = {}
    if level == "departement":
        names = dict(Departement.objects.values_list("code", "name"))
    else:
        from regio.territory.models import EPCI

        names = dict(EPCI.objects.filter(siren__in=[r["code"] for r in data["rows"]]).values_list("siren", "name"))
    for row in data["rows"]:
        row["name"] = names.get(row["code"], row["code"])
    return render(request, "crowdfunding/stats.html", {"data": data, "level": level})


def _staff(request):
    if not (request.user.is_authenticated and request.user.is_platform_staff):
        raise PermissionDenied("Réservé aux agents de la Région.")


@login_required
def statements(request):
    _staff(request)
    form = StatementForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = import_statement(request.user, upload.name, upload.read())
        except StatementError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(
                request,
                f"Relevé importé : {len(result.matched)} ligne(s) rapprochée(s), {len(result.queued)} à traiter, "
                f"{result.replayed} déjà importée(s).",
            )
    queue = StatementLine.objects.filter(status=StatementLine.Status.QUEUED).select_related("statement").order_by("-created_at")[:200]
    return render(request, "crowdfunding/statements.html", {"form": form, "result": result, "queue": queue})


@login_required
@require_POST
def statement_line_resolve(request, pk):
    _staff(request)
    line = get_object_or_404(StatementLine, pk=pk)
    try:
        resolve_line(request.user, line, request.POST.get("note", ""))
    except services.CrowdfundingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Ligne {line.line_number} traitée.")
    return redirect("crowdfunding:statements")


def _moderator(request):
    user = request.user
    if not (user.is_authenticated and user.is_active and (user.is_moderator or user.is_superuser)):
        raise PermissionDenied("Réservé aux modérateurs de la Région.")


@login_required
def moderation(request):
    _moderator(request)
    if request.method == "POST":
        project = get_object_or_404(Project, pk=request.POST.get("project"))
        approve = request.POST.get("decision") == "approve"
        try:
            services.moderate_project(request.user, project, approve=approve, note=request.POST.get("note", ""))
        except services.CrowdfundingError as exc:
            messages.error(request, f"« {project.title} » : {exc}")
        else:
            if approve:
                messages.success(request, f"« {project.title} » est publié.")
            else:
                messages.success(request, f"« {project.title} » est refusé ; le porteur verra le motif.")
        return redirect("crowdfunding:moderation")
    queue = (
        Project.objects.filter(moderation_status=Project.Moderation.SUBMITTED)
        .select_related("commune", "owner", "organisation", "programme")
        .order_by("submitted_at", "pk")
    )
    return render(request, "crowdfunding/moderation.html", {"queue": queue})


@login_required
def payouts(request):
    _staff(request)
    if request.method == "POST":
        project = get_object_or_404(Project, pk=request.POST.get("project"))
        try:
            payout = services.pay_out(request.user, project)
        except services.CrowdfundingError as exc:
            messages.error(request, f"« {project.title} » : {exc}")
        else:
            messages.success(request, f"Versement de {services.euros(payout.amount_cents)} enregistré pour « {project.title} ».")
        return redirect("crowdfunding:payouts")
    funded = list(
        Project.objects.filter(campaign_state=Project.Campaign.FUNDED).select_related("commune", "owner", "organisation").order_by("closed_at", "pk")
    )
    progress = selectors.progress_many(funded)
    done = Payout.objects.select_related("project", "done_by").order_by("-created_at")[:50]
    return render(request, "crowdfunding/payouts.html", {"rows": [(p, progress[p.pk]) for p in funded], "done": done})
