"""Atom feed of new and updated datasets, and the catalogue's sitemap."""

from django.contrib.sitemaps import Sitemap
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .rendering import plain_text
from .selectors import public_datasets


class DatasetFeed(Feed):
    feed_type = Atom1Feed
    title = "Jeux de données nouveaux et mis à jour"
    subtitle = "Les 50 derniers jeux de données publiés ou modifiés sur le catalogue régional."

    def link(self):
        return reverse("catalog:search")

    def items(self):
        return public_datasets().select_related("publisher").order_by("-metadata_modified_at", "-id")[:50]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return plain_text(item.description, 500)

    def item_link(self, item):
        return item.get_absolute_url()

    def item_guid(self, item):
        return f"urn:uuid:{item.uid}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.published_at or item.created_at

    def item_updateddate(self, item):
        return item.metadata_modified_at

    def item_author_name(self, item):
        return item.publisher.name

    def item_categories(self, item):
        return item.keywords


class DatasetSitemap(Sitemap):
    changefreq = "weekly"
    limit = 5000

    def items(self):
        return public_datasets().order_by("id").only("slug", "metadata_modified_at")

    def lastmod(self, item):
        return item.metadata_modified_at


class PagesSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return ["catalog:search", "core:home"]

    def location(self, item):
        return reverse(item)


SITEMAPS = {"pages": PagesSitemap, "donnees": DatasetSitemap}
