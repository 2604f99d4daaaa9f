import pytest

from regio.core.text import normalize_text, search_forms


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Château-Thierry", "chateau thierry"),
        ("  CHÂTEAU   thierry ", "chateau thierry"),
        ("L'Abergement-Clémenciat", "l abergement clemenciat"),
        ("Œuilly", "oeuilly"),
        ("Saint-Étienne-du-Rouvray", "saint etienne du rouvray"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_search_forms_expands_saint():
    assert search_forms("St-Omer") == "saint omer"
    assert search_forms("Ste Geneviève") == "sainte genevieve"
