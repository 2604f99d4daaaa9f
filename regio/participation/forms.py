from django import forms

from .models import THEMES, Debate, Level, Subscription

THEME_CHOICES = [("", "Tous les thèmes"), *THEMES.items()]


class FilterForm(forms.Form):
    q = forms.CharField(label="Mots-clés", required=False)
    theme = forms.ChoiceField(label="Thème", choices=THEME_CHOICES, required=False)
    near = forms.CharField(label="Près de (commune ou code postal)", required=False)
    radius_km = forms.IntegerField(label="Rayon (km)", min_value=1, max_value=200, required=False, initial=15)
    status = forms.ChoiceField(label="Statut", choices=[("", "Tous"), *Debate.Status.choices], required=False)
    level = forms.ChoiceField(label="Niveau de l'organisateur", choices=[("", "Tous"), *Level.choices], required=False)
    date_from = forms.DateField(label="Ouvert après le", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="Ouvert avant le", required=False, widget=forms.DateInput(attrs={"type": "date"}))


class DebateForm(forms.Form):
    organisation = forms.ModelChoiceField(label="Organisateur", queryset=None, empty_label=None)
    title = forms.CharField(label="Titre", max_length=300)
    summary = forms.CharField(label="Résumé", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    kind = forms.ChoiceField(label="Type", choices=Debate.Kind.choices)
    themes = forms.MultipleChoiceField(label="Thèmes", choices=list(THEMES.items()), required=False, widget=forms.CheckboxSelectMultiple)
    online = forms.BooleanField(label="Se déroule en ligne", required=False)
    address = forms.CharField(label="Adresse du lieu", required=False, help_text="Ex. : Place de l'Hôtel de Ville, 80000 Amiens")
    commune_code = forms.CharField(label="Commune (code INSEE, code postal ou nom)", required=False)
    opens_on = forms.DateField(label="Date d'ouverture", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    closes_on = forms.DateField(label="Date de clôture", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    url = forms.URLField(label="Lien vers la plateforme du débat", required=False)
    results_url = forms.URLField(label="Lien vers les résultats", required=False)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        from regio.accounts.models import Organisation

        self.fields["organisation"].queryset = Organisation.objects.filter(pk__in=[o.pk for o in organisations])


class SubscriptionForm(forms.Form):
    email = forms.EmailField(label="Adresse électronique")
    themes = forms.MultipleChoiceField(label="Thèmes", choices=list(THEMES.items()), required=False, widget=forms.CheckboxSelectMultiple)
    commune = forms.CharField(label="Commune (nom, code INSEE ou code postal)", required=False)
    radius_km = forms.IntegerField(label="Rayon autour de la commune (km)", min_value=1, max_value=200, initial=10)
    frequency = forms.ChoiceField(label="Fréquence", choices=Subscription.Frequency.choices, initial="weekly", widget=forms.RadioSelect)


class EmailForm(forms.Form):
    email = forms.EmailField(label="Adresse électronique")


class UploadForm(forms.Form):
    organisation = forms.ModelChoiceField(label="Organisateur", queryset=None, empty_label=None)
    file = forms.FileField(label="Fichier CSV ou XLSX (modèle)")

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        from regio.accounts.models import Organisation

        self.fields["organisation"].queryset = Organisation.objects.filter(pk__in=[o.pk for o in organisations])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError("Seuls les fichiers .csv et .xlsx sont acceptés.")
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("Le fichier dépasse 5 Mo.")
        return upload


SOURCE_KINDS = [
    ("decidim", "Decidim — API GraphQL (adresse se terminant par /api)"),
    ("decidim-opendata", "Decidim — export open data (archive zip)"),
    ("icalendar", "Agenda iCalendar (.ics)"),
]


class SourceForm(forms.Form):
    organisation = forms.ModelChoiceField(label="Organisation propriétaire", queryset=None, empty_label=None)
    name = forms.CharField(label="Nom de la source", max_length=200)
    kind = forms.ChoiceField(label="Type", choices=SOURCE_KINDS)
    url = forms.URLField(label="Adresse (https://…)", max_length=1000, assume_scheme="https")
    debate_title = forms.CharField(label="Titre du débat (agenda iCalendar seulement)", required=False, max_length=300)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        from regio.accounts.models import Organisation

        self.fields["organisation"].queryset = Organisation.objects.filter(pk__in=[o.pk for o in organisations])

    def clean_url(self):
        from regio.core.http import UnsafeURLError, check_url

        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except UnsafeURLError as exc:
            raise forms.ValidationError(str(exc))
        except Exception:  # DNS failure: the first run will report it
            pass
        return url
