from django import forms

from regio.accounts.models import Organisation

from .models import LegalGround, Status


class RequestForm(forms.Form):
    title = forms.CharField(label="Quelles données demandez-vous ?", max_length=250, required=False)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Contenu attendu, période, niveau de détail, format souhaité.",
    )
    purpose = forms.CharField(label="Pourquoi ? (usage prévu)", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # A search field (resolved on the server, suggestions with JavaScript), not a select of the
    # thousands of collectivités of the territory.
    holder_q = forms.CharField(
        label="Collectivité ou organisme qui détient les données", required=False, max_length=200,
        help_text="Nom, code INSEE ou SIREN ; laissez vide si vous ne savez pas.",
    )
    holder = forms.SlugField(required=False, max_length=120, widget=forms.HiddenInput)
    territory_codes = forms.CharField(
        label="Territoire concerné", required=False,
        help_text="Codes INSEE des communes ou codes de département, séparés par des virgules (ex. 80021, 59).",
    )
    email = forms.EmailField(
        label="Votre adresse électronique (jamais publiée)", required=False,
        help_text="Pour être informé à chaque étape. Inutile si vous êtes connecté.",
    )
    confirm_new = forms.BooleanField(label="Les jeux de données proposés ne répondent pas à ma demande", required=False)

    HOLDER_KINDS = (*Organisation.COLLECTIVITE_KINDS, Organisation.Kind.PUBLIC_BODY)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holder_choices: list[Organisation] = []

    def clean(self):
        from .selectors import search_organisations

        data = super().clean()
        slug, typed = data.get("holder") or "", (data.get("holder_q") or "").strip()
        data["holder"] = None
        if slug:
            data["holder"] = Organisation.objects.filter(slug=slug, kind__in=self.HOLDER_KINDS).first()
            if data["holder"] is None:
                self.add_error("holder_q", f"Organisation introuvable : « {slug} ».")
        elif typed:
            found = search_organisations(typed, kinds=self.HOLDER_KINDS)
            if len(found) == 1:
                data["holder"] = found[0]
            elif found:
                self.holder_choices = found
                self.add_error("holder_q", f"{len(found)} organisations correspondent à « {typed} » : choisissez-en une.")
            else:
                self.add_error("holder_q", f"Aucune collectivité ni organisme public ne correspond à « {typed} » : précisez le nom, le code INSEE ou le SIREN, ou laissez vide.")
        return data


class TransitionForm(forms.Form):
    status = forms.ChoiceField(label="Nouvel état", choices=[(s.value, s.label) for s in Status if s != Status.SUBMITTED])
    note = forms.CharField(label="Note (envoyée au demandeur et aux soutiens)", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    legal_ground = forms.ChoiceField(label="Motif légal (refus)", required=False, choices=[("", "—"), *LegalGround.choices])
    # A search field, not a select of every organisation: the name (or SIREN, INSEE code) typed is
    # resolved on the server; several matches → the page asks to choose among them. With
    # JavaScript, suggestions appear under the field and fill ``assigned_to`` with the slug.
    assigned_to_q = forms.CharField(
        label="Organisation productrice (transmission)", required=False, max_length=200,
        help_text="Nom, code INSEE ou SIREN de l'organisation ; choisissez-la parmi les propositions.",
    )
    assigned_to = forms.SlugField(required=False, max_length=120, widget=forms.HiddenInput)
    dataset = forms.CharField(label="Jeu de données publié (identifiant dans l'adresse)", required=False)


class SupportForm(forms.Form):
    email = forms.EmailField(label="Votre adresse électronique (si vous n'êtes pas connecté)", required=False)


class CommentForm(forms.Form):
    body = forms.CharField(label="Votre commentaire", widget=forms.Textarea(attrs={"rows": 3}))


class AgentsForm(forms.Form):
    agents = forms.IntegerField(label="Nombre d'agents", min_value=0, required=False, help_text="Laisser vide si inconnu (« à vérifier »).")


class AgentsImportForm(forms.Form):
    file = forms.FileField(label="Fichier CSV (colonnes code et agents)")
