"""Every menu entry of the back office, the client portal and the public pages, in French then in English.

For each page: HTTP status < 400, no console error, no uncaught exception, no failed request, the page in
the requested language; in English, no French label left untranslated. A label is "left untranslated" when
the text of the English page contains a French msgid of comptoir/locale/en/LC_MESSAGES/django.po whose
English msgstr differs (only msgids of two words or more, or with an accented letter, to avoid false
positives). Text that users typed (names, addresses...) is not a label: templates mark it with the HTML
attribute translate="no", and this check skips it, as it skips text marked as written in another language
(`lang="fr"` on « Français » in a language menu).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polib
import pytest

from tests.browser.conftest import ROOT, Server

pytestmark = pytest.mark.browser

PO_FILE = ROOT / "comptoir" / "locale" / "en" / "LC_MESSAGES" / "django.po"
SCREENSHOTS = ROOT / "var" / "screenshots"
LANGUAGES = ["fr", "en"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PLACEHOLDER = re.compile(r"%(\([^)]*\))?[#0 +-]*\d*(\.\d+)?[sdifr%]|\{[^}]*\}")

# Every text of the page a person reads: text nodes, tooltips, placeholders, labels for screen readers,
# the title; not scripts, styles, templates, what is marked translate="no", nor what is marked as written
# in another language than the page's (lang="fr" on "Français" in a language menu).
PAGE_TEXT_JS = """
() => {
  const pageLanguage = document.documentElement.lang.split('-')[0];
  const skipped = (element) => element.closest('script, style, template, noscript, [translate="no"]')
    || element.closest('[lang]').lang.split('-')[0] !== pageLanguage;
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && !skipped(parent)) parts.push(walker.currentNode.textContent);
  }
  for (const element of document.body.querySelectorAll('[title], [placeholder], [aria-label], [alt], input[type=submit][value], input[type=button][value]')) {
    if (skipped(element)) continue;
    for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
      if (element.hasAttribute(name)) parts.push(element.getAttribute(name));
    }
    if (element.tagName === 'INPUT') parts.push(element.value);
  }
  return parts.join('\\n').replace(/[ \\t\\u00a0\\u202f]+/g, ' ');
}
"""

# The links of the back office's navigation (sidebar and other menus) on the current page.
NAVIGATION_LINKS_JS = """
(prefix) => [...document.querySelectorAll('nav a[href], aside a[href], [role=navigation] a[href]')]
  .map((a) => new URL(a.getAttribute('href'), document.baseURI))
  .filter((url) => url.origin === location.origin && url.pathname.startsWith(prefix))
  .map((url) => url.pathname + url.search)
"""


# --------------------------------------------------------------------------------------------------
# The French → English catalog
# --------------------------------------------------------------------------------------------------
def _is_checked(msgid: str) -> bool:
    """Two words or more, or an accented letter; not a format string (its text never shows as is)."""
    has_accent = any(char.isalpha() and not char.isascii() for char in msgid)
    return (len(msgid.split()) >= 2 or has_accent) and not PLACEHOLDER.search(msgid)


@dataclass
class Catalog:
    """French msgids whose English translation differs, to look for in English pages."""

    french: dict[str, re.Pattern[str]]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        if not path.exists():
            pytest.fail(f"{path.relative_to(ROOT)} is missing: the English translation is required", pytrace=False)
        po = polib.pofile(str(path))
        fuzzy = [entry.msgid for entry in po if "fuzzy" in entry.flags and not entry.obsolete]
        empty = [
            entry.msgid
            for entry in po
            if not entry.obsolete
            and entry.msgid
            and not (entry.msgstr or (entry.msgstr_plural and all(entry.msgstr_plural.values())))
        ]
        problems = [f"fuzzy: {msgid!r}" for msgid in fuzzy] + [f"untranslated: {msgid!r}" for msgid in empty]
        if problems:
            heading = f"{path.relative_to(ROOT)} has {len(problems)} incomplete entries"
            pytest.fail(heading + ":\n" + "\n".join(problems[:100]), pytrace=False)
        french: dict[str, re.Pattern[str]] = {}
        for entry in po:
            if entry.obsolete:
                continue
            pairs = [(entry.msgid, entry.msgstr)]
            if entry.msgid_plural:
                pairs = [(entry.msgid, entry.msgstr_plural.get(0, "")), (entry.msgid_plural, entry.msgstr_plural.get(1, ""))]  # fmt: skip
            for msgid, msgstr in pairs:
                msgid = " ".join(msgid.split())
                if msgstr.strip() and " ".join(msgstr.split()) != msgid and _is_checked(msgid):
                    french[msgid] = re.compile(rf"(?<![\w'’-]){re.escape(msgid)}(?![\w'’-])")
        return cls(french=french)

    def untranslated_in(self, text: str) -> list[str]:
        text = " ".join(text.split())
        return sorted(msgid for msgid, pattern in self.french.items() if msgid in text and pattern.search(text))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load(PO_FILE)


def test_english_catalog_is_complete(catalog):
    assert catalog.french, "the English catalog translates no French label"


# --------------------------------------------------------------------------------------------------
# Visiting pages
# --------------------------------------------------------------------------------------------------
@dataclass
class Visitor:
    """A browser tab that records every problem of the pages it opens, to report them all at the end."""

    page: Any
    server: Server
    language: str
    catalog: Catalog | None
    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    _events: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self._events.append(f"uncaught error: {error}"))
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self._events.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def _on_request_failed(self, request: Any) -> None:
        if request.url.startswith(self.server.url):
            self._events.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response: Any) -> None:
        if response.url.startswith(self.server.url) and response.status >= 400:
            self._events.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def open(self, path: str) -> None:
        self._events.clear()
        response = self.page.goto(self.server.url + path, wait_until="load")
        self.check(path, response)

    def check(self, label: str, response: Any = None) -> None:
        """Check the page now shown (after `open`, or after a form submitted by the caller)."""
        self.page.wait_for_load_state("networkidle")
        self.visited.append(label)
        where = f"[{self.language}] {label} ({urlsplit(self.page.url).path})"
        if response is not None and response.status >= 400:
            self.problems.append(f"{where}: HTTP {response.status}")
        self.problems.extend(f"{where}: {event}" for event in dict.fromkeys(self._events))
        self._events.clear()
        lang = self.page.evaluate("document.documentElement.lang")
        if lang != self.language:
            self.problems.append(f'{where}: <html lang="{lang}">, expected "{self.language}"')
        if self.catalog is not None:
            for msgid in self.catalog.untranslated_in(self.page.evaluate(PAGE_TEXT_JS)):
                self.problems.append(f"{where}: untranslated label {msgid!r}")

    def assert_no_problems(self, what: str = "") -> None:
        if self.problems:
            heading = f"{what or 'pages'}: {len(self.problems)} problem(s) on {len(self.visited)} page(s) opened"
            pytest.fail(heading + "\n" + "\n".join(self.problems), pytrace=False)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.language}.png"))

    def submit(self, button_selector: str = "form:has(input[type=password]) [type=submit]") -> None:
        """Click a form's submit button (by default the login form's) and wait for the next page."""
        with self.page.expect_navigation(wait_until="load"):
            self.page.locator(button_selector).first.click()


@pytest.fixture
def new_visitor(browser, server, request):  # type: ignore[no-untyped-def]
    """new_visitor(language, viewport=...) → a Visitor in a new browser context, closed after the test.

    English pages are checked against the catalog; French pages are the source and are not.
    """
    contexts = []

    def make(language: str, viewport: dict[str, int] = DESKTOP) -> Visitor:
        context = browser.new_context(viewport=viewport, locale="fr-FR" if language == "fr" else "en-US")
        contexts.append(context)
        context.add_cookies([{"name": "django_language", "value": language, "url": server.url}])
        context.set_default_timeout(20_000)
        catalog = request.getfixturevalue("catalog") if language == "en" else None
        return Visitor(page=context.new_page(), server=server, language=language, catalog=catalog)

    yield make
    for context in contexts:
        context.close()


def first(page: Any, *selectors: str) -> Any:
    for selector in selectors:
        locator = page.locator(selector)
        if locator.count():
            return locator.first
    raise AssertionError(f"none of {selectors} on {page.url}")


def back_office_menu_paths() -> set[str]:
    """What the sidebar must offer the administrator: every entry registered by the apps."""
    from comptoir.core import navigation

    return {entry.url for entry in navigation.all_entries()}


# --------------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_back_office_menus(new_visitor, server, language):
    visitor = new_visitor(language)
    page = visitor.page

    visitor.open("/accounts/login/")
    visitor.assert_no_problems("the staff login page")
    first(page, "input[name=username]", "input[name=email]", "input[type=email]").fill(server.email)
    first(page, "input[type=password]").fill(server.password)
    visitor.submit()
    assert urlsplit(page.url).path.startswith("/manage/"), f"the staff login did not lead to /manage/: {page.url}"
    visitor.check("back office home")
    visitor.screenshot("back-office")

    links = list(dict.fromkeys(page.evaluate(NAVIGATION_LINKS_JS, "/manage/")))
    missing = sorted(back_office_menu_paths() - {urlsplit(link).path for link in links})
    assert not missing, f"menu entries missing from the back office navigation: {missing}"
    for link in links:
        if link != urlsplit(page.url).path:
            visitor.open(link)

    assert len(visitor.visited) > 2
    visitor.assert_no_problems()


@pytest.mark.parametrize("language", LANGUAGES)
def test_client_portal(new_visitor, server, language):
    visitor = new_visitor(language)
    page = visitor.page

    visitor.open("/portal/")  # not signed in: the login page
    assert urlsplit(page.url).path == "/portal/login/"
    page.fill("input[name=workspace]", server.workspace)
    page.fill("input[name=email]", server.email)
    page.fill("input[name=password]", server.password)
    visitor.submit()
    assert urlsplit(page.url).path == "/portal/", f"the portal login did not lead to /portal/: {page.url}"
    visitor.check("portal home")
    visitor.screenshot("portal")

    links = list(dict.fromkeys(page.evaluate(NAVIGATION_LINKS_JS, "/portal/")))
    assert "/portal/" in links
    for link in links:
        visitor.open(link)

    visitor.assert_no_problems()


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_pages(new_visitor, server, language):
    visitor = new_visitor(language)

    visitor.open("/")
    visitor.screenshot("home")
    visitor.open(f"/o/{server.workspace}/")
    visitor.screenshot("organization")
    assert visitor.page.locator(".market-center").count() >= 1, "the demo operator's page shows no center"

    visitor.assert_no_problems()


def test_language_selector_switches_the_public_pages_to_english(new_visitor):
    visitor = new_visitor("fr")
    visitor.open("/")

    visitor.submit("header .language-form button[value=en]")

    assert visitor.page.evaluate("document.documentElement.lang") == "en"
    assert urlsplit(visitor.page.url).path == "/"


def test_client_portal_is_mobile_first(new_visitor, server):
    phone = new_visitor("fr", viewport=PHONE)
    phone.open(f"/portal/login/?workspace={server.workspace}")
    phone.page.fill("input[name=email]", server.email)
    phone.page.fill("input[name=password]", server.password)
    phone.submit()

    assert phone.page.locator(".portal-bottom-nav").is_visible()
    assert not phone.page.locator(".portal-sidebar").is_visible()
    phone.page.click(".portal-bottom-nav button[data-bs-target='#portal-account']")
    phone.page.locator("#portal-account.show:not(.showing)").wait_for(state="visible")
    phone.screenshot("portal-phone")

    phone.page.set_viewport_size(DESKTOP)
    assert phone.page.locator(".portal-sidebar").is_visible()
    assert not phone.page.locator(".portal-bottom-nav").is_visible()
