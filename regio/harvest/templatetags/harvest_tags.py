from django import template

from regio.harvest.selectors import origins_of

register = template.Library()


@register.simple_tag
def dataset_origins(dataset):
    return list(origins_of(dataset)) if dataset.pk else []
