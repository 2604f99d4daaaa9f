"""HTML pages of the debates registry (/debats/…)."""

from __future__ import annotations

import calendar
import json
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from regio.core.ingest.engine import request_cancel, run_source
from regio.core.ingest.models import Run, Source
from regio.territory.maps import Layer, render_svg
from regio.territory.models import Departement
from regio.territory.selectors import within_radius

from . import exports, permissions, selectors, services
from .forms import DebateForm, EmailForm, FilterForm, SourceForm, SubscriptionForm, UploadForm
from .importers.table import COLUMNS, template_csv
from .models import THEMES, Debate

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]


def _filters(request) -> tuple[FilterForm, selectors.DebateFilters | None, str]:
    form = FilterForm(request.GET or None)
    if not request.GET:
        return FilterForm(), selectors.DebateFilters(), ""
    if not form.is_valid():
        return form, None, "Vérifiez les filtres : " + " ".join(e for errs in form.errors.values() for e in errs)
    data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    try:
        return form, selectors.DebateFilters(**data).validate(), ""
    except selectors.FilterError as exc:
        return form, None, str(exc)


def _query(request, **extra) -> str:
    params = {k: v for k, v in request.GET.items() if v and k not in ("page", "mois")}
    params.update({k: v for k, v in extra.items() if v})
    return urlencode(params)


def debate_list(request):
    form, filters, error = _filters(request)
    hits = selectors.search(filters) if filters else []
    page = Paginator(hits, 20).get_page(request.GET.get("page"))
    return render(request, "participation/list.html", {
        "form": form, "filters": filters, "error": error, "page": page, "total": len(hits),
        "query": _query(request), "view": "list",
    })


def _point(lat, lon, size=0.012) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [[
        [lon - size, lat - size * 0.66], [lon + size, lat - size * 0.66], [lon + size, lat + size * 0.66],
        [lon - size, lat + size * 0.66], [lon - size, lat - size * 0.66]]]})


def debate_map(request):
    form, filters, error = _filters(request)
    placed = selectors.public_debates().filter(lat__isnull=False)
    hits = list(selectors.search(filters, base=placed)[:500]) if filters else []
    layers = []
    if filters and filters.centre is not None:
        from regio.territory.selectors import communes

        near = within_radius(communes(), filters.centre.lat, filters.centre.lon, filters.radius_km)
        layers += [Layer(n.obj.contour, "map-neighbour", n.obj.name) for n in near[:300]]
        size = 0.004
    else:
        layers += [Layer(d.contour, "map-neighbour", d.name) for d in Departement.objects.filter(region_id=settings.REGION_CODE)]
        size = 0.03
    layers += [Layer(_point(h.debate.lat, h.debate.lon, size), "map-point", h.debate.title, f"/debats/{h.debate.pk}") for h in hits]
    svg = render_svg(
        layers, title="Carte des débats publics",
        description=f"{len(hits)} débat(s) localisé(s), représentés par des carrés ; la liste détaillée suit la carte.",
        width=640, height=480,
    )
    return render(request, "participation/map.html", {
        "form": form, "filters": filters, "error": error, "hits": hits, "map_svg": svg, "query": _query(request), "view": "map",
    })


def debate_calendar(request):
    form, filters, error = _filters(request)
    today = timezone.localdate()
    try:
        year, month = (int(x) for x in (request.GET.get("mois") or f"{today:%Y-%m}").split("-"))
        first = date(year, month, 1)
    except ValueError:
        year, month, first = today.year, today.month, today.replace(day=1)
        error = error or "Mois illisible : format attendu AAAA-MM."
    last = date(year, month, calendar.monthrange(year, month)[1])
    events: dict[int, list] = {}
    if filters:
        for d in selectors.filtered(filters).filter(opens_on__lte=last, opens_on__gte=first):
            events.setdefault(d.opens_on.day, []).append(("Ouverture", d.title, d.pk))
        for d in selectors.filtered(filters).filter(closes_on__lte=last, closes_on__gte=first):
            events.setdefault(d.closes_on.day, []).append(("Clôture", d.title, d.pk))
        for m in selectors.meetings_in_month(year, month, filters):
            events.setdefault(timezone.localtime(m.starts_at).day, []).append(
                (f"Réunion {timezone.localtime(m.starts_at):%H:%M}", m.title or m.debate.title, m.debate_id)
            )
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdayscalendar(year, month):
        weeks.append([(day, events.get(day, [])) for day in week])
    prev_month = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    next_month = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return render(request, "participation/calendar.html", {
        "form": form, "error": error, "weeks": weeks, "month_label": f"{MONTHS[month - 1]} {year}",
        "prev": f"{prev_month:%Y-%m}", "next": f"{next_month:%Y-%m}", "query": _query(request), "view": "calendar",
        "day_names": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    })


def debate_detail(request, pk: int):
    debate = selectors.debate_detail(pk)
    if debate is None:
        candidate = Debate.objects.filter(pk=pk).first()
        if candidate is None or not permissions.can_edit_debate(request.user, candidate):
            raise Http404("Ce débat n'existe pas ou n'est pas publié.")
        debate = candidate
    return render(request, "participation/detail.html", {
        "debate": debate, "meetings": debate.meetings.all(), "can_edit": permissions.can_edit_debate(request.user, debate),
    })


def export_ics(request):
    _form, filters, error = _filters(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    hits = selectors.search(filters)[:1000]
    body = exports.ics(hits, name="Débats publics")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="debats.ics"'
    return response


def feed(request):
    _form, filters, error = _filters(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    hits = selectors.search(filters)
    return HttpResponse(
        exports.rss(hits, title="Débats publics", link=request.build_absolute_uri()), content_type="application/rss+xml; charset=utf-8"
    )


@login_required
@require_http_methods(["GET", "POST"])
def submit(request):
    organisations = permissions.submitting_organisations(request.user)
    if not organisations:
        raise PermissionDenied("Seuls les agents d'une collectivité peuvent déclarer un débat.")
    form = DebateForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        organisation = data.pop("organisation")
        try:
            debate = services.submit_debate(request.user, organisation, data)
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            if debate.address_unresolved:
                messages.warning(request, "Adresse non reconnue : le débat est enregistré, mais précisez le code postal et la commune pour qu'il apparaisse sur la carte.")
            messages.success(request, "Débat enregistré : il sera publié après vérification par la région.")
            return redirect("participation:detail", pk=debate.pk)
    return render(request, "participation/submit.html", {"form": form})


@login_required
def agent_space(request):
    organisations = permissions.submitting_organisations(request.user)
    if not organisations and not permissions.can_moderate(request.user):
        raise PermissionDenied("Cet espace est réservé aux agents des collectivités.")
    debates = selectors.debates_for_organisations(organisations)[:300]
    sources = Source.objects.filter(owner__in=organisations, kind__in=["decidim", "decidim-opendata", "icalendar", "debats-tableur"]).order_by("name")
    return render(request, "participation/agent.html", {
        "debates": debates, "flagged": [d for d in debates if d.address_unresolved], "sources": sources,
        "organisations": organisations,
    })


@login_required
@require_http_methods(["GET", "POST"])
def moderation(request):
    if not permissions.can_moderate(request.user):
        raise PermissionDenied("Réservé aux modérateurs de la région.")
    if request.method == "POST":
        debate = get_object_or_404(Debate, pk=request.POST.get("debate"))
        try:
            services.moderate_debate(request.user, debate, approve=request.POST.get("decision") == "approve", note=request.POST.get("note", ""))
            messages.success(request, f"« {debate.title} » : {debate.get_moderation_display().lower()}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("participation:moderation")
    return render(request, "participation/moderation.html", {"pending": selectors.pending_moderation()})


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    organisations = permissions.submitting_organisations(request.user)
    if not organisations:
        raise PermissionDenied("Seuls les agents d'une collectivité peuvent importer des débats.")
    form = UploadForm(request.POST or None, request.FILES or None, organisations=organisations)
    run = None
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        folder = Path(settings.MEDIA_ROOT) / "participation" / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}{Path(upload_file.name).suffix.lower()}"
        with open(path, "wb") as out:
            for chunk in upload_file.chunks():
                out.write(chunk)
        organisation = form.cleaned_data["organisation"]
        source = Source.objects.create(
            kind="debats-tableur", name=f"Import tableur « {upload_file.name[:80]} » ({organisation.name})", file_path=str(path),
            owner=organisation, filters={"moderation": "pending"},
        )
        run = run_source(source)
    return render(request, "participation/upload.html", {
        "form": form, "run": run, "errors": run.errors.all()[:200] if run else [], "columns": COLUMNS,
    })


def template_file(request):
    response = HttpResponse("\ufeff" + template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-debats.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def add_source(request):
    organisations = permissions.submitting_organisations(request.user)
    if not organisations:
        raise PermissionDenied("Seuls les agents d'une collectivité peuvent déclarer une source.")
    form = SourceForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = {"debate": {"title": data["debate_title"]}} if data["kind"] == "icalendar" and data["debate_title"] else {}
        source = Source.objects.create(kind=data["kind"], name=data["name"], url=data["url"], owner=data["organisation"],
                                       filters=filters, schedule_minutes=24 * 60)
        from regio.core.ingest.tasks import run_source_task

        run_source_task.enqueue(source.pk)
        messages.success(request, "Source enregistrée : son premier import est en file d'attente, puis elle sera relue chaque jour.")
        return redirect("participation:source", pk=source.pk)
    return render(request, "participation/source_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def source_runs(request, pk: int):
    source = get_object_or_404(Source, pk=pk)
    if not (source.owner and permissions.can_edit_for(request.user, source.owner)) and not permissions.can_moderate(request.user):
        raise PermissionDenied("Vous ne pouvez pas consulter cette source.")
    if request.method == "POST":
        from regio.core.ingest.tasks import run_source_task

        if request.POST.get("action") == "run":
            run_source_task.enqueue(source.pk)
            messages.success(request, "Import mis en file d'attente.")
        elif request.POST.get("action") == "cancel":
            for run in source.runs.filter(status__in=[Run.Status.QUEUED, Run.Status.RUNNING]):
                request_cancel(run)
            messages.success(request, "Annulation demandée : le passage s'arrêtera avant la page suivante.")
        return redirect("participation:source", pk=source.pk)
    runs = source.runs.all()[:30]
    last_errors = runs[0].errors.all()[:100] if runs else []
    return render(request, "participation/source.html", {"source": source, "runs": runs, "errors": last_errors, "Status": Run.Status})


@require_http_methods(["GET", "POST"])
def subscribe(request):
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.subscribe(
                data["email"], themes=data["themes"], commune_code=data["commune"], radius_km=data["radius_km"],
                frequency=data["frequency"],
            )
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                target = {"commune": "commune"}.get(field, field)
                form.add_error(target if target in form.fields else None, errs)
        else:
            return render(request, "participation/message.html", {
                "title": "Vérifiez votre messagerie",
                "text": "Un courriel de confirmation vient de vous être envoyé : l'alerte ne sera active qu'après avoir cliqué sur son lien.",
            })
    return render(request, "participation/subscribe.html", {"form": form, "themes": THEMES})


def confirm(request, token: str):
    try:
        sub = services.confirm_subscription(token)
    except services.SubscriptionError as exc:
        return render(request, "participation/message.html", {"title": "Lien invalide", "text": " ".join(exc.messages)}, status=400)
    return render(request, "participation/message.html", {
        "title": "Alerte confirmée", "text": f"Vous recevrez les nouveaux débats ({sub.get_frequency_display().lower()}) à l'adresse {sub.email}.",
    })


@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token: str):
    try:
        email = services.unsubscribe(token)
    except services.SubscriptionError as exc:
        return render(request, "participation/message.html", {"title": "Lien invalide", "text": " ".join(exc.messages)}, status=400)
    return render(request, "participation/message.html", {
        "title": "Vous êtes désabonné", "text": f"L'alerte de {email} est supprimée, ainsi que l'adresse et vos critères.",
    })


@require_http_methods(["GET", "POST"])
def my_data(request):
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_erasure(form.cleaned_data["email"])
        return render(request, "participation/message.html", {
            "title": "Demande enregistrée",
            "text": "Si une alerte existe pour cette adresse, un courriel contenant un lien d'effacement vient d'y être envoyé (valable 48 heures).",
        })
    return render(request, "participation/my_data.html", {"form": form})


@require_http_methods(["GET", "POST"])
def erase(request, token: str):
    if request.method == "GET":
        return render(request, "participation/erase_confirm.html", {"token": token})
    try:
        email = services.erase_by_token(token)
    except services.SubscriptionError as exc:
        return render(request, "participation/message.html", {"title": "Lien invalide", "text": " ".join(exc.messages)}, status=400)
    return render(request, "participation/message.html", {
        "title": "Données effacées", "text": f"L'adresse {email} et ses critères d'alerte ont été effacés.",
    })



