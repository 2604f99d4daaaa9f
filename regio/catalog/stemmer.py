"""A light French stemmer (Snowball-like suffix stripping) for the SQLite FTS5 backend.

Text is first folded with :func:`regio.core.text.normalize_text` (lower case, no accents), then each
word loses its plural mark and its most common derivational / inflectional suffix, so that
"Subventions versées" and "subvention verser" meet on ``subvention vers``. PostgreSQL uses its own
Snowball ``french`` configuration; this one only has to be consistent with itself (the same
function stems the indexed text and the query).
"""

from __future__ import annotations

from functools import lru_cache

from regio.core.text import normalize_text

# Longest first: the first suffix that leaves a stem of at least MIN_STEM letters is removed.
_SUFFIXES = sorted(
    [
        "issements", "issement", "atrices", "atrice", "ateurs", "ateur", "ations", "ation",
        "logies", "logie", "usions", "usion", "utions", "ution", "ements", "ement", "ments", "ment",
        "ances", "ance", "ences", "ence", "ites", "ite", "ives", "ive", "ifs", "if",
        "euses", "euse", "eux", "ables", "able", "ibles", "ible", "istes", "iste", "ismes", "isme",
        "iques", "ique", "aires", "aire", "ees", "ee", "es", "er", "ez", "e",
        "ais", "ait", "ant", "ants", "antes", "ante", "ions",
    ],
    key=len,
    reverse=True,
)
MIN_STEM = 3
# Stop words dropped from queries and documents (their presence would only dilute AND queries).
STOP_WORDS = frozenset(
    "a au aux avec ce ces dans de des du en et la le les leur leurs l d un une ou par pour sur "
    "son sa ses qui que quoi est sont the of and".split()
)


@lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    if len(word) <= MIN_STEM or word.isdigit():
        return word
    if word.endswith("eaux"):
        word = word[:-1]
    elif word.endswith("aux") and len(word) > 4:
        word = word[:-3] + "al"
    elif word.endswith(("s", "x")) and len(word) > MIN_STEM + 1:
        word = word[:-1]
    if word.endswith("elle"):  # "culturelle" → "culturel", kept apart from "culture" (as Snowball does)
        word = word[:-2]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            word = word[: -len(suffix)]
            break
    # Undouble a final consonant left by the stripping (e.g. "annuell" → "annuel").
    if len(word) > MIN_STEM + 1 and word[-1] == word[-2] and word[-1] not in "aeiouy":
        word = word[:-1]
    return word


def stem_tokens(text: str | None) -> list[str]:
    return [stem_word(w) for w in normalize_text(text).split() if w not in STOP_WORDS]


def stem_text(text: str | None) -> str:
    return " ".join(stem_tokens(text))
