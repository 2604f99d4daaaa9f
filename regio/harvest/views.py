"""Pages of the harvester: public list of sources, source page with run history, add / edit / delete / preview / enable / run."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from regio.core.ingest.engine import RunInProgress, request_cancel, start_run
from regio.core.ingest.models import Run

from . import selectors, services
from .forms import SourceEditForm, SourceForm
from .models import HarvestSource


def source_list(request):
    rows = [selectors.source_row(s) for s in selectors.sources()]
    return render(request, "harvest/source_list.html", {
        "rows": rows, "can_add": request.user.is_authenticated and services.manageable_owners(request.user).exists(),
    })


def source_detail(request, pk: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    manager = services.can_manage(request.user, source)
    runs = list(selectors.runs_of(source)[:30])
    last = next((r for r in runs if not r.dry_run), None)
    return render(request, "harvest/source_detail.html", {
        "source": source, "row": selectors.source_row(source), "runs": runs, "manager": manager,
        "errors": list(selectors.errors_of(last)[:100]) if (manager and last) else [],
        "last": last, "running": next((r for r in runs if r.status in (Run.Status.RUNNING, Run.Status.QUEUED)), None),
    })


@login_required
def source_create(request):
    owners = services.manageable_owners(request.user)
    if not owners.exists():
        raise PermissionDenied("Seuls le CDO et les administrateurs d'une organisation ajoutent des sources.")
    form = SourceForm(request.POST or None, owners=owners.order_by("name"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = services.create_source(
                request.user, kind=data["kind"], name=data["name"], url=data["url"], owner=data["owner"],
                schedule_minutes=data["schedule_minutes"],
                filters={"organization": data["organization"]} if data["organization"] else {},
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Source ajoutée (désactivée) : lancez un aperçu avant de l'activer.")
            return redirect("harvest:detail", pk=source.pk)
    return render(request, "harvest/source_form.html", {"form": form})


@login_required
def source_edit(request, pk: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    services.require_manage(request.user, source)
    owners = services.manageable_owners(request.user)  # the current owner is one (else: 403 above)
    initial = {
        "name": source.name, "url": source.url, "owner": source.owner_id, "schedule_minutes": source.schedule_minutes,
        "schedule_cron": source.schedule_cron, "enabled": source.enabled,
        "filters": json.dumps(source.filters, ensure_ascii=False, indent=1) if source.filters else "",
    }
    form = SourceEditForm(request.POST or None, initial=initial, owners=owners.distinct().order_by("name"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_source(
                request.user, source, name=data["name"], url=data["url"], owner=data["owner"],
                schedule_minutes=data["schedule_minutes"], schedule_cron=data["schedule_cron"], filters=data["filters"],
                enabled=data["enabled"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Source modifiée.")
            return redirect("harvest:detail", pk=source.pk)
    return render(request, "harvest/source_edit.html", {"form": form, "source": source})


@login_required
def source_delete(request, pk: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    services.require_manage(request.user, source)
    kept = selectors.source_row(source)["datasets"]
    if request.method == "POST":
        kept = services.delete_source(request.user, source)
        messages.success(
            request,
            f"Source « {source.name} » supprimée : ses {kept} jeu(x) de données restent au catalogue, "
            "signalés comme n'étant plus mis à jour ; son historique est conservé.",
        )
        return redirect("harvest:list")
    return render(request, "harvest/source_delete.html", {"source": source, "kept": kept})


@login_required
@require_POST
def source_preview(request, pk: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    services.require_manage(request.user, source)
    result = services.preview(source, limit=50)
    return render(request, "harvest/preview.html", {"source": source, "result": result})


@login_required
@require_POST
def source_toggle(request, pk: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    services.set_enabled(request.user, source, not source.enabled)
    messages.success(request, "Source activée." if source.enabled else "Source désactivée.")
    return redirect("harvest:detail", pk=pk)


@login_required
@require_POST
def source_run(request, pk: int):
    from regio.core.ingest.tasks import run_source_task

    source = get_object_or_404(HarvestSource, pk=pk)
    services.require_manage(request.user, source)
    try:
        run = start_run(source)
    except RunInProgress as exc:
        messages.error(request, str(exc))
    else:
        run_source_task.enqueue(source.pk, False, run.pk)
        messages.success(request, "Passage mis en file : il démarrera dès qu'un worker sera libre.")
    return redirect("harvest:detail", pk=pk)


@login_required
@require_POST
def run_cancel(request, pk: int, run_id: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    services.require_manage(request.user, source)
    run = get_object_or_404(Run, pk=run_id, source=source)
    request_cancel(run)
    messages.success(request, "Annulation demandée : le passage s'arrêtera après la page en cours, sans rien archiver.")
    return redirect("harvest:detail", pk=pk)


def run_detail(request, pk: int, run_id: int):
    source = get_object_or_404(HarvestSource, pk=pk)
    run = get_object_or_404(Run, pk=run_id, source=source)
    if not services.can_manage(request.user, source):
        raise PermissionDenied("Le détail des erreurs est réservé aux gestionnaires de la source.")
    return render(request, "harvest/run_detail.html", {"source": source, "run": run, "errors": selectors.errors_of(run)[:500]})
