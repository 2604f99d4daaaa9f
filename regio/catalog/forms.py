from django import forms

from .vocabularies import FREQUENCY_CHOICES, LICENCE_CHOICES, THEME_CHOICES


class DatasetForm(forms.Form):
    title = forms.CharField(label="Titre", max_length=250, required=False)
    slug = forms.CharField(
        label="Identifiant dans l'adresse", max_length=120, required=False,
        help_text="Lettres minuscules, chiffres et tirets ; laissé vide, il est tiré du titre.",
    )
    publisher = forms.ModelChoiceField(label="Producteur", queryset=None, empty_label=None)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Format Markdown : **gras**, listes, liens. Le code HTML est neutralisé.",
    )
    licence = forms.ChoiceField(label="Licence", choices=[("", "— choisir —"), *LICENCE_CHOICES], required=False)
    themes = forms.MultipleChoiceField(label="Thèmes", choices=THEME_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)
    keywords = forms.CharField(label="Mots-clés", required=False, help_text="Séparés par des virgules.")
    territories = forms.CharField(
        label="Couverture territoriale", required=False,
        help_text="Codes INSEE des communes, SIREN des EPCI, codes de département, séparés par des virgules (ex. 80021, 200070969, 80).",
    )
    temporal_start = forms.DateField(label="Début de la période couverte", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    temporal_end = forms.DateField(label="Fin de la période couverte", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    frequency = forms.ChoiceField(label="Fréquence de mise à jour", choices=FREQUENCY_CHOICES, initial="UNKNOWN")
    conforms_to = forms.URLField(label="Schéma de données (adresse du Table Schema)", required=False, max_length=500)
    contact_name = forms.CharField(label="Point de contact", required=False, max_length=200)
    contact_email = forms.EmailField(label="Courriel de contact", required=False)

    def __init__(self, *args, organisations=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import theme_choices

        self.fields["publisher"].queryset = organisations
        self.fields["themes"].choices = theme_choices()
        if editing:
            del self.fields["publisher"]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("publisher", None)
        return data


class ResourceForm(forms.Form):
    title = forms.CharField(label="Titre", max_length=250, required=False)
    url = forms.URLField(label="Adresse du fichier (si hébergé ailleurs)", required=False, max_length=1000)
    file = forms.FileField(label="ou fichier à déposer", required=False)
    format = forms.CharField(label="Format", max_length=20, required=False, help_text="Déduit de l'extension si vide (csv, json…).")
    schema = forms.URLField(label="Schéma de la ressource", required=False, max_length=500)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class DiscussionForm(forms.Form):
    title = forms.CharField(label="Sujet", max_length=200)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 4}))


class ReplyForm(forms.Form):
    body = forms.CharField(label="Votre réponse", widget=forms.Textarea(attrs={"rows": 3}))


class ReuseForm(forms.Form):
    title = forms.CharField(label="Titre", max_length=250, required=False)
    url = forms.CharField(label="Adresse de la réutilisation", max_length=500, required=False,
                          help_text="Adresse de l'application, de l'article ou de la visualisation (https://…).")
    kind = forms.ChoiceField(label="Type", choices=[])
    owner = forms.ModelChoiceField(label="Organisation qui la déclare", queryset=None, empty_label=None)
    datasets = forms.CharField(
        label="Jeux de données réutilisés", required=False,
        help_text="Identifiants des jeux de données (fin de l'adresse de leur page), séparés par des virgules.",
    )
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, organisations=None, **kwargs):
        from .models import Reuse

        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = organisations
        self.fields["kind"].choices = Reuse.Kind.choices
