"""CKAN Action API, driven by the real ``ckanapi`` client over HTTP and compared with real CKAN answers."""

import json

import pytest
from ckanapi import NotFound, RemoteCKAN, ValidationError

from regio.catalog import services

REAL = "standards/apis/ckan"


def real(shared_dir, name):
    return json.loads((shared_dir / REAL / name).read_text(encoding="utf-8"))


@pytest.fixture
def ckan_site(live_server, transactional_db):
    """The live server with the reference territory and a small catalogue."""
    from regio.accounts.models import Organisation
    from tests.conftest import load_reference_territory
    from tests.factories import make_user, member_of

    load_reference_territory()
    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    region = Organisation.objects.get(kind="region", region_id="32")
    agent = member_of(make_user("agent@amiens.fr"), amiens)
    member_of(agent, region)
    a = services.create_dataset(agent, amiens, {
        "title": "Subventions versées aux associations", "licence": "lov2", "keywords": ["subventions", "associations"],
        "themes": ["ECON"], "description": "Montants attribués par la ville."}, publish=True)
    services.add_resource(agent, a, title="Subventions 2024", url="https://data.amiens.fr/subventions-2024.csv",
                          checksum_sha256="ab" * 32, size=1234)
    b = services.create_dataset(agent, region, {
        "title": "Horaires des transports régionaux", "licence": "odc-odbl", "keywords": ["transport", "gtfs"],
        "themes": ["TRAN"], "description": "Réseau régional, dont les lignes qui reçoivent une subvention."}, publish=True)
    services.add_resource(agent, b, title="GTFS", url="https://data.region.fr/gtfs.zip", format="zip")
    services.create_dataset(agent, amiens, {"title": "Brouillon caché", "licence": "lov2"})
    return {"url": live_server.url, "amiens": amiens, "datasets": (a, b)}


@pytest.fixture
def ckan(ckan_site):
    with RemoteCKAN(ckan_site["url"], user_agent="regio-tests") as client:
        yield client


def test_package_list_and_show_match_ckan_shapes(ckan, ckan_site, shared_dir):
    a, b = ckan_site["datasets"]
    assert ckan.action.package_list() == sorted([a.slug, b.slug])
    shown = ckan.action.package_show(id=a.slug)
    assert shown["name"] == a.slug and shown["title"] == a.title
    assert shown["license_id"] == "lov2" and shown["isopen"] is True
    assert [t["name"] for t in shown["tags"]] == ["subventions", "associations"]
    assert shown["organization"]["name"] == ckan_site["amiens"].slug
    assert shown["resources"][0]["url"] == "https://data.amiens.fr/subventions-2024.csv"
    assert shown["resources"][0]["format"] == "CSV"
    assert shown["resources"][0]["hash"] == "sha256:" + "ab" * 32
    # Key sets: every field common to two real CKAN portals is present, with the same envelope.
    datasud = real(shared_dir, "datasud_package_show_parkings-ville-de-gap.json")
    demo = real(shared_dir, "demo.ckan.org_package_show_1.json")
    common = set(datasud["result"]) & set(demo["result"])
    assert common <= set(shown), common - set(shown)
    res_common = set(datasud["result"]["resources"][0]) & set(demo["result"]["resources"][0])
    assert res_common <= set(shown["resources"][0]), res_common - set(shown["resources"][0])
    assert set(datasud["result"]["organization"]) <= set(shown["organization"])
    assert set(datasud["result"]["tags"][0]) <= set(shown["tags"][0])
    # by uuid too, and resource_show
    assert ckan.action.package_show(id=shown["id"])["name"] == a.slug
    assert ckan.action.resource_show(id=shown["resources"][0]["id"])["package_id"] == shown["id"]


def test_envelope_is_ckans(ckan_site, shared_dir):
    import requests

    response = requests.get(f"{ckan_site['url']}/api/3/action/package_list", timeout=10)
    body = response.json()
    assert set(body) == set(real(shared_dir, "transportdata.be_package_list.json")) == {"help", "success", "result"}
    assert body["success"] is True and body["help"].endswith("help_show?name=package_list")
    missing = requests.get(f"{ckan_site['url']}/api/3/action/package_show?id=nope", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"help": f"{ckan_site['url']}/api/3/action/help_show?name=package_show", "success": False,
                              "error": {"__type": "Not Found Error", "message": "Jeu de données introuvable"}}
    unknown = requests.get(f"{ckan_site['url']}/api/3/action/package_create", timeout=10)
    assert unknown.status_code == 400 and unknown.json()["error"]["__type"] == "Bad request"


def test_package_search(ckan, ckan_site, shared_dir):
    a, b = ckan_site["datasets"]
    found = ckan.action.package_search(q="subvention", rows=10, **{"facet.field": ["organization", "res_format", "tags", "license_id", "groups"]})
    assert set(found) == set(real(shared_dir, "datasud_package_search.json")["result"])
    assert found["count"] == 2
    assert [p["name"] for p in found["results"]] == [a.slug, b.slug]  # title match first
    assert found["facets"]["res_format"] == {"CSV": 1, "ZIP": 1}
    assert found["facets"]["license_id"] == {"lov2": 1, "odc-odbl": 1}
    assert found["facets"]["groups"] == {"econ": 1, "tran": 1}
    assert found["facets"]["tags"]["subventions"] == 1
    items = found["search_facets"]["organization"]["items"]
    assert {i["name"] for i in items} == {ckan_site["amiens"].slug, "region-32"} or len(items) == 2
    fq = ckan.action.package_search(fq=f'organization:{ckan_site["amiens"].slug} +res_format:"CSV"')
    assert [p["name"] for p in fq["results"]] == [a.slug]
    paged = ckan.action.package_search(rows=1, start=1, sort="metadata_modified desc")
    assert paged["count"] == 2 and [p["name"] for p in paged["results"]] == [a.slug]
    with pytest.raises(ValidationError):
        ckan.action.package_search(fq="author:x")
    with pytest.raises(ValidationError):
        ckan.action.package_search(rows=5000)


def test_package_search_fq_exclusions_and_or(ckan, ckan_site):
    """Solr ``fq`` as CKAN clients write it: -field:value, NOT, OR within a field, groups."""
    a, b = ckan_site["datasets"]

    def names(fq, **params):
        return sorted(p["name"] for p in ckan.action.package_search(fq=fq, **params)["results"])

    assert names("-res_format:ZIP") == [a.slug]
    assert names("NOT res_format:CSV") == [b.slug]
    assert names("-res_format:(CSV OR ZIP)") == []
    assert names("res_format:(CSV OR ZIP)") == sorted([a.slug, b.slug])
    assert names("res_format:CSV OR res_format:ZIP") == sorted([a.slug, b.slug])
    assert names('license_id:"lov2" || license_id:odc-odbl', q="subvention") == sorted([a.slug, b.slug])
    assert names("license_id:lov2 || license_id:cc-by") == [a.slug]
    assert names(f"-organization:{ckan_site['amiens'].slug} groups:tran") == [b.slug]
    assert names(f"-name:{a.slug}") == [b.slug]
    assert names("-groups:econ AND -groups:tran") == []
    excluded = ckan.action.package_search(fq="-res_format:ZIP", **{"facet.field": ["res_format"]})
    assert excluded["count"] == 1 and excluded["facets"]["res_format"] == {"CSV": 1}
    for fq, message in [
        ("res_format:CSV OR license_id:lov2", "même champ"),
        ("res_format:(CSV AND ZIP)", "Groupe non pris en charge"),
        ("res_format:CSV OR", "Expression incomplète"),
        ("-author:x", "Champ non pris en charge"),
    ]:
        with pytest.raises(ValidationError) as error:
            ckan.action.package_search(fq=fq)
        assert message in str(error.value), fq


def test_organizations_groups_tags_status(ckan, ckan_site, shared_dir):
    orgs = ckan.action.organization_list()
    assert ckan_site["amiens"].slug in orgs and len(orgs) == 2
    assert all(isinstance(o, str) for o in real(shared_dir, "transportdata.be_organization_list.json")["result"])
    org = ckan.action.organization_show(id=ckan_site["amiens"].slug, include_datasets=True)
    assert org["package_count"] == 1 and org["packages"][0]["name"] == ckan_site["datasets"][0].slug
    with pytest.raises(NotFound):
        ckan.action.organization_show(id="inconnue")
    assert "econ" in ckan.action.group_list()
    groups = {g["name"]: g for g in ckan.action.group_list(all_fields=True)}
    assert groups["tran"]["package_count"] == 1 and groups["tran"]["title"] == "Transports"
    assert ckan.action.tag_list() == ["associations", "gtfs", "subventions", "transport"]
    assert ckan.action.tag_list(query="sub") == ["subventions"]
    status = ckan.action.status_show()
    assert status["ckan_version"] and status["locale_default"] == "fr"
