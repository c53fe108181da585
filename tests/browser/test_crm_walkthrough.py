"""Frontmanager §1-4 and §18, in French, in the real browser: a staff member creates a company with its main
contact, adds a member with a role, activates their account (the activation e-mail is written), adds an
opportunity and moves it through the kanban's stages, plans a visit on it, then adds a marketing source
and finds it in the sources' statistics table.
"""

from __future__ import annotations

import email
import email.policy
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def page(browser, server: Server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="fr-FR", viewport=DESKTOP, extra_http_headers={"Accept-Language": "fr"}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}\n{server.log_tail()}"


def submit(page, form: str = "main form.form-card") -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").last.click()


def assert_success(page, text: str) -> None:  # type: ignore[no-untyped-def]
    alert = page.locator(".alert-success, .toast, [role=alert], [role=status]").filter(has_text=text)
    alert.first.wait_for()


def open_menu(page, section: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Click the sidebar entry `section` → `label` (« Annuaire → Entreprises »)."""
    heading = page.locator("#sidebar h2.sidebar-heading").filter(has_text=re.compile(f"^{re.escape(section)}$"))
    entries = page.locator(f'#sidebar ul[aria-labelledby="{heading.get_attribute("id")}"]')
    with page.expect_navigation():
        entries.get_by_role("link", name=label, exact=True).click()


def activation_path(mail: Path) -> str:
    """The activation link of an e-mail written by the file backend (its host is the SITE_URL's)."""
    message = email.message_from_bytes(mail.read_bytes().split(b"\n---------")[0], policy=email.policy.default)
    body = message.get_content()  # type: ignore[attr-defined]
    match = re.search(r"https?://[^/\s]+(/accounts/activate/\S+/\S+/)", body)
    assert match, f"no activation link in {mail}:\n{body}"
    return match[1]


def portal_login(page, server: Server, email_address: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/portal/login/")
    page.fill("input[name=workspace]", server.workspace)
    page.fill("input[name=email]", email_address)
    page.fill("input[name=password]", password)
    submit(page, "form:has(input[name=workspace])")
    assert urlsplit(page.url).path == "/portal/", page.url


def member_chooses_a_password_and_enters_the_portal(
    browser, server: Server, mail: Path, *, email: str, company_name: str
) -> None:  # type: ignore[no-untyped-def]
    """The new member (a manager) follows the e-mail's link, chooses a password, and sees their company in
    the portal (no « Membres » page: that is for the company's administrators)."""
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP, extra_http_headers={"Accept-Language": "fr"})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(server.url + activation_path(mail))
        password = "Parcours-Membre-2026!"
        page.fill("input[name=new_password1]", password)
        page.fill("input[name=new_password2]", password)
        submit(page, "form:has(input[name=new_password1])")
        page.context.clear_cookies()
        portal_login(page, server, email, password)
        company = page.locator("section.card").filter(has_text="Mon entreprise").filter(has_text=company_name)
        assert re.search(r"PR-\d{6}", company.inner_text()) and "Manager" in company.inner_text()
        assert page.locator('a[href="/portal/members/"]').count() == 0
        assert page.goto(f"{server.url}/portal/members/").status == 403
    finally:
        context.close()


def test_the_demo_portal_member_sees_their_company_and_its_members(browser, server: Server):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP, extra_http_headers={"Accept-Language": "fr"})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        portal_login(page, server, f"membre@{server.workspace}.comptoir.test", server.password)
        company = page.locator("section.card").filter(has_text="Mon entreprise").first
        assert "Atelier Lumière" in company.inner_text() and "Administrateur" in company.inner_text()
        assert re.search(r"CL-\d{6}", company.inner_text())
        with page.expect_navigation():
            page.locator("aside").get_by_role("link", name="Membres").click()
        rows = page.locator("main table tbody tr")
        assert rows.count() >= 2
        assert rows.filter(has_text="Margaux Lefort").filter(has_text="Administrateur").count() == 1
    finally:
        context.close()


def test_staff_follows_frontmanager_companies_members_pipeline_and_sources(browser, page, server: Server):  # type: ignore[no-untyped-def]
    suffix = secrets.token_hex(3)
    company_name = f"Studio Parcours {suffix}"
    member_email = f"paul.roux.{suffix}@parcours.test"
    mail_dir = server.log.parent / "mail"
    mails_before = set(mail_dir.glob("*")) if mail_dir.exists() else set()

    # Log in to the back office
    page.goto(f"{server.url}/accounts/login/")
    page.locator("input[name=username], input[name=email], input[type=email]").first.fill(server.email)
    page.locator("input[type=password]").fill(server.password)
    submit(page, "form:has(input[type=password])")
    assert urlsplit(page.url).path.startswith("/manage/")

    # §1 Annuaire → Entreprises → « + »: the short creation form, with the main contact
    open_menu(page, "Annuaire", "Entreprises")
    assert urlsplit(page.url).path == "/manage/crm/companies/"
    with page.expect_navigation():
        page.locator('main a[href="/manage/crm/companies/new/"]').first.click()
    page.fill("input[name=name]", company_name)
    page.select_option("select[name=center]", label="Paris Opéra")
    page.select_option("select[name=marketing_source]", label="Salon Bureaux & Co")
    page.fill("input[name=first_name]", "Léa")
    page.fill("input[name=last_name]", "Garnier")
    page.fill("input[name=email]", f"lea.garnier.{suffix}@parcours.test")
    page.fill("input[name=phone]", "06 12 34 56 78")
    submit(page)
    company_url = page.url
    assert re.search(r"/manage/crm/companies/\d+/$", urlsplit(company_url).path), company_url
    assert page.locator("h1").first.inner_text().strip() == company_name
    assert page.locator(".detail-header").get_by_text(re.compile(r"PR-\d{6}")).count() == 1

    # §2 Membres tab: the main contact is the first member
    page.click("#tab-members")
    members = page.locator("#pane-members")
    members.locator("table").wait_for()
    first_row = members.locator("tbody tr").first
    assert "Léa Garnier" in first_row.inner_text() and "Administrateur" in first_row.inner_text()

    # … a new member with a role
    with page.expect_navigation():
        members.get_by_role("link", name="Ajouter un membre").click()
    page.fill("input[name=first_name]", "Paul")
    page.fill("input[name=last_name]", "Roux")
    page.fill("input[name=email]", member_email)
    page.check("input[name=company_role][value=manager]")
    if page.locator("select[name=job_function] option").count() > 1:
        page.select_option("select[name=job_function]", label="Commercial")
    submit(page)
    assert_success(page, "Paul Roux")

    # … open the member and « Activer le compte »: the activation e-mail is sent
    page.goto(company_url)
    page.click("#tab-members")
    with page.expect_navigation():
        page.locator("#pane-members").get_by_role("link", name="Paul Roux").click()
    assert re.search(r"/manage/crm/contacts/\d+/$", urlsplit(page.url).path)
    with page.expect_navigation():
        page.get_by_role("button", name="Activer le compte").click()
    page.locator(".alert-success").first.wait_for()
    new_mails = set(mail_dir.glob("*")) - mails_before if mail_dir.exists() else set()
    activation_mails = [mail for mail in new_mails if member_email in mail.read_text(errors="replace")]
    assert activation_mails, f"no activation e-mail to {member_email} in {mail_dir}"
    member_chooses_a_password_and_enters_the_portal(
        browser, server, activation_mails[0], email=member_email, company_name=company_name
    )

    # §3 back to the company page → « Ajouter une opportunité »
    page.goto(company_url)
    page.click("#tab-opportunities")
    with page.expect_navigation():
        page.locator("#pane-opportunities").get_by_role("link", name="Ajouter une opportunité").click()
    title = f"Bureau privatif 4 postes {suffix}"
    page.fill("input[name=title]", title)
    page.fill("input[name=estimated_amount]", "2400")
    submit(page)
    assert_success(page, title)

    # … the kanban: move the card from stage to stage with its stage select
    open_menu(page, "Commerce", "Opportunités")
    assert urlsplit(page.url).path == "/manage/crm/opportunities/"
    for stage in ("qualified", "quote_sent", "visit_planned"):
        card = page.locator("li.kanban-card").filter(has_text=title)
        card.locator("select.stage-select").select_option(stage)
        card.get_by_role("button", name="Déplacer").click()
        page.locator(f'section[data-stage="{stage}"] li.kanban-card').filter(has_text=title).wait_for()
    assert page.locator('section[data-stage="lead"] li.kanban-card').filter(has_text=title).count() == 0

    # §4 plan a visit on the opportunity
    with page.expect_navigation():
        page.locator("li.kanban-card").filter(has_text=title).get_by_role("link", name=title).first.click()
    with page.expect_navigation():
        page.locator('a[href$="/activities/new/"]').first.click()
    page.select_option("select[name=kind]", "visit")
    page.fill("input[name=scheduled_at]", "2030-03-14T10:30")
    page.fill("textarea[name=notes]", "Visite des bureaux du 3e étage.")
    submit(page)
    assert_success(page, "L'activité est planifiée.")

    # §18 Marketing → Sources → « + »: a new source, then its line in the statistics table
    source_name = f"Salon de l'immobilier {suffix}"
    open_menu(page, "Marketing", "Sources")
    assert urlsplit(page.url).path == "/manage/crm/sources/"
    with page.expect_navigation():
        page.locator('main a[href="/manage/crm/sources/new/"]').first.click()
    page.fill("input[name=name]", source_name)
    page.select_option("select[name=channel]", "trade_show")
    page.fill("input[name=cost]", "1500")
    submit(page)
    if urlsplit(page.url).path != "/manage/crm/sources/":
        page.goto(f"{server.url}/manage/crm/sources/")
    row = page.locator("table.source-statistics tbody tr").filter(has_text=source_name)
    assert row.count() == 1
    assert "Salon" in row.inner_text()
