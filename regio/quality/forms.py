from django import forms


class SchemaForm(forms.Form):
    url = forms.URLField(label="Adresse du fichier schema.json", required=False, assume_scheme="https")
    file = forms.FileField(label="ou fichier schema.json", required=False)

    def clean(self):
        data = super().clean()
        if not data.get("url") and not data.get("file"):
            raise forms.ValidationError("Indiquez l'adresse d'un schéma ou joignez un fichier schema.json.")
        return data
