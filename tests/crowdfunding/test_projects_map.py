from __future__ import annotations

import re

import pytest

from regio.territory.models import Commune

from .conftest import RURAL_COMMUNE, URBAN_COMMUNE, make_project

pytestmark = pytest.mark.django_db


def _svg(page: str) -> str:
    match = re.search(r"<svg[^>]*class=\"territory-map\".*?</svg>", page, re.S)
    assert match, "pas de carte sur la page"
    return match.group(0)


def test_map_links_each_commune_to_its_project(client, owner, moderator):
    assert Commune.objects.get(code=RURAL_COMMUNE).contour and Commune.objects.get(code=URBAN_COMMUNE).contour
    rural = make_project(owner, moderator, title="Fromagerie de Wormhout")
    urban = make_project(owner, moderator, title="Librairie d'Amiens", commune=URBAN_COMMUNE)
    make_project(owner, moderator, title="Brouillon caché", commune="59350", publish=False)  # Lille: not shown
    page = client.get("/financement-participatif/").content.decode()
    svg = _svg(page)
    assert svg.count("<path") == 2
    assert f'href="/financement-participatif/projets/{rural.slug}"' in svg
    assert f'href="/financement-participatif/projets/{urban.slug}"' in svg
    assert "Wormhout : Fromagerie de Wormhout" in svg
    assert 'role="group"' in svg and "<title" in svg and "<desc" in svg
    # the list stays on the page as the text alternative
    after_map = page.split("</svg>", 1)[1]
    assert "Fromagerie de Wormhout" in after_map and "Librairie d&#x27;Amiens" in after_map


def test_commune_with_several_projects_links_to_its_list(client, owner, moderator):
    make_project(owner, moderator, title="Fromagerie")
    make_project(owner, moderator, title="Boulangerie")
    svg = _svg(client.get("/financement-participatif/").content.decode())
    assert svg.count("<path") == 1
    assert f'href="/financement-participatif/?territoire={RURAL_COMMUNE}"' in svg
    assert "2 projets" in svg


def test_map_follows_the_search(client, owner, moderator):
    make_project(owner, moderator, title="Fromagerie", category="agriculture")
    make_project(owner, moderator, title="Librairie", category="culture", commune=URBAN_COMMUNE)
    svg = _svg(client.get("/financement-participatif/?categorie=culture").content.decode())
    assert svg.count("<path") == 1 and "Amiens" in svg and "Wormhout" not in svg


def test_no_map_without_projects(client, db):
    page = client.get("/financement-participatif/?territoire=zzz").content.decode()
    assert "territory-map" not in page
