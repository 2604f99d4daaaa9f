"""HTML pages: /demandes-de-donnees/ (tracker, CDO dashboard), /obligations/ and the annual report."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from regio.accounts.models import Organisation

from . import obligations, permissions, report, selectors, services
from .forms import AgentsForm, AgentsImportForm, CommentForm, RequestForm, SupportForm, TransitionForm
from .models import Comment, DataRequest, LegalGround, Moderation, ObligationStatus, Status, Subject
from .workflow import ACTION_LABELS, ALLOWED


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def request_list(request):
    f = {k: request.GET.get(k, "").strip() for k in ("q", "status", "holder", "territory")}
    if f["status"] not in Status.values:
        f["status"] = ""
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.filter_requests(selectors.public_requests(), overdue=overdue, **f)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    return render(request, "datarequests/list.html", {"page": page, "f": f, "overdue": overdue, "statuses": Status.choices})


def request_new(request):
    suggestions = []
    if request.method == "POST":
        form = RequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.submit_request(
                    request.user, data, email=data["email"] or "", confirm_new=data["confirm_new"], holder=data["holder"]
                )
            except services.PossibleDuplicate as exc:
                suggestions = exc.datasets
                messages.info(request, str(exc))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                if created.is_public:
                    messages.success(request, "Votre demande est enregistrée et publiée.")
                    return redirect(created)
                messages.success(request, "Votre demande est enregistrée : elle sera publiée après vérification par un modérateur.")
                return redirect("datarequests:list")
    else:
        form = RequestForm()
    return render(request, "datarequests/form.html", {"form": form, "suggestions": suggestions})


def _detail_context(request, r, **extra) -> dict:
    actions = [(s.value, ACTION_LABELS[s]) for s in ALLOWED[Status(r.status)] if permissions.can_transition(request.user, r, s)]
    comments = selectors.public_comments(r)
    if request.user.is_authenticated:
        # The author sees their own comment held for moderation (marked as such); nobody else does.
        comments = r.comments.filter(
            Q(moderation__in=selectors.PUBLIC_MODERATION) | Q(author=request.user, moderation=Moderation.PENDING)
        )
    return {
        "r": r, "transitions": r.transitions.select_related().all(), "comments": comments,
        "actions": actions, "transition_form": TransitionForm(initial={"status": actions[0][0]} if actions else None),
        "support_form": SupportForm(), "comment_form": CommentForm(), "overdue": r.is_overdue(),
        "can_moderate": permissions.can_moderate(request.user), "legal_grounds": LegalGround.choices,
        "organisation_choices": None, **extra,
    }


def request_detail(request, slug):
    r = get_object_or_404(DataRequest.objects.select_related("holder", "assigned_to", "released_dataset"), slug=slug)
    if not permissions.can_view(request.user, r):
        raise Http404("Cette demande n'est pas publique.")
    return render(request, "datarequests/detail.html", _detail_context(request, r))


@require_POST
def request_transition(request, slug):
    r = get_object_or_404(DataRequest, slug=slug)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Formulaire incomplet : " + " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(r)
    dataset = None
    if form.cleaned_data["dataset"]:
        from regio.catalog.models import Dataset

        dataset = Dataset.objects.filter(slug=form.cleaned_data["dataset"].strip()).first()
        if dataset is None:
            messages.error(request, f"Jeu de données introuvable : « {form.cleaned_data['dataset']} ».")
            return redirect(r)
    assigned_to = None
    slug_value, typed = form.cleaned_data["assigned_to"], form.cleaned_data["assigned_to_q"].strip()
    if form.cleaned_data["status"] != Status.ASSIGNED:
        slug_value = typed = ""  # the organisation only matters for a transmission
    elif not permissions.can_transition(request.user, r, Status.ASSIGNED):
        raise PermissionDenied("Vous n'avez pas le droit de transmettre cette demande.")
    if slug_value:
        assigned_to = Organisation.objects.filter(slug=slug_value).first()
        if assigned_to is None:
            messages.error(request, f"Organisation introuvable : « {slug_value} ».")
            return redirect(r)
    elif typed:
        candidates = selectors.search_organisations(typed)
        if len(candidates) != 1:
            # Without JavaScript: the page asks to pick one of the matches (or to type again).
            message = (
                f"Aucune organisation ne correspond à « {typed} » : précisez le nom, le code INSEE ou le SIREN."
                if not candidates else
                f"{len(candidates)} organisations correspondent à « {typed} » : choisissez celle à qui transmettre la demande."
            )
            context = _detail_context(request, r, organisation_choices=candidates, organisation_message=message)
            context["transition_form"] = form
            context["selected_status"] = form.cleaned_data["status"]
            return render(request, "datarequests/detail.html", context, status=422 if not candidates else 200)
        assigned_to = candidates[0]
    try:
        services.transition(
            request.user, r, form.cleaned_data["status"], note=form.cleaned_data["note"],
            legal_ground=form.cleaned_data["legal_ground"], assigned_to=assigned_to, dataset=dataset,
        )
    except services.TransitionForbidden as exc:
        messages.error(request, str(exc))
        return render(request, "datarequests/conflict.html", {"r": r, "message": str(exc)}, status=409)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "La demande a été mise à jour ; le demandeur et les soutiens sont prévenus par courriel.")
    return redirect(r)


@require_POST
def request_support(request, slug):
    r = get_object_or_404(selectors.public_requests(), slug=slug)
    form = SupportForm(request.POST)
    email = form.cleaned_data["email"] if form.is_valid() else request.POST.get("email", "")
    try:
        added = services.support(request.user, r, email=email or "")
    except (ValidationError, services.TransitionForbidden) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, "Merci pour votre soutien." if added else "Vous soutenez déjà cette demande.")
    return redirect(r)


@require_POST
def request_comment(request, slug):
    r = get_object_or_404(selectors.public_requests(), slug=slug)
    form = CommentForm(request.POST)
    try:
        created = services.comment(request.user, r, form.data.get("body", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if created.is_public:
            messages.success(request, "Commentaire publié.")
        else:
            messages.info(request, f"Votre commentaire sera publié après vérification par un modérateur ({created.moderation_reason})")
    return redirect(f"{r.get_absolute_url()}#commentaires")


@require_POST
def request_moderate(request, slug):
    r = get_object_or_404(DataRequest, slug=slug)
    approve = request.POST.get("decision") == "approve"
    try:
        services.moderate_request(request.user, r, approve=approve, reason=request.POST.get("reason", ""))
    except services.TransitionForbidden as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Demande « {r.title} » {'publiée' if approve else 'rejetée'}.")
    return redirect("datarequests:moderation")


@require_POST
def comment_moderate(request, pk):
    c = get_object_or_404(Comment, pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        services.moderate_comment(request.user, c, approve=approve, reason=request.POST.get("reason", ""))
    except services.TransitionForbidden as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Commentaire {'publié' if approve else 'rejeté'}.")
    return redirect("datarequests:moderation")


def moderation(request):
    """The moderation queue: requests and comments held as empty, abusive or spammy."""
    if not permissions.can_moderate(request.user):
        raise PermissionDenied("File de modération réservée à l'administrateur général des données et aux modérateurs.")
    return render(request, "datarequests/moderation.html", {
        "requests": selectors.moderation_queue(), "comments": selectors.comment_moderation_queue(),
    })


def dashboard(request):
    if not permissions.can_moderate(request.user):
        raise PermissionDenied("Tableau de bord réservé à l'administrateur général des données et aux modérateurs.")
    return render(request, "datarequests/dashboard.html", selectors.dashboard())


# --------------------------------------------------------------------------- obligations

MAP_FILLS = {"ob-ok": "#18753c", "ob-ko": "#ce0500", "ob-vol": "#6a6af4", "ob-no": "#cccccc", "ob-check": "#b34000", "ob-none": "#eeeeee"}
MAP_CLASSES = {
    "conforme": "ob-ok", "en_defaut": "ob-ko", "volontaire": "ob-vol", "non_soumise": "ob-no",
    "a_verifier_publie": "ob-check", "a_verifier": "ob-check",
}


def _map_svg(run) -> str:
    """Communes of the platform's région coloured by status (cached per snapshot)."""
    if run is None:
        return ""
    key = f"datarequests:obligations-map:{run.pk}"
    svg = cache.get(key)
    if svg is None:
        from django.conf import settings

        from regio.territory.maps import Layer, render_svg
        from regio.territory.models import Commune

        statuses = dict(
            ObligationStatus.objects.filter(kind="commune").values_list("code", "status")
        )
        layers = [
            Layer(contour, MAP_CLASSES.get(statuses.get(code, ""), "ob-none"), f"{name} : {obligations.STATUS_LABELS.get(statuses.get(code, ''), 'non suivie')}")
            for code, name, contour in Commune.objects.filter(region_id=settings.REGION_CODE, is_active=True)
            .exclude(contour="").values_list("code", "name", "contour").iterator(chunk_size=500)
        ]
        svg = render_svg(
            layers, title="Carte des communes selon leur situation au regard de l'obligation d'ouverture des données",
            description="Chaque commune est colorée selon son statut (légende ci-dessous) ; le tableau donne les mêmes informations.",
            width=640, height=480,
        )
        # Served as an image (its own URL, cached by the browser): colours as presentation attributes.
        for css_class, fill in MAP_FILLS.items():
            svg = svg.replace(f'class="{css_class}"', f'class="{css_class}" fill="{fill}" stroke="#ffffff" stroke-width="0.3"')
        cache.set(key, svg, 3600)
    return svg


OBLIGATIONS_PAGE_SIZE = 50
OBLIGATION_COLUMNS = [("nom", "Collectivité"), ("population", "Population"), ("statut", "Situation"), ("jeux", "Jeux publiés"),
                      ("fraicheur", "Fraîcheur (jours)"), ("qualite", "Qualité moyenne (sur 100)")]


def obligations_page(request):
    """The table: filtered, sorted and paged by the database on indexed snapshot columns.

    One narrow read of ``PAGE_COLUMNS`` for the 50 rows shown (no join), the row count cached per
    snapshot; the map is an image of its own (``obligations_map``)."""
    f = {k: request.GET.get(k, "").strip() for k in ("kind", "subject", "status", "departement", "q")}
    sort = request.GET.get("sort", "")
    if sort not in selectors.SORTS:
        sort = ""
    rows = selectors.obligation_rows(sort=sort, **f)
    if request.GET.get("format") == "csv":
        import io

        out = io.StringIO()
        obligations.write_csv(out, rows.values(*[c for _, c in obligations.CSV_COLUMNS]).iterator(chunk_size=5000))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="obligations-ouverture-donnees.csv"'
        return response
    run = selectors.latest_run()
    total = selectors.count_rows(run, rows, f)
    pages = max(1, -(-total // OBLIGATIONS_PAGE_SIZE))
    try:
        number = min(max(int(request.GET.get("page") or 1), 1), pages)
    except ValueError:
        number = 1
    offset = (number - 1) * OBLIGATIONS_PAGE_SIZE
    page_rows = list(rows.only(*selectors.PAGE_COLUMNS)[offset : offset + OBLIGATIONS_PAGE_SIZE])
    labels = obligations.PRIORITY_LABELS
    for row in page_rows:
        row.scdl_labels = [labels.get(k, k) for k in row.scdl]
        row.next_labels = [labels.get(k, k) for k in row.next_to_publish]
    params = request.GET.copy()
    for key in ("sort", "page", "format"):
        params.pop(key, None)
    current_key = selectors.SORT_ALIASES.get(sort.lstrip("-"), sort.lstrip("-")) if sort else selectors.DEFAULT_SORT.lstrip("-")
    desc = (sort or selectors.DEFAULT_SORT).startswith("-")
    headers = []
    for key, label in OBLIGATION_COLUMNS:
        current = current_key == key
        headers.append({
            "label": label, "url": f"?{params.urlencode()}&sort={'' if current and desc else '-'}{key}".replace("?&", "?"),
            "aria": ("descending" if desc else "ascending") if current else "none",
        })
    return render(request, "datarequests/obligations.html", {
        "rows": page_rows, "total": total, "number": number, "pages": pages,
        "previous_page": number - 1 if number > 1 else None, "next_page": number + 1 if number < pages else None,
        "run": run, "f": f, "sort": sort, "headers": headers, "has_map": run is not None,
        "status_labels": obligations.STATUS_LABELS, "subjects": Subject.choices, "kinds": Organisation.Kind.choices[:4],
        "params": params.urlencode(),
    })


def obligations_map(request):
    """The map as an SVG file of its own (a few MB for ~3,800 communes): pages stay light."""
    run = selectors.latest_run()
    svg = _map_svg(run)
    if not svg:
        raise Http404("Aucune carte : le tableau n'a pas encore été calculé.")
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=600"
    return response


def obligation_detail(request, slug):
    row = get_object_or_404(ObligationStatus.objects.select_related("organisation"), slug=slug)
    can_edit = permissions.is_cdo(request.user)
    form = AgentsForm(initial={"agents": row.agents})
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Seul l'administrateur général des données peut renseigner le nombre d'agents.")
        form = AgentsForm(request.POST)
        if form.is_valid():
            obligations.set_agents(request.user, row.organisation, form.cleaned_data["agents"])
            obligations.compute()
            messages.success(request, "Nombre d'agents enregistré ; le tableau des obligations est recalculé.")
            return redirect("datarequests:obligation", slug=slug)
    priorities = [
        {"key": p.key, "label": p.label, "published": p.key in row.scdl} for p in obligations.PRIORITIES if row.kind in p.kinds
    ]
    return render(request, "datarequests/obligation_detail.html", {
        "row": row, "priorities": priorities, "status_label": obligations.STATUS_LABELS.get(row.status, row.status),
        "next": [obligations.PRIORITY_LABELS[k] for k in row.next_to_publish], "form": form, "can_edit": can_edit,
    })


def obligations_manage(request):
    if not permissions.is_cdo(request.user):
        raise PermissionDenied("Réservé à l'administrateur général des données.")
    form = AgentsImportForm()
    result = None
    if request.method == "POST":
        if request.POST.get("action") == "recompute":
            run = obligations.compute()
            obligations.publish_open_dataset(run)
            messages.success(request, f"Tableau recalculé : {run.collectivites} collectivités.")
            return redirect("datarequests:obligations")
        form = AgentsImportForm(request.POST, request.FILES)
        if form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            result = obligations.import_agents_csv(request.user, text)
            obligations.compute()
    return render(request, "datarequests/obligations_manage.html", {"form": form, "result": result})


def annual_report(request):
    if not permissions.is_cdo(request.user) and not (request.user.is_authenticated and request.user.is_staff):
        raise PermissionDenied("Rapport annuel : page réservée à l'administrateur général des données.")
    from django.utils import timezone

    try:
        year = int(request.GET.get("annee") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    data = report.collect(year)
    if request.GET.get("format") == "pdf":
        pdf = report.render_pdf(report.render_html(data))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="rapport-agd-{year}.pdf"'
        return response
    return render(request, "datarequests/report_page.html", {"data": data, "year": year})
