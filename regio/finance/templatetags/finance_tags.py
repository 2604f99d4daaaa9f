from django import template

register = template.Library()


@register.filter
def euros(cents) -> str:
    """Integer cents → ``1 234,56 €`` (French format, narrow no-break spaces)."""
    if cents in (None, ""):
        return "—"
    text = f"{int(cents) / 100:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"
