from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import Membership, Organisation


class SignUpForm(forms.Form):
    full_name = forms.CharField(label="Nom (facultatif)", max_length=150, required=False)
    email = forms.EmailField(label="Adresse électronique", error_messages={"invalid": "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."})
    password = forms.CharField(
        label="Mot de passe", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Au moins 10 caractères, pas uniquement des chiffres.",
    )


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Adresse électronique ou mot de passe incorrect.",
        "inactive": "Ce compte n'est pas encore activé : ouvrez le lien de confirmation reçu par courriel.",
    }


class OrganisationForm(forms.Form):
    name = forms.CharField(label="Nom de l'organisation", max_length=200)
    kind = forms.ChoiceField(
        label="Type",
        choices=[(k, label) for k, label in Organisation.Kind.choices if k in Organisation.SELF_REGISTERED_KINDS],
    )
    siren = forms.CharField(label="SIREN (facultatif)", max_length=11, required=False)
    commune_code = forms.CharField(label="Code INSEE de la commune du siège (facultatif)", max_length=5, required=False)
    website = forms.URLField(label="Site web (facultatif)", required=False, assume_scheme="https")
    description = forms.CharField(label="Présentation (facultatif)", widget=forms.Textarea(attrs={"rows": 4}), required=False)


class JoinForm(forms.Form):
    role = forms.ChoiceField(label="Rôle demandé", choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
    message = forms.CharField(label="Message aux administrateurs (facultatif)", widget=forms.Textarea(attrs={"rows": 3}), required=False)
