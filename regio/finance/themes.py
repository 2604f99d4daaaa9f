"""Theme of a subsidy, classified at import from the words of its object and nature (and, when
they say nothing — « Fonctionnement », « SUBVENTION 2017 » — from the beneficiary's name).

Words are compared after ``normalize_text`` (lower case, no accents); a keyword matches a word
that starts with it (``cultur`` matches culture, culturel, culturelle); keywords of four letters or
fewer must equal the word (``art``, ``fer``, ``eau``, ``ens``: no « artisan », « ferme »). The theme with the most
matching words wins; ties go to the first theme of the list. No match → ``autre``."""

from __future__ import annotations

import functools

from regio.core.text import normalize_text

# slug, French label, keyword prefixes (normalised: lower case, no accents)
THEMES: list[tuple[str, str, tuple[str, ...]]] = [
    ("culture", "Culture et patrimoine", (
        "cultur", "festival", "theatr", "musiqu", "musical", "concert", "cinema", "patrimoin", "musee", "livre",
        "lecture", "bibliothe", "mediathe", "danse", "chorale", "vocal", "chant", "artist", "spectacl", "exposition",
        "occitan", "pinceau", "plume", "couture", "compagnie", "art",
    )),
    ("sport", "Sport et loisirs", (
        "sport", "football", "foot", "handball", "basket", "tennis", "judo", "karate", "rugby", "gymnasti", "natation",
        "cyclis", "rallye", "athleti", "olympi", "tai", "chasse", "peche", "randonn", "loisir", "petanque", "equestr",
    )),
    ("social", "Action sociale et solidarité", (
        "social", "solidari", "famil", "parent", "handicap", "autonomi", "insertion", "precari", "pauvre", "logement",
        "mediation", "victim", "violence", "age", "aines", "senior", "droit", "femme", "menage", "modeste", "enfan",
    )),
    ("education", "Éducation, jeunesse et formation", (
        "educat", "ecole", "scolair", "college", "lycee", "eleve", "pedagog", "formation", "apprentissag", "jeunes",
        "universit", "etudiant", "langue",
    )),
    ("environnement", "Environnement et cadre de vie", (
        "environnement", "ecolog", "dechet", "eau", "energ", "climat", "biodiversit", "naturel", "botaniqu", "riviere",
        "aquatiqu", "littoral", "paysag", "ens", "methanis", "eaux",
    )),
    ("economie", "Économie, emploi et tourisme", (
        "econom", "entrepr", "emploi", "artisan", "commerc", "innov", "numeriqu", "filiere", "incubat", "cooperati",
        "touris", "agricol", "agricultur", "ferme", "industri", "hebergement", "metier",
    )),
    ("sante", "Santé", (
        "sante", "medic", "hopital", "soin", "soins", "addict", "maladi", "psycholog", "prevention",
    )),
    ("amenagement", "Aménagement, transports et équipements", (
        "transport", "ferroviair", "fer", "voie", "voies", "route", "voiri", "mobilit", "amenag", "urbanism", "equipement",
        "construct", "renovation", "infrastructur", "travaux", "immobili", "batiment",
    )),
    ("citoyennete", "Vie associative, citoyenneté et international", (
        "citoyen", "combattant", "memoir", "fete", "fetes", "jumelag", "international", "comite",
    )),
]
OTHER = ("autre", "Autre ou non classée")
LABELS = {slug: label for slug, label, _ in THEMES} | {OTHER[0]: OTHER[1]}
CHOICES = [(slug, label) for slug, label, _ in THEMES] + [OTHER]


_EXACT = {slug: frozenset(k for k in keys if len(k) <= 4) for slug, _, keys in THEMES}
_PREFIX = {slug: tuple(k for k in keys if len(k) > 4) for slug, _, keys in THEMES}


def _score(words: list[str]) -> str | None:
    best, best_score = None, 0
    for slug, _label, _keys in THEMES:
        exact, prefix = _EXACT[slug], _PREFIX[slug]
        score = sum(1 for w in words if w in exact or w.startswith(prefix))
        if score > best_score:
            best, best_score = slug, score
    return best


@functools.lru_cache(maxsize=65536)
def classify(obj: str, nature: str = "", beneficiary: str = "") -> str:
    """Theme slug of a subsidy (``autre`` when nothing matches)."""
    found = _score(normalize_text(f"{obj} {nature}").split())
    if found is None and beneficiary:
        found = _score(normalize_text(beneficiary).split())
    return found or OTHER[0]
