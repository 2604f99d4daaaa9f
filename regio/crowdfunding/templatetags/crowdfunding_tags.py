from django import template

from ..services import euros as _euros

register = template.Library()


@register.filter
def euros(cents):
    if cents is None or cents == "":
        return "—"
    return _euros(int(cents))
