from django.conf import settings
from django.urls import NoReverseMatch, reverse

from .registry import platform as registry


def platform(request):
    nav = []
    for entry in registry.nav:
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        nav.append({"label": entry.label, "url": url, "current": request.path.startswith(url) and url != "/"})
    from regio.territory.selectors import platform_region

    region = platform_region()
    return {"nav_entries": nav, "platform_region": region, "region_code": settings.REGION_CODE}
