"""HTML pages of the catalogue (French paths under /donnees/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from regio.accounts.models import Organisation
from regio.accounts.permissions import organisations_user_can_edit

from . import selectors, services
from .forms import DatasetForm, DiscussionForm, ReplyForm, ResourceForm, ReuseForm
from .models import Dataset, Discussion, Resource, Reuse
from .permissions import can_edit_dataset, can_moderate, can_view_dataset
from .vocabularies import FREQUENCIES, FREQUENCY_BASE

PAGE_SIZE = 20


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def search(request):
    filters = {name: request.GET.get(name, "") for name in (*selectors.FACETS, "territory_any", "keyword")}
    q = request.GET.get("q", "").strip()
    result = selectors.search_datasets(q, filters, request.GET.get("sort", ""))
    paginator = Paginator(result.queryset, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    facets = [
        {"name": name, "label": selectors.FACET_LABELS[name], "items": items, "active": filters.get(name, "")}
        for name, items in result.facets.items()
        if items
    ]
    return render(
        request,
        "catalog/search.html",
        {
            "q": q, "result": result, "page": page, "facets": facets, "sorts": selectors.SORTS,
            "active_filters": [(selectors.FACET_LABELS.get(k, k), k, v) for k, v in filters.items() if v],
        },
    )


def _dataset_for(request, slug) -> Dataset:
    dataset = get_object_or_404(Dataset.objects.select_related("publisher"), slug=slug)
    if not can_view_dataset(request.user, dataset):
        raise Http404("Ce jeu de données n'est pas publié.")
    return dataset


def dataset_detail(request, slug):
    dataset = _dataset_for(request, slug)
    if dataset.is_public:
        services.record_view(dataset)
    return render(
        request,
        "catalog/dataset_detail.html",
        {
            "dataset": dataset,
            "resources": dataset.resources.all(),
            "territories": dataset.territories.all(),
            "reuses": dataset.reuses.filter(status="published"),
            "discussions": dataset.discussions.prefetch_related("messages__author").select_related("author"),
            "activity": dataset.activity.select_related("actor")[:10],
            "can_edit": can_edit_dataset(request.user, dataset),
            "can_moderate": can_moderate(request.user),
            "frequency_label": FREQUENCIES.get(dataset.frequency, dataset.frequency),
            "frequency_uri": FREQUENCY_BASE + dataset.frequency,
            "discussion_form": DiscussionForm(),
            "reply_form": ReplyForm(),
            "schema_label": selectors.schema_label(dataset.conforms_to) if dataset.conforms_to else "",
        },
    )


def publisher(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    paginator = Paginator(selectors.publisher_datasets(organisation).order_by("-metadata_modified_at", "-id"), PAGE_SIZE)
    return render(request, "catalog/publisher.html", {"organisation": organisation, "page": paginator.get_page(request.GET.get("page"))})


@login_required
def dataset_create(request):
    organisations = organisations_user_can_edit(request.user)
    if not organisations.exists():
        messages.error(request, "Pour publier un jeu de données, rejoignez d'abord une organisation en tant qu'éditeur.")
        return redirect("accounts:organisations")
    form = DatasetForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.create_dataset(
                request.user, form.cleaned_data["publisher"], form.service_data(), publish="publish" in request.POST
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if dataset.moderation == Dataset.Moderation.PENDING:
                messages.info(request, "Jeu de données enregistré : il sera visible après validation par un modérateur de la région.")
            else:
                messages.success(request, "Jeu de données enregistré. Ajoutez-lui maintenant ses fichiers.")
            return redirect("catalog:resource_add", slug=dataset.slug)
    return render(request, "catalog/dataset_form.html", {"form": form, "dataset": None})


@login_required
def dataset_edit(request, slug):
    dataset = get_object_or_404(Dataset.objects.select_related("publisher"), slug=slug)
    if not can_edit_dataset(request.user, dataset):
        raise PermissionDenied("Vous n'êtes pas éditeur du producteur de ce jeu de données.")
    initial = {
        "title": dataset.title, "slug": dataset.slug, "description": dataset.description, "licence": dataset.licence,
        "themes": dataset.themes, "keywords": ", ".join(dataset.keywords),
        "territories": ", ".join(f"{t.level}:{t.code}" for t in dataset.territories.all()),
        "temporal_start": dataset.temporal_start, "temporal_end": dataset.temporal_end, "frequency": dataset.frequency,
        "conforms_to": dataset.conforms_to, "contact_name": dataset.contact_name, "contact_email": dataset.contact_email,
    }
    form = DatasetForm(request.POST or None, initial=initial, editing=True, organisations=None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_dataset(request.user, dataset, form.service_data())
            if "publish" in request.POST and dataset.status != "published":
                services.publish_dataset(request.user, dataset)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Modifications enregistrées.")
            return redirect(dataset)
    return render(request, "catalog/dataset_form.html", {"form": form, "dataset": dataset})


@login_required
def resource_add(request, slug):
    dataset = get_object_or_404(Dataset.objects.select_related("publisher"), slug=slug)
    if not can_edit_dataset(request.user, dataset):
        raise PermissionDenied("Vous n'êtes pas éditeur du producteur de ce jeu de données.")
    form = ResourceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_resource(
                request.user, dataset, title=data["title"], url=data["url"], upload=data["file"],
                format=data["format"], schema=data["schema"], description=data["description"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Ressource ajoutée.")
            return redirect(dataset)
    return render(request, "catalog/resource_form.html", {"form": form, "dataset": dataset, "max_mb": services.max_upload_bytes() // 1048576})


@login_required
@require_POST
def dataset_archive(request, slug):
    dataset = get_object_or_404(Dataset.objects.select_related("publisher"), slug=slug)
    services.archive_dataset(request.user, dataset)
    messages.success(request, "Jeu de données archivé : il n'apparaît plus dans le catalogue mais rien n'est effacé.")
    return redirect(dataset)


@login_required
@require_POST
def dataset_publish(request, slug):
    dataset = get_object_or_404(Dataset.objects.select_related("publisher"), slug=slug)
    services.publish_dataset(request.user, dataset)
    messages.success(request, "Jeu de données publié.")
    return redirect(dataset)


@login_required
def moderation(request):
    if not can_moderate(request.user):
        raise PermissionDenied("Réservé aux modérateurs de la plateforme.")
    if request.method == "POST":
        dataset = get_object_or_404(Dataset, pk=request.POST.get("dataset"))
        try:
            services.moderate_dataset(request.user, dataset, approve=request.POST.get("decision") == "approve", reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Décision enregistrée pour « {dataset.title} ».")
        return redirect("catalog:moderation")
    return render(request, "catalog/moderation.html", {"queue": services.moderation_queue()})


@login_required
@require_POST
def discussion_open(request, slug):
    dataset = _dataset_for(request, slug)
    form = DiscussionForm(request.POST)
    if form.is_valid():
        try:
            services.open_discussion(request.user, dataset, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Merci : votre signalement est publié et les éditeurs du producteur en sont avertis par courriel.")
    else:
        messages.error(request, "Le sujet et le message sont obligatoires.")
    return HttpResponseRedirect(dataset.get_absolute_url() + "#discussions")


@login_required
@require_POST
def discussion_reply(request, pk):
    discussion = get_object_or_404(Discussion.objects.select_related("dataset"), pk=pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        services.reply(request.user, discussion, form.cleaned_data["body"])
        messages.success(request, "Réponse publiée.")
    else:
        messages.error(request, "Le message est obligatoire.")
    return HttpResponseRedirect(discussion.dataset.get_absolute_url() + "#discussions")


def resource_download(request, uid):
    resource = get_object_or_404(Resource.objects.select_related("dataset__publisher"), uid=uid)
    if not can_view_dataset(request.user, resource.dataset):
        raise Http404("Ressource introuvable.")
    services.record_download(resource)
    if resource.file:
        return FileResponse(resource.file.open("rb"), as_attachment=True, filename=resource.file.name.rsplit("/", 1)[-1])
    return HttpResponseRedirect(resource.url)


# --------------------------------------------------------------------------- reuses


def reuse_list(request):
    qs = Reuse.objects.published().select_related("owner").prefetch_related("datasets").order_by("-created_at", "-id")
    kind = request.GET.get("type", "")
    if kind in Reuse.Kind.values:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/reuse_list.html", {
        "page": page, "kinds": Reuse.Kind.choices, "kind": kind if kind in Reuse.Kind.values else "",
        "can_declare": request.user.is_authenticated and organisations_user_can_edit(request.user).exists(),
    })


def reuse_detail(request, slug):
    reuse = get_object_or_404(Reuse.objects.published().select_related("owner"), slug=slug)
    datasets = [d for d in reuse.datasets.select_related("publisher") if d.is_public]
    return render(request, "catalog/reuse_detail.html", {"reuse": reuse, "datasets": datasets})


@login_required
def reuse_create(request):
    organisations = organisations_user_can_edit(request.user)
    if not organisations.exists():
        messages.error(request, "Pour déclarer une réutilisation, rejoignez d'abord une organisation en tant qu'éditeur.")
        return redirect("accounts:organisations")
    initial = {"datasets": request.GET.get("jeu", "")}
    form = ReuseForm(request.POST or None, initial=initial, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            datasets = services.resolve_reuse_datasets(data["datasets"])
            reuse = services.create_reuse(request.user, data, datasets, data["owner"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Réutilisation publiée : merci de l'avoir déclarée.")
            return redirect("catalog:reuse", slug=reuse.slug)
    return render(request, "catalog/reuse_form.html", {"form": form})


def theme(request, code):
    """The address of a theme concept (EU or regional, as exported in DCAT-AP): its datasets."""
    from urllib.parse import urlencode

    from .models import theme_labels

    code = code.upper()
    if code not in theme_labels():
        raise Http404("Thème inconnu.")
    return HttpResponseRedirect(f"{reverse('catalog:search')}?{urlencode({'theme': code})}")
