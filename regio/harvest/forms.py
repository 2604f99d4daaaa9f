import json

from django import forms

from .models import KINDS


class SourceForm(forms.Form):
    name = forms.CharField(label="Nom de la source", max_length=200)
    kind = forms.ChoiceField(label="Type de portail", choices=list(KINDS.items()))
    url = forms.URLField(label="Adresse du portail ou du catalogue", max_length=1000, assume_scheme="https")
    owner = forms.ModelChoiceField(label="Organisation propriétaire du portail", queryset=None)
    organization = forms.CharField(label="Filtre sur une organisation du portail (facultatif)", required=False, max_length=200)
    schedule_minutes = forms.IntegerField(label="Intervalle entre deux passages (minutes, facultatif)", required=False, min_value=15)

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class SourceEditForm(forms.Form):
    name = forms.CharField(label="Nom de la source", max_length=200)
    url = forms.CharField(label="Adresse du portail ou du catalogue", max_length=1000, required=False)
    owner = forms.ModelChoiceField(label="Organisation propriétaire du portail", queryset=None)
    schedule_minutes = forms.IntegerField(label="Intervalle entre deux passages (minutes, facultatif)", required=False, min_value=15)
    schedule_cron = forms.CharField(
        label="ou planification horaire (« minute heure », ex. « 30 2 » pour 2 h 30 chaque jour ; facultatif)",
        required=False, max_length=60,
    )
    filters = forms.CharField(
        label="Filtres et options (JSON)", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Par exemple {\"organization\": \"ville-d-amiens\", \"page_size\": 100} ; "
        "clés reconnues : organization, fq, q, page_size, timeout_s, retries.",
    )
    enabled = forms.BooleanField(label="Source active (passages planifiés)", required=False)

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["filters"].widget.attrs["aria-describedby"] = "id_filters_helptext"

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if url and not url.startswith(("http://", "https://")):
            raise forms.ValidationError("L'adresse doit commencer par http:// ou https://.")
        return url

    def clean_schedule_cron(self):
        import re

        from .services import CRON_RE

        value = self.cleaned_data["schedule_cron"].strip()
        if value and not re.fullmatch(CRON_RE, value):
            raise forms.ValidationError("Planification invalide : indiquez « minute heure » (ex. « 30 2 * * * » pour 2 h 30 chaque jour).")
        return value

    def clean_filters(self):
        raw = self.cleaned_data["filters"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"JSON invalide : {exc.msg} (ligne {exc.lineno}, colonne {exc.colno}).") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Les filtres doivent être un objet JSON entre accolades, par exemple {\"organization\": \"ville-d-amiens\"}.")
        return value
