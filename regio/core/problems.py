"""API errors as ``application/problem+json`` (RFC 9457), with messages in French."""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    413: "Contenu trop volumineux",
    422: "Paramètres invalides",
    429: "Trop de requêtes",
    500: "Erreur interne",
}

# pydantic error types -> French sentence (the field name is added in front).
_PYDANTIC_FR = {
    "missing": "ce champ est obligatoire",
    "float_parsing": "doit être un nombre (ex. 50.63)",
    "float_type": "doit être un nombre",
    "int_parsing": "doit être un nombre entier",
    "int_type": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "bool_parsing": "doit valoir true ou false",
    "string_type": "doit être du texte",
    "string_too_short": "est trop court",
    "string_too_long": "est trop long",
    "greater_than": "doit être supérieur à {gt}",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than": "doit être inférieur à {lt}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "finite_number": "doit être un nombre fini",
    "date_parsing": "doit être une date au format AAAA-MM-JJ",
    "date_from_datetime_parsing": "doit être une date au format AAAA-MM-JJ",
    "datetime_parsing": "doit être une date et heure ISO 8601",
    "value_error": "{msg}",
    "enum": "doit être l'une des valeurs : {expected}",
    "literal_error": "doit être l'une des valeurs : {expected}",
    "json_invalid": "le corps de la requête n'est pas un JSON valide",
}


def problem(status: int, detail: str, *, title: str | None = None, errors: list | None = None, **extra):
    body = {"type": "about:blank", "title": title or TITLES.get(status, "Erreur"), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})


def french_validation_errors(errors: list[dict]) -> list[dict]:
    translated = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("query", "body", "path", "form")]
        field = ".".join(loc) or "requête"
        template = _PYDANTIC_FR.get(err.get("type", ""), None)
        ctx = {k: v for k, v in (err.get("ctx") or {}).items()}
        if template is None:
            message = err.get("msg", "valeur invalide")
        else:
            try:
                message = template.format(**ctx)
            except (KeyError, IndexError):
                message = template
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        translated.append({"field": field, "message": f"{field} : {message}"})
    return translated


def install_handlers(api) -> None:
    """Register problem+json handlers on a NinjaAPI instance."""
    from ninja.errors import AuthenticationError, HttpError, ValidationError

    @api.exception_handler(ValidationError)
    def on_validation(request, exc):
        errors = french_validation_errors(exc.errors)
        detail = " ; ".join(e["message"] for e in errors) or "Paramètres invalides."
        return problem(422, detail, errors=errors)

    @api.exception_handler(HttpError)
    def on_http_error(request, exc):
        return problem(exc.status_code, str(exc))

    @api.exception_handler(Http404)
    def on_404(request, exc):
        return problem(404, str(exc) or "Cette ressource n'existe pas.")

    @api.exception_handler(ObjectDoesNotExist)
    def on_missing(request, exc):
        return problem(404, "Cette ressource n'existe pas.")

    @api.exception_handler(PermissionDenied)
    def on_forbidden(request, exc):
        return problem(403, str(exc) or "Vous n'avez pas les droits nécessaires pour cette action.")

    @api.exception_handler(AuthenticationError)
    def on_auth(request, exc):
        return problem(401, "Authentification requise : connectez-vous ou fournissez un jeton d'API.")
