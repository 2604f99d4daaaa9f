from datetime import datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from regio.accounts.permissions import organisations_user_can_edit
from regio.territory.selectors import commune_by_code_or_postal_code

from . import services
from .models import Category, Pledge, Programme

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
IMAGE_MAX_BYTES = 3 * 1024 * 1024


def _cents(value: str, label: str) -> int:
    try:
        return services.parse_amount_eur(value)
    except services.CrowdfundingError as exc:
        raise ValidationError(f"{label} : {exc}")


class PledgeForm(forms.Form):
    amount = forms.CharField(label="Montant du don (en euros)", max_length=20, help_text="Par exemple 25 ou 25,50. Minimum 5 €.")
    provider = forms.ChoiceField(label="Moyen de paiement", choices=Pledge.Provider.choices, initial=Pledge.Provider.BANK_TRANSFER)
    show_name = forms.BooleanField(label="J'accepte que le porteur du projet voie mon nom et mon message", required=False)
    message = forms.CharField(label="Message au porteur (facultatif)", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def clean_amount(self):
        return _cents(self.cleaned_data["amount"], "Montant")

    def clean(self):
        data = super().clean()
        if "amount" in data:
            data["amount_cents"] = data["amount"]
        return data


def _parse_lines(text: str, label: str, amount_first: bool) -> list[tuple]:
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) < 2:
            raise ValidationError(f"{label}, ligne {number} : séparez le texte et le montant par un point-virgule.")
        if amount_first:
            rows.append((_cents(parts[0], f"{label}, ligne {number}"), parts[1][:200], ";".join(parts[2:])))
        else:
            rows.append((parts[0][:200], _cents(parts[1], f"{label}, ligne {number}")))
    return rows


class ProjectForm(forms.Form):
    title = forms.CharField(label="Titre du projet", max_length=200)
    category = forms.ChoiceField(label="Catégorie", choices=Category.choices)
    commune = forms.CharField(label="Commune du projet", max_length=80, help_text="Code INSEE ou code postal, par exemple 59663.")
    organisation = forms.ModelChoiceField(label="Porté au nom de", queryset=None, required=False, empty_label="Moi-même (particulier)")
    programme = forms.ModelChoiceField(label="Programme d'abondement de la Région", queryset=None, required=False, empty_label="Aucun")
    goal = forms.CharField(label="Objectif de la collecte (en euros)", max_length=20)
    deadline = forms.DateField(label="Fin de la collecte", help_text="Au format AAAA-MM-JJ.", widget=forms.DateInput(attrs={"type": "date"}))
    summary = forms.CharField(label="Résumé en une phrase", max_length=300, required=False)
    description = forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 10}), help_text="Markdown accepté (titres, listes, liens).")
    budget = forms.CharField(
        label="Budget détaillé",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Un poste par ligne : « libellé ; montant en euros », par exemple « Four à pain ; 3500 ».",
    )
    counterparts = forms.CharField(
        label="Contreparties (facultatif)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Une par ligne : « montant minimal ; contrepartie », par exemple « 20 ; Un pain par semaine pendant un mois ».",
    )
    other_public_funding = forms.CharField(label="Autres aides publiques obtenues (en euros)", max_length=20, initial="0")
    image = forms.FileField(label="Image (facultatif)", required=False, help_text="JPEG, PNG ou WebP, 3 Mo au plus.")
    image_alt = forms.CharField(label="Description de l'image", max_length=200, required=False)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations_user_can_edit(user)
        self.fields["programme"].queryset = Programme.objects.filter(is_active=True)

    def clean_commune(self):
        commune = commune_by_code_or_postal_code(self.cleaned_data["commune"])
        if commune is None:
            raise ValidationError("Commune introuvable : indiquez un code INSEE ou un code postal.")
        return commune

    def clean_goal(self):
        return _cents(self.cleaned_data["goal"], "Objectif")

    def clean_other_public_funding(self):
        value = (self.cleaned_data["other_public_funding"] or "0").strip()
        return 0 if value in ("0", "") else _cents(value, "Autres aides publiques")

    def clean_budget(self):
        lines = _parse_lines(self.cleaned_data["budget"], "Budget", amount_first=False)
        if not lines:
            raise ValidationError("Indiquez au moins un poste de dépense.")
        return lines

    def clean_counterparts(self):
        return _parse_lines(self.cleaned_data["counterparts"], "Contreparties", amount_first=True)

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image:
            if not image.name.lower().endswith(IMAGE_EXTENSIONS):
                raise ValidationError("Format d'image non accepté : JPEG, PNG ou WebP.")
            if image.size > IMAGE_MAX_BYTES:
                raise ValidationError("Image trop lourde : 3 Mo au plus.")
        return image

    def clean_deadline(self):
        day = self.cleaned_data["deadline"]
        deadline = timezone.make_aware(datetime.combine(day, time(23, 59)))
        if deadline <= timezone.now():
            raise ValidationError("La fin de la collecte doit être dans le futur.")
        return deadline

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "title": d["title"],
            "category": d["category"],
            "commune": d["commune"],
            "organisation": d["organisation"],
            "programme": d["programme"],
            "goal_cents": d["goal"],
            "deadline": d["deadline"],
            "summary": d["summary"],
            "description": d["description"],
            "budget_lines": d["budget"],
            "counterparts": d["counterparts"],
            "other_public_funding_cents": d["other_public_funding"],
            "image": d["image"],
            "image_alt": d["image_alt"],
        }


class UpdateForm(forms.Form):
    title = forms.CharField(label="Titre de l'actualité", max_length=200)
    body = forms.CharField(label="Texte", widget=forms.Textarea(attrs={"rows": 6}), help_text="Markdown accepté.")


class StatementForm(forms.Form):
    file = forms.FileField(label="Relevé bancaire (CSV)", help_text="Export CSV de la banque : séparateur « ; » ou « , », encodage UTF-8 ou Windows-1252.")
