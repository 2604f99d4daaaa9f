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
