"""The ``/api/1/`` list envelope (udata's): data, page, page_size, total, next_page."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from ninja import Schema


class PageParams(Schema):
    page: int = 1
    page_size: int = settings.API_PAGE_SIZE


def clamp_page(page: int, page_size: int) -> tuple[int, int]:
    from ninja.errors import HttpError

    if page < 1:
        raise HttpError(422, "Le numéro de page doit être supérieur ou égal à 1.")
    if page_size < 1 or page_size > settings.API_MAX_PAGE_SIZE:
        raise HttpError(422, f"La taille de page doit être comprise entre 1 et {settings.API_MAX_PAGE_SIZE}.")
    return page, page_size


def paginate(
    request,
    items: QuerySet | Sequence,
    page: int,
    page_size: int,
    serialize: Callable[[Any], Any] = lambda x: x,
    total: int | None = None,
) -> dict:
    page, page_size = clamp_page(page, page_size)
    start = (page - 1) * page_size
    if total is None:
        total = items.count() if isinstance(items, QuerySet) else len(items)
    window: Iterable = items[start : start + page_size]
    next_page = None
    if start + page_size < total:
        params = request.GET.copy()
        params["page"] = str(page + 1)
        params["page_size"] = str(page_size)
        next_page = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return {
        "data": [serialize(x) for x in window],
        "page": page,
        "page_size": page_size,
        "total": total,
        "next_page": next_page,
    }
