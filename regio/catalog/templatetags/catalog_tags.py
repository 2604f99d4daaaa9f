from django import template
from django.utils.safestring import mark_safe

from ..rendering import plain_text, render_markdown

register = template.Library()


@register.filter
def markdown_safe(text):
    return mark_safe(render_markdown(text))  # nh3-sanitised


@register.filter
def summary(text, limit=220):
    return plain_text(text, int(limit))


@register.simple_tag(takes_context=True)
def facet_url(context, name, value):
    """The current search URL with facet ``name`` set to ``value`` (toggled off if already set)."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    if params.get(name) == value:
        params.pop(name)
    else:
        params[name] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.simple_tag(takes_context=True)
def page_url(context, page):
    params = context["request"].GET.copy()
    params["page"] = str(page)
    return "?" + params.urlencode()
