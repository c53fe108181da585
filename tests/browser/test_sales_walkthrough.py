"""Frontmanager §5-6 and « Espace client » §1, in French, in the real browser.

A staff administrator makes sure the catalog has what a quote needs (the center's price per m², an office,
articles, published CGV — created through their back-office pages when missing), creates a prospect with
its main contact (administrator, portal access, mobile) and an opportunity, opens the « Tarificateur »,
builds four offers whose price breakdowns must add up to the cent on the page, sends the quote, accepts one
offer, generates the contract from the 👍 readiness page and sends it for signature. The member then logs
in to the portal, sees the banner, opens the contract, accepts the CGV, asks for the code, reads it from
the SMS outbox, types it and sees the confirmation. Back in the back office the company is a client
(CL-) and the opportunity « Contrat signé »; the signed PDF downloaded through the page's link verifies
with pyHanko and breaks when one byte of the signed range changes.
"""

from __future__ import annotations

import io
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1600, "height": 1000}
CENT = Decimal("0.01")
CENTER = "Paris Opéra"
MEMBER_PASSWORD = "Parcours-Signature-2026!"


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
class Step:
    """`with Step(server, "…"):` turns any failure inside into a message naming the guide's step, with the
    page's address and the server log's tail."""

    page = None

    def __init__(self, server: Server, name: str) -> None:
        self.server, self.name = server, name

    def __enter__(self) -> Step:
        return self

    def __exit__(self, kind, error, _traceback) -> bool:  # type: ignore[no-untyped-def]
        if error is None or kind is KeyboardInterrupt:
            return False
        where = ""
        if Step.page is not None:
            try:
                where = f"\npage: {Step.page.url}\n{Step.page.locator('main').inner_text(timeout=2000)[:1500]}"
            except Exception:  # the page itself may be what failed
                where = ""
        pytest.fail(f"step « {self.name} » failed: {kind.__name__}: {error}{where}\n--- server log ---\n"
                    f"{self.server.log_tail(40)}", pytrace=False)  # fmt: skip


def new_context(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP, extra_http_headers={"Accept-Language": "fr"})
    context.set_default_timeout(15_000)
    return context


def submit(page, form: str = "main form.form-card") -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").last.click()


def click_and_wait(page, locator) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        locator.click()


def open_menu(page, section: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Click the sidebar entry `section` → `label` (« Paramètres → Prix par centre »)."""
    heading = page.locator("#sidebar h2.sidebar-heading").filter(has_text=re.compile(f"^{re.escape(section)}$"))
    entries = page.locator(f'#sidebar ul[aria-labelledby="{heading.get_attribute("id")}"]')
    click_and_wait(page, entries.get_by_role("link", name=label, exact=True))


def select_containing(page, select: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Choose the option of `select` whose label contains `text` (labels carry extra details)."""
    options = page.locator(f"{select} option").all_inner_texts()
    matching = [option for option in options if text in option]
    assert matching, f"no option containing {text!r} in {select}: {options}"
    page.select_option(select, label=matching[0])


def amount(text: str) -> Decimal:
    """A French amount as shown (« 1 234,56 € », « −49,38 € ») → Decimal("1234.56")."""
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", text).replace("−", "-").replace(",", ".")
    assert re.fullmatch(r"-?\d+(\.\d+)?", cleaned), f"not an amount: {text!r}"
    return Decimal(cleaned)


def number(text: str) -> Decimal:
    return amount(text)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def database(server: Server) -> Path:
    return server.log.parent / "comptoir.sqlite3"


def query(server: Server, sql: str, *parameters: object) -> list[tuple]:  # type: ignore[type-arg]
    connection = sqlite3.connect(f"file:{database(server)}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def activation_path(mail: Path) -> str:
    import email
    import email.policy

    message = email.message_from_bytes(mail.read_bytes().split(b"\n---------")[0], policy=email.policy.default)
    body = message.get_content()  # type: ignore[attr-defined]
    match = re.search(r"https?://[^/\s]+(/accounts/activate/\S+/\S+/)", body)
    assert match, f"no activation link in {mail}:\n{body}"
    return match[1]


# --------------------------------------------------------------------------------------------------
# The breakdown check: each step's amount follows from its detail, rounded half-up to the cent
# --------------------------------------------------------------------------------------------------
@dataclass
class ShownLine:
    description: str
    amount: Decimal
    quantity: Decimal
    unit_price: Decimal
    recurring: bool
    steps: list[tuple[str, Decimal]]  # (label with its detail, running amount)


def read_offer(card) -> tuple[list[ShownLine], dict[str, Decimal], list[Decimal]]:  # type: ignore[no-untyped-def]
    """The lines, totals (HT, TTC) and VAT amounts shown in one offer's card of the quote page."""
    lines = []
    for item in card.locator("ul.offer-lines > li").all():
        header = item.locator("div").nth(0).locator("span")
        description, line_amount = header.nth(0).inner_text().strip(), amount(header.nth(1).inner_text())
        detail = item.locator("div").nth(1).inner_text()
        match = re.match(r"\s*([\d\s\u00a0\u202f,]+)\s*×\s*(.+?)\s*·\s*(\w+)", detail)
        assert match, f"unexpected line detail {detail!r}"
        steps = []
        for step in item.locator(".breakdown-step").all():
            label, value = step.locator("span").nth(0).inner_text(), step.locator("span").nth(1).inner_text()
            steps.append((label, amount(value)))
        lines.append(ShownLine(description, line_amount, number(match[1]), amount(match[2]),
                               match[3] == "mensuel", steps))  # fmt: skip
    totals = {
        "excl": amount(card.locator(".offer-totals .monthly-excl-vat").inner_text()),
        "incl": amount(card.locator(".offer-totals .monthly-incl-vat").inner_text()),
    }
    vat = []
    for row in card.locator(".offer-totals > div").all():
        text = row.inner_text()
        if text.strip().startswith("TVA"):
            vat.append(amount(row.locator("span").nth(1).inner_text()))
    return lines, totals, vat


def replay_step(label: str, previous: Decimal | None, shown: Decimal) -> Decimal:
    """The amount a step's detail gives from the previous running amount."""
    detail = re.search(r"\(([^()]*)\)\s*$", label)
    assert detail, f"a breakdown step without its detail: {label!r}"
    text = detail[1]
    surface = re.fullmatch(r"\s*([\d\s\u00a0\u202f,]+)\s*m²\s*×\s*([\d\s\u00a0\u202f,]+)\s*€\s*", text)
    if surface:
        return cents(number(surface[1]) * number(surface[2]))
    if previous is None:  # a catalog price: the base is the article's price
        return shown
    coefficient = re.fullmatch(r"\s*×\s*([\d\s\u00a0\u202f,]+)\s*", text)
    if coefficient:
        return cents(previous * number(coefficient[1]))
    discount = re.fullmatch(r"\s*[−-]\s*([\d\s\u00a0\u202f,]+)\s*%\s*", text)
    if discount:
        return previous - cents(previous * number(discount[1]) / 100)
    raise AssertionError(f"a breakdown step the test cannot replay: {label!r}")


def assert_offer_adds_up(position: int, lines: list[ShownLine], totals: dict[str, Decimal], vat: list[Decimal]) -> None:
    assert lines, f"offer {position} shows no line"
    for line in lines:
        assert line.steps, f"offer {position}, {line.description}: no price breakdown shown"
        running: Decimal | None = None
        for label, shown in line.steps:
            expected = replay_step(label, running, shown)
            assert expected == shown, f"offer {position}, {line.description}: « {label} » shows {shown}, not {expected}"
            running = shown
        assert running == line.unit_price, (
            f"offer {position}, {line.description}: the breakdown ends at {running}, the unit price is {line.unit_price}"
        )
        assert cents(line.quantity * line.unit_price) == line.amount, (
            f"offer {position}, {line.description}: {line.quantity} × {line.unit_price} ≠ {line.amount}"
        )
    monthly = sum((line.amount for line in lines if line.recurring), Decimal("0.00"))
    assert monthly == totals["excl"], (
        f"offer {position}: the lines add up to {monthly}, the total HT is {totals['excl']}"
    )
    assert totals["excl"] + sum(vat, Decimal("0.00")) == totals["incl"], (
        f"offer {position}: {totals['excl']} HT + VAT {vat} ≠ {totals['incl']} TTC"
    )


# --------------------------------------------------------------------------------------------------
# Sealed PDF
# --------------------------------------------------------------------------------------------------
def seal_verifies(pdf: bytes, certificates_pem: list[str]) -> tuple[bool, str]:
    """pyHanko's verdict on the "Comptoir" seal, with the organization's certificates as trust roots. pyHanko
    runs its own asyncio loop, which Playwright's sync API (a loop in this thread) forbids: a worker thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(_seal_verifies, pdf, certificates_pem).result()


def _seal_verifies(pdf: bytes, certificates_pem: list[str]) -> tuple[bool, str]:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(asn1_pem.unarmor(pem.encode())[2]) for pem in certificates_pem]
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        (seal,) = [signature for signature in reader.embedded_signatures if signature.field_name == "Comptoir"]
        status = validate_pdf_signature(seal, ValidationContext(trust_roots=roots, allow_fetching=False))
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    verdict = (
        status.intact and status.valid and status.trusted and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    )
    return bool(
        verdict
    ), f"intact={status.intact} valid={status.valid} trusted={status.trusted} coverage={status.coverage}"


def flip_one_signed_byte(pdf: bytes) -> bytes:
    byte_range = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert byte_range, "the signed PDF has no /ByteRange"
    stream = pdf.find(b"stream", 0, int(byte_range[2]))
    assert 0 < stream < int(byte_range[2]) - 40, "no content stream inside the signed range"
    changed = bytearray(pdf)
    changed[stream + 20] ^= 0x01
    return bytes(changed)


# --------------------------------------------------------------------------------------------------
# The walkthrough
# --------------------------------------------------------------------------------------------------
def make_sure_the_catalog_is_ready(page, server: Server, suffix: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    names = {"office": f"Bureau Parcours {suffix}", "coworking": f"Coworking Parcours {suffix}",
             "domiciliation": f"Domiciliation Parcours {suffix}"}  # fmt: skip

    with Step(server, "Paramètres → Prix par centre"):
        open_menu(page, "Paramètres", "Prix par centre")
        row = page.locator("main table tbody tr").filter(has_text=CENTER)
        assert row.count() == 1, f"no row for {CENTER} in the centers' prices"
        if row.get_by_role("link", name="Définir le prix").count():
            row.get_by_role("link", name="Définir le prix").click()
            form_row = page.locator("main table tbody tr.table-active").filter(has_text=CENTER)
            form_row.locator("input[name=price_per_m2]").fill("31.50")
            form_row.get_by_role("button", name="Enregistrer").click()
            page.locator("main table tbody tr").filter(has_text=CENTER).get_by_role("link", name="Modifier").wait_for()
        assert "€" in page.locator("main table tbody tr").filter(has_text=CENTER).inner_text()

    with Step(server, "Gestion → Espaces: a private office"):
        open_menu(page, "Gestion", "Espaces")
        click_and_wait(page, page.locator('main a[href$="/manage/catalog/spaces/new/"]').first)
        page.select_option("select[name=center]", label=CENTER)
        page.fill("input[name=name]", names["office"])
        page.select_option("select[name=kind]", "private_office")
        page.fill("input[name=floor]", "3")
        page.fill("input[name=area_m2]", "18,5")
        page.fill("input[name=capacity]", "4")
        submit(page)
        assert re.search(r"/manage/catalog/spaces/\d+/$", urlsplit(page.url).path), page.url

    with Step(server, "Gestion → Catalogue de services: coworking and domiciliation"):
        for key, service, price, unit in (("coworking", "coworking", "245,00", "desk"),
                                          ("domiciliation", "domiciliation", "49,90", "month")):  # fmt: skip
            open_menu(page, "Gestion", "Catalogue de services")
            click_and_wait(page, page.locator('main a[href$="/manage/catalog/products/new/"]').first)
            page.select_option("select[name=kind]", "main_service")
            page.fill("input[name=name]", names[key])
            page.select_option("select[name=service_type]", service)
            page.fill("input[name=unit_price]", price)
            page.select_option("select[name=unit]", unit)
            page.check("input[name=available_everywhere]")
            submit(page)
            assert re.search(r"/manage/catalog/products/\d+/$", urlsplit(page.url).path), page.url

    with Step(server, "Paramètres → Conditions générales"):
        open_menu(page, "Paramètres", "Conditions générales")
        if page.get_by_text("Aucune version publiée").count():
            click_and_wait(page, page.get_by_role("link", name="Publier une nouvelle version"))
            page.fill("textarea[name=body]", "Article 1 — Objet.\nArticle 2 — Durée et préavis.")
            submit(page)
            page.goto(f"{server.url}/manage/sales/terms/")
        assert not page.get_by_text("Aucune version publiée").count(), "the CGV are still not published"
    return names


def test_staff_quotes_four_offers_and_the_member_signs_by_sms(browser, page, server: Server):  # type: ignore[no-untyped-def]
    suffix = secrets.token_hex(3)
    company_name = f"Studio Signature {suffix}"
    member_email = f"claire.morel.{suffix}@signature.test"
    mail_dir = server.log.parent / "mail"
    mails_before = set(mail_dir.glob("*")) if mail_dir.exists() else set()

    with Step(server, "back-office login"):
        page.goto(f"{server.url}/accounts/login/")
        page.locator("input[name=username], input[name=email], input[type=email]").first.fill(server.email)
        page.locator("input[type=password]").fill(server.password)
        submit(page, "form:has(input[type=password])")
        assert urlsplit(page.url).path.startswith("/manage/")

    names = make_sure_the_catalog_is_ready(page, server, suffix)

    # §1-3 the prospect, its main contact made a portal administrator with a mobile, and an opportunity
    with Step(server, "Annuaire → Entreprises → new company with its main contact"):
        open_menu(page, "Annuaire", "Entreprises")
        click_and_wait(page, page.locator('main a[href="/manage/crm/companies/new/"]').first)
        page.fill("input[name=name]", company_name)
        page.select_option("select[name=center]", label=CENTER)
        page.fill("input[name=first_name]", "Claire")
        page.fill("input[name=last_name]", "Morel")
        page.fill("input[name=email]", member_email)
        submit(page)
        company_url = page.url
        assert re.search(r"/manage/crm/companies/\d+/$", urlsplit(company_url).path), company_url
        assert page.locator(".detail-header").get_by_text(re.compile(r"PR-\d{6}")).count() == 1

    with Step(server, "the main contact: administrator, portal access, mobile; « Activer le compte »"):
        page.click("#tab-members")
        click_and_wait(page, page.locator("#pane-members").get_by_role("link", name="Claire Morel"))
        contact_url = page.url
        click_and_wait(page, page.locator(f'main a[href="{urlsplit(contact_url).path}edit/"]').first)
        page.fill("input[name=mobile]", "06 12 34 56 78")
        page.check("input[name=company_role][value=administrator]")
        page.check("input[name=has_portal_access]")
        submit(page)
        page.goto(contact_url)
        click_and_wait(page, page.get_by_role("button", name="Activer le compte"))
        page.locator(".alert-success").first.wait_for()
        new_mails = set(mail_dir.glob("*")) - mails_before if mail_dir.exists() else set()
        activation = [mail for mail in new_mails if member_email in mail.read_text(errors="replace")]
        assert activation, f"no activation e-mail to {member_email} in {mail_dir}"

    with Step(server, "the member chooses a password"):
        member = new_context(browser)
        member_page = member.new_page()
        member_page.goto(server.url + activation_path(activation[0]))
        member_page.fill("input[name=new_password1]", MEMBER_PASSWORD)
        member_page.fill("input[name=new_password2]", MEMBER_PASSWORD)
        submit(member_page, "form:has(input[name=new_password1])")
        member.clear_cookies()

    with Step(server, "§3 « Ajouter une opportunité »"):
        page.goto(company_url)
        page.click("#tab-opportunities")
        click_and_wait(page, page.locator("#pane-opportunities").get_by_role("link", name="Ajouter une opportunité"))
        title = f"Bureau 4 postes {suffix}"
        page.fill("input[name=title]", title)
        page.fill("input[name=estimated_amount]", "900")
        submit(page)
        if not re.search(r"/manage/crm/opportunities/\d+/$", urlsplit(page.url).path):
            page.goto(company_url)
            page.click("#tab-opportunities")
            click_and_wait(page, page.locator("#pane-opportunities").get_by_role("link", name=title).first)
        opportunity_url = page.url
        assert re.search(r"/manage/crm/opportunities/\d+/$", urlsplit(opportunity_url).path), opportunity_url

    # §5 « Tarificateur »: four offers
    with Step(server, "§5 « Tarificateur » → new quote"):
        click_and_wait(page, page.get_by_role("link", name="Tarificateur"))
        if page.locator("select[name=center]").count():
            page.select_option("select[name=center]", label=CENTER)
            submit(page)
        assert re.search(r"/manage/sales/quotes/\d+/edit/$", urlsplit(page.url).path), page.url
        builder_url = page.url

    offers = [
        # position, title, service, months, [(space or product, name, quantity, discount?)]
        (1, "Bureau privatif 12 mois", "private_office", 12, [("space", names["office"], "1", False)]),
        (2, "Bureau privatif 24 mois remisé", "private_office", 24, [("space", names["office"], "1", True)]),
        (3, "Coworking 3 postes", "coworking", 12, [("product", names["coworking"], "3", False)]),
        (4, "Domiciliation", "domiciliation", 12, [("product", names["domiciliation"], "1", False)]),
    ]
    for position, title, service, months, lines in offers:
        with Step(server, f"§5 offer {position}: {title}"):
            page.goto(builder_url)
            column = page.locator(f"#offer-{position}")
            column.get_by_role("button", name="Ajouter une offre").click()
            form = page.locator(f"#offer-{position}-form")
            form.wait_for(state="visible")
            prefix = f"o{position}"
            form.locator(f"input[name={prefix}-title]").fill(title)
            form.locator(f"select[name={prefix}-service_type]").select_option(service)
            form.locator(f"input[name={prefix}-term_months]").fill(str(months))
            for index, (field, name, quantity, discounted) in enumerate(lines):
                select_containing(page, f"#offer-{position}-form select[name={prefix}-lines-{index}-{field}]", name)
                form.locator(f"input[name={prefix}-lines-{index}-quantity]").fill(quantity)
                if discounted:
                    discount = f"#offer-{position}-form select[name={prefix}-lines-{index}-discount]"
                    choices = [o for o in page.locator(f"{discount} option").all_inner_texts() if o.strip("— ")]
                    assert choices, "no discount to choose in the quote builder"
                    page.select_option(discount, label=choices[0])
            # the live preview (HTMX) shows the priced lines before saving
            page.locator(f"#offer-{position}-preview .offer-totals").wait_for()
            with page.expect_navigation():
                form.locator("button[type=submit]").click()
            assert (
                not page.locator(f"#offer-{position}-form .alert-danger, #offer-{position}-form .invalid-feedback")
                .filter(has_text=re.compile(r"\S"))
                .count()
            ), page.locator(f"#offer-{position}-form").inner_text()
            saved = page.locator(f"#offer-{position}-form").inner_text()
            assert "Enregistrée" in saved, f"offer {position} was not saved:\n{saved}"

    with Step(server, "the quote page: each offer's breakdown adds up to its totals to the cent"):
        page.goto(builder_url)
        click_and_wait(page, page.get_by_role("link", name="Voir le devis"))
        quote_url = page.url
        reference = re.search(r"DV-\d{6}", page.locator("main").inner_text())
        assert reference, "no DV- reference on the quote page"
        shown = {}
        for position, title, *_rest in offers:
            card = page.locator(f"#offer-{position}")
            assert title in card.inner_text(), f"offer {position} « {title} » is not on the quote page"
            lines, totals, vat = read_offer(card)
            assert_offer_adds_up(position, lines, totals, vat)
            shown[position] = (lines, totals)
        discounted = [label for label, _amount in shown[2][0][0].steps if "%" in label]
        assert discounted, f"offer 2 shows no discount step: {shown[2][0][0].steps}"
        assert shown[2][1]["excl"] < shown[1][1]["excl"], "the 24-month discounted office is not cheaper"

    with Step(server, "« Envoyer » the quote: the opportunity moves to « Devis envoyé »"):
        click_and_wait(page, page.locator("main").get_by_role("link", name="Envoyer").first)
        recipients = page.locator(f'input[name=recipients][value="{member_email}"]')
        if recipients.count():
            recipients.check()
        else:
            page.fill("input[name=other]", member_email)
        submit(page)
        sent_mails = [
            m for m in (set(mail_dir.glob("*")) - mails_before) if reference[0] in m.read_text(errors="replace")
        ]
        assert sent_mails, f"no e-mail with {reference[0]} in {mail_dir}"
        page.goto(opportunity_url)
        assert "Devis envoyé" in page.locator(".detail-header").inner_text()

    with Step(server, "accept offer 2"):
        page.goto(quote_url)
        click_and_wait(page, page.locator("#offer-2").get_by_role("button", name="Accepter cette offre"))
        assert "Offre retenue" in page.locator("#offer-2").inner_text()

    with Step(server, "§6 the 👍 readiness page → « Générer le contrat »"):
        page.goto(quote_url)
        click_and_wait(page, page.get_by_role("link", name="Créer le contrat"))
        rows = page.locator("main table tbody tr")
        assert rows.count() >= 1
        assert page.get_by_role("img", name="Service disponible").count() == rows.count(), page.locator(
            "main table"
        ).inner_text()
        assert page.get_by_role("img", name="Contrat non possible").count() == 0
        click_and_wait(page, page.get_by_role("button", name=re.compile("Générer le contrat")))
        assert re.search(r"/manage/sales/contracts/\d+/$", urlsplit(page.url).path), page.url
        contract_url = page.url
        contract_reference = re.search(r"CT-\d{6}", page.locator("main").inner_text())
        assert contract_reference, "no CT- reference on the contract page"

    with Step(server, "« Envoyer pour signature » to the member"):
        click_and_wait(page, page.get_by_role("link", name="Envoyer pour signature"))
        select_containing(page, "select[name=signer]", member_email)
        submit(page)
        page.goto(opportunity_url)
        assert "Contrat envoyé" in page.locator(".detail-header").inner_text()

    # Espace client §1: the member signs
    with Step(server, "portal: the banner, « Lire et signer »"):
        member_page.goto(f"{server.url}/portal/login/")
        member_page.fill("input[name=workspace]", server.workspace)
        member_page.fill("input[name=email]", member_email)
        member_page.fill("input[name=password]", MEMBER_PASSWORD)
        submit(member_page, "form:has(input[name=workspace])")
        assert urlsplit(member_page.url).path == "/portal/", member_page.url
        banner = member_page.locator("section.portal-to-sign")
        assert contract_reference[0] in banner.inner_text(), banner.inner_text()
        click_and_wait(member_page, banner.get_by_role("link", name="Lire et signer"))

    with Step(server, "portal: accept the CGV, receive the code by SMS"):
        sms_before = query(server, "SELECT COALESCE(MAX(id), 0) FROM core_smsmessage")[0][0]
        member_page.check("#accept-terms")
        member_page.get_by_role("button", name="Recevoir mon code par SMS").click()
        member_page.locator("#signature-code").wait_for()
        deadline = time.monotonic() + 10
        messages: list[tuple] = []  # type: ignore[type-arg]
        while not messages and time.monotonic() < deadline:
            messages = query(server, 'SELECT body, "to" FROM core_smsmessage WHERE id > ? ORDER BY id DESC', sms_before)
            time.sleep(0.2)
        assert messages, "no SMS in the outbox"
        body, to = messages[0]
        assert re.sub(r"\D", "", to).endswith("612345678"), to
        code = re.search(r"\b(\d{6})\b", body)
        assert code, body

    with Step(server, "portal: type the code → « Votre contrat est signé »"):
        member_page.fill("#signature-code", code[1])
        member_page.get_by_role("button", name="Signer", exact=True).click()
        member_page.get_by_role("heading", name="Votre contrat est signé").wait_for()
        member_page.goto(f"{server.url}/portal/")
        still = member_page.locator("section.portal-to-sign").filter(has_text=contract_reference[0])
        assert still.count() == 0, "the signed contract is still in the portal's « to sign » banner"
        member.close()

    with Step(server, "back office: the company is a client, the opportunity « Contrat signé »"):
        page.goto(company_url)
        assert page.locator(".detail-header").get_by_text(re.compile(r"CL-\d{6}")).count() == 1
        page.goto(opportunity_url)
        assert "Contrat signé" in page.locator(".detail-header").inner_text()

    with Step(server, "the signed PDF: its seal verifies, and breaks when one byte changes"):
        page.goto(contract_url)
        page.get_by_role("tab", name="Documents").click()
        link = page.get_by_role("link", name="Télécharger le contrat signé")
        response = page.request.get(server.url + link.get_attribute("href"))
        assert response.ok and response.headers["content-type"].startswith("application/pdf"), response.status
        pdf = response.body()
        certificates = [row[0] for row in query(server, "SELECT certificate_pem FROM sales_sealingcertificate")]
        assert certificates, "no sealing certificate in the database"
        verifies, why = seal_verifies(pdf, certificates)
        assert verifies, f"the signed PDF's seal does not verify: {why}"
        tampered, why = seal_verifies(flip_one_signed_byte(pdf), certificates)
        assert not tampered, f"a PDF with one changed byte still verifies: {why}"
