"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against the
live test server, and axe-core (from node_modules) checks every page for WCAG 2.1 AA violations.
Third-party requests are recorded and fail the test."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("REGIO_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} absent (apt-get install chromium)"
    if not AXE.exists():
        return "axe-core absent (npm install)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("REGIO_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, reference_territory_tx):
    """The live server with the reference territory loaded (the live server's database starts empty)."""
    return live_server


@pytest.fixture
def page(browser, site):
    context = browser.new_context(locale="fr-FR", bypass_csp=True)
    page = context.new_page()
    page.foreign_requests = []
    host = urlsplit(site.url).netloc

    def record(request):
        netloc = urlsplit(request.url).netloc
        if netloc and netloc != host and not request.url.startswith("data:"):
            page.foreign_requests.append(request.url)

    page.on("request", record)
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.fixture
def check_page(page, site):
    """Open a path, assert it is in French, accessible (axe) and makes no third-party request."""

    def check(path: str):
        response = page.goto(site.url + path)
        assert response is not None and response.status < 400, f"{path} a répondu {response and response.status}"
        assert page.locator("html").get_attribute("lang") == "fr"
        violations = axe_violations(page)
        assert violations == [], f"{path} : violations axe {violations}"
        assert page.foreign_requests == [], f"{path} : requêtes vers des tiers {page.foreign_requests}"
        return page

    return check
