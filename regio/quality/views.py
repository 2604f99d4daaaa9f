from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from . import services
from .forms import SchemaForm
from .models import TableSchema, ValidationReport
from .permissions import can_manage_schemas


def schemas(request):
    can_manage = can_manage_schemas(request.user)
    form = SchemaForm()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Seule l'équipe données de la région peut enregistrer des schémas.")
        form = SchemaForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                if form.cleaned_data.get("file"):
                    schema = services.register_schema_from_file(form.cleaned_data["file"])
                else:
                    schema = services.register_schema_from_url(form.cleaned_data["url"])
            except services.SchemaError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Schéma « {schema} » enregistré.")
                return redirect("quality:schemas")
    return render(request, "quality/schemas.html", {"schemas": TableSchema.objects.all(), "form": form, "can_manage": can_manage})


def schema_detail(request, slug):
    schema = get_object_or_404(TableSchema, slug=slug)
    fields = schema.descriptor.get("fields", [])
    return render(request, "quality/schema.html", {"schema": schema, "fields": fields})


def report(request, pk):
    report = get_object_or_404(ValidationReport.objects.select_related("schema"), pk=pk)
    header_errors = [e for e in report.errors if e.get("row") is None]
    row_errors = [e for e in report.errors if e.get("row") is not None]
    columns = {}
    for e in row_errors:
        columns.setdefault(e.get("column") or "—", 0)
        columns[e.get("column") or "—"] += 1
    return render(
        request,
        "quality/report.html",
        {"report": report, "header_errors": header_errors, "row_errors": row_errors, "by_column": sorted(columns.items(), key=lambda x: -x[1])},
    )


def declare_schema(request, pk):
    """POST: the publisher declares the suggested registered schema for a catalogue resource."""
    from django.contrib.auth.views import redirect_to_login

    from regio.catalog.models import Resource

    from .catalog_link import declare_schema as declare

    if request.method != "POST":
        from django.http import HttpResponseNotAllowed

        return HttpResponseNotAllowed(["POST"])
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    resource = get_object_or_404(Resource.objects.select_related("dataset__publisher"), pk=pk)
    schema = get_object_or_404(TableSchema, slug=request.POST.get("schema", ""))
    declare(request.user, resource, schema)
    messages.success(request, f"Schéma « {schema} » déclaré pour « {resource.title} » : la ressource va être validée.")
    return redirect(resource.dataset)
