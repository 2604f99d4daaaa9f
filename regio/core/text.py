"""French text normalisation shared by every search: accents, case, hyphens, apostrophes."""

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—'’`´_/.,;:()\[\]\"«»!?]+")


def normalize_text(value: str | None) -> str:
    """Lower-case, strip accents, turn hyphens/apostrophes/punctuation into single spaces.

    ``"Château-Thierry"`` and ``"chateau  thierry"`` both give ``"chateau thierry"``.
    """
    if not value:
        return ""
    value = value.translate(_LIGATURES)
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", stripped.casefold()).strip()


def search_forms(value: str | None) -> str:
    """Normalised text with the common French abbreviations expanded (St → saint, Ste → sainte)."""
    words = normalize_text(value).split()
    expanded = {"st": "saint", "ste": "sainte"}
    return " ".join(expanded.get(w, w) for w in words)
