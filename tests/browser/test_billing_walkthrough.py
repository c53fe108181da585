"""Frontmanager §7, §10, §11 and Finance → Facturation, in French, in the real browser, on the demo data.

A staff administrator opens Finance → Factures and an invoice of the demo's history: its lines, VAT and totals add
up to the cent, its status; its PDF downloaded through the page's link is a PDF with the Factur-X XML attached,
whose totals are the page's. The sales demo's contracts signed today have their first invoices (deposit and
first month), opened from the company's « Factures » tab (§7). A consumption added on a client with a running
contract (company tab « Consommations », §10) appears in next month's preview on Finance → Facturation. In
another client's « Consommations » tab, the unbilled consumptions of one center are selected and « Générer une
facture » opens the draft, which is issued: its number appears in the tab (§11). Finally next month is previewed,
launched, the progress bar reaches 100 % and the invoices are created, as many as the preview announced.
"""

from __future__ import annotations

import io
import re
import secrets
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Server
from tests.browser.test_sales_walkthrough import Step, amount, click_and_wait, open_menu, query, submit

pytestmark = pytest.mark.browser
ACCEPT_DIALOGS = True  # the shared `page` fixture (conftest) accepts the confirmation dialogs

CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
INVOICE_PATH = re.compile(r"^/manage/billing/invoices/(\d+)/$")


def login(page, server: Server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/accounts/login/")
    page.locator("input[name=username], input[name=email], input[type=email]").first.fill(server.email)
    page.locator("input[type=password]").fill(server.password)
    submit(page, "form:has(input[type=password])")
    assert urlsplit(page.url).path.startswith("/manage/"), page.url


def open_company_tab(page, server: Server, company_id: int, tab: str, pane_content: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/manage/crm/companies/{company_id}/")
    page.click(f"#tab-{tab}")
    page.locator(f"#pane-{tab} {pane_content}").wait_for()


def read_invoice_page(page) -> tuple[list[Decimal], dict[str, Decimal], list[Decimal]]:  # type: ignore[no-untyped-def]
    """The line amounts, the totals (HT, TVA, TTC) and the VAT amounts per rate shown on an invoice's page."""
    rows = page.locator("#invoice-lines table.invoice-lines tbody tr").all()
    lines = [amount(row.locator("td").nth(6).inner_text()) for row in rows]
    totals_text = page.locator("#invoice-lines .invoice-totals").inner_text()
    totals = {
        "excl": amount(page.locator("#total-excl-vat").inner_text()),
        "vat": amount(page.locator("#invoice-lines .invoice-totals dd").nth(1).inner_text()),
        "incl": amount(page.locator("#total-incl-vat").inner_text()),
    }
    assert "Total TTC" in totals_text, totals_text
    vat = [amount(row.locator("td").nth(2).inner_text()) for row in page.locator("table.vat-breakdown tbody tr").all()]
    return lines, totals, vat


def assert_invoice_adds_up(page, reference: str) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    lines, totals, vat = read_invoice_page(page)
    assert lines, f"{reference}: no line shown"
    assert sum(lines, Decimal("0.00")) == totals["excl"], f"{reference}: the lines {lines} ≠ total HT {totals['excl']}"
    assert sum(vat, Decimal("0.00")) == totals["vat"], f"{reference}: the VAT per rate {vat} ≠ total TVA {totals}"
    assert totals["excl"] + totals["vat"] == totals["incl"], f"{reference}: HT + TVA ≠ TTC: {totals}"
    return totals


def facturx_xml(pdf: bytes) -> bytes:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    attachments = reader.attachments
    assert "factur-x.xml" in attachments, f"the PDF carries no factur-x.xml: {list(attachments)}"
    return attachments["factur-x.xml"][0]


def go_to_run_page(page, period: str | None = None) -> None:  # type: ignore[no-untyped-def]
    open_menu(page, "Finance", "Facturation")
    if period is not None:
        page.fill("input[name=period]", period)
    click_and_wait(page, page.get_by_role("button", name="Prévisualiser"))
    page.locator("#run-preview").wait_for()


def test_staff_bills_the_demo_history_consumptions_and_next_month(page, server: Server):  # type: ignore[no-untyped-def]
    suffix = secrets.token_hex(3)

    with Step(server, "back-office login"):
        login(page, server)

    # §7 Finance → Factures: an invoice of the history, its lines, totals, status and Factur-X PDF
    grouped = query(
        server,
        """
        SELECT i.id, i.reference, i.total_excl_vat, i.total_incl_vat, COUNT(l.id)
        FROM billing_invoice i JOIN billing_invoiceline l ON l.invoice_id = i.id
        WHERE i.origin = 'run' AND i.kind = 'invoice' AND i.status = 'issued'
        GROUP BY i.id HAVING COUNT(DISTINCT l.contract_id) = 2 ORDER BY i.issue_date DESC, i.id DESC LIMIT 1""",
    )
    assert grouped, "the demo has no grouped invoice (two contracts on one invoice)"
    invoice_id, reference, total_excl, total_incl, line_count = grouped[0]

    with Step(server, "§7 Finance → Factures: the list, then the demo's grouped invoice"):
        open_menu(page, "Finance", "Factures")
        assert page.locator("main table tbody tr").count() >= 10, "the invoice list shows (almost) nothing"
        assert page.locator("main table tbody").get_by_text(re.compile(r"FA-\d{4}-\d{6}")).count() >= 10
        page.goto(f"{server.url}/manage/billing/invoices/?q={reference}")
        click_and_wait(page, page.locator("main table tbody").get_by_role("link", name=reference).first)
        assert INVOICE_PATH.match(urlsplit(page.url).path)[1] == str(invoice_id), page.url

    with Step(server, "§7 the invoice's page: status, lines and totals to the cent"):
        assert page.locator("#invoice-status").inner_text().strip() == "Émise"
        assert page.locator("#invoice-lines table.invoice-lines tbody tr").count() == line_count
        totals = assert_invoice_adds_up(page, reference)
        assert (totals["excl"], totals["incl"]) == (Decimal(str(total_excl)), Decimal(str(total_incl)))
        assert "Facturation mensuelle" in page.locator(".detail-header, main").first.inner_text()

    with Step(server, "§7 « Télécharger le PDF »: a PDF with its Factur-X XML, the page's totals"):
        link = page.get_by_role("link", name="Télécharger le PDF")
        response = page.request.get(server.url + link.get_attribute("href"))
        assert response.ok, response.status
        assert response.headers["content-type"].startswith("application/pdf"), response.headers["content-type"]
        pdf = response.body()
        assert pdf[:5] == b"%PDF-"
        from lxml import etree

        xml = etree.fromstring(facturx_xml(pdf))
        assert xml.findtext("rsm:ExchangedDocument/ram:ID", namespaces=CII_NS) == reference
        grand_total = xml.findtext(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount",
                                   namespaces=CII_NS)  # fmt: skip
        assert Decimal(grand_total) == totals["incl"], (grand_total, totals)

    # §7 the first invoices of a contract signed today (the sales demo's, signed by SMS)
    signed = query(
        server,
        """
        SELECT c.company_id, c.id FROM sales_contract c
        WHERE c.status = 'signed' AND c.quote_id IS NOT NULL AND c.deposit > 0 ORDER BY c.id LIMIT 1""",
    )
    assert signed, "the sales demo has no signed contract with a deposit"
    company_id, contract_id = signed[0]
    first_invoices = dict(query(server, """
        SELECT origin, reference FROM billing_invoice WHERE contract_id = ? AND origin IN ('deposit', 'first_month')
        """, contract_id))  # fmt: skip
    assert set(first_invoices) == {"deposit", "first_month"}, first_invoices

    with Step(server, "§7 the company's « Factures » tab: the deposit and first-month invoices"):
        open_company_tab(page, server, company_id, "invoices", "#company-invoices")
        tab = page.locator("#company-invoices")
        for origin, label in (("deposit", "Dépôt de garantie"), ("first_month", "Premier mois")):
            open_company_tab(page, server, company_id, "invoices", "#company-invoices")
            click_and_wait(page, tab.get_by_role("link", name=first_invoices[origin]))
            badges = page.locator("main").first.inner_text()
            assert label in badges, f"{first_invoices[origin]} does not show « {label} »"
            assert page.locator("#invoice-status").inner_text().strip() == "Émise"
            assert_invoice_adds_up(page, first_invoices[origin])

    # §10 a consumption on a client with a running contract, in next month's preview
    running = query(
        server,
        """
        SELECT c.company_id, co.name FROM sales_contract c JOIN crm_company co ON co.id = c.company_id
        WHERE c.status = 'active' AND c.quote_id IS NULL AND co.group_invoices = 0 ORDER BY c.number LIMIT 1""",
    )
    assert running, "the demo has no active contract"
    client_id, client_name = running[0]
    description = f"Location de vidéoprojecteur {suffix}"

    with Step(server, "§10 « Consommations » tab → « Ajouter une consommation »"):
        open_company_tab(page, server, client_id, "consumptions", "#company-consumptions")
        form = page.locator("#company-consumptions form.consumption-form")
        form.locator("select[name=consumption-product]").select_option(index=0)  # « Description libre »
        form.locator("input[name=consumption-description]").fill(description)
        form.locator("input[name=consumption-quantity]").fill("2")
        form.locator("input[name=consumption-unit_price]").fill("35,50")
        form.locator("select[name=consumption-vat_rate]").select_option("20.00")
        form.locator("button[type=submit]").click()
        row = page.locator("#company-consumptions table tbody tr").filter(has_text=description)
        row.wait_for()
        assert "À facturer" in row.inner_text()
        assert amount(row.locator("td").nth(7).inner_text()) == Decimal("71.00")

    with Step(server, "§10 Finance → Facturation: next month's preview bills the consumption"):
        go_to_run_page(page)
        preview_row = page.locator("#run-preview table tbody tr").filter(has_text=client_name)
        assert preview_row.count() >= 1, f"{client_name} is not in the preview"
        lines = " ".join(text or "" for text in preview_row.locator("details li").all_text_contents())
        assert description in lines, f"the consumption is not in {client_name}'s preview lines: {lines}"

    # §11 « Générer une facture » for the unbilled consumptions of one center
    waiting = query(server, """
        SELECT company_id, center_id, COUNT(*) FROM billing_consumption
        WHERE invoice_id IS NULL AND company_id <> ? GROUP BY company_id, center_id ORDER BY company_id LIMIT 1""",
                    client_id)  # fmt: skip
    assert waiting, "the demo leaves no unbilled consumption"
    other_id, center_id, count = waiting[0]

    with Step(server, "§11 « Consommations » tab: select a center's consumptions, « Générer une facture »"):
        open_company_tab(page, server, other_id, "consumptions", "#company-consumptions")
        select_all = page.locator(f"#select-all-{center_id}")
        select_all.check()
        page.locator(f"#select-all-{center_id}:checked").wait_for()
        boxes = page.locator(f"section[aria-labelledby='center-{center_id}'] input[name=consumptions]")
        page.wait_for_function(
            f"document.querySelectorAll(\"section[aria-labelledby='center-{center_id}'] input[name=consumptions]:checked\").length === {count}"
        )
        assert boxes.count() == count
        with page.expect_navigation(url=re.compile(r"/manage/billing/invoices/\d+/$")):
            page.get_by_role("button", name="Générer une facture").click()
        draft_id = INVOICE_PATH.match(urlsplit(page.url).path)[1]
        assert page.locator("#invoice-status").inner_text().strip() == "Brouillon"
        assert page.locator("#invoice-lines table.invoice-lines tbody tr").count() == count

    with Step(server, "§11 « Émettre » the draft: it gets its number"):
        click_and_wait(page, page.get_by_role("link", name="Émettre"))
        click_and_wait(page, page.locator("main").get_by_role("button", name="Émettre"))
        assert INVOICE_PATH.match(urlsplit(page.url).path)[1] == draft_id
        assert page.locator("#invoice-status").inner_text().strip() == "Émise"
        number = re.search(r"FA-\d{4}-\d{6}", page.locator("main").inner_text())
        assert number, "the issued invoice shows no number"
        assert_invoice_adds_up(page, number[0])

    with Step(server, "§11 the number appears in the « Consommations » tab"):
        open_company_tab(page, server, other_id, "consumptions", "#company-consumptions")
        section = page.locator(f"section[aria-labelledby='center-{center_id}']")
        assert section.get_by_role("link", name=number[0]).count() == count

    # Finance → Facturation: preview next month, launch it, follow the progress bar to 100 %
    with Step(server, "Finance → Facturation: « Prévisualiser » next month"):
        go_to_run_page(page)
        heading = page.locator("#preview-title").inner_text()
        announced = re.match(r"(\d+) factures? à créer", heading)
        assert announced and int(announced[1]) >= 10, heading
        period = page.locator("#run-preview input[name=period]").get_attribute("value")

    with Step(server, "« Lancer la facturation »: the progress bar reaches 100 %"):
        click_and_wait(page, page.get_by_role("button", name="Lancer la facturation"))
        assert re.search(r"/manage/billing/runs/\d+/$", urlsplit(page.url).path), page.url
        run_id = int(re.search(r"/runs/(\d+)/", page.url)[1])
        bar = page.locator("#run-progress .progress-bar")
        page.wait_for_function(
            "document.querySelector('#run-progress .progress-bar').textContent.trim().startsWith('100')",
            timeout=60_000,
        )
        assert bar.inner_text().strip() in ("100 %", "100\u00a0%", "100\u202f%")
        assert page.locator("#run-progress [role=progressbar]").get_attribute("aria-valuenow") == "100"
        assert "Terminée" in page.locator("#run-progress").inner_text()
        created = query(server, "SELECT COUNT(*) FROM billing_invoice WHERE billing_run_id = ?", run_id)[0][0]
        assert created == int(announced[1]), f"{created} invoices created, {announced[1]} announced"
        shown = page.locator("#run-progress dd a").first.inner_text().strip()
        assert shown == str(created)
        assert query(server, "SELECT period FROM billing_billingrun WHERE id = ?", run_id)[0][0].startswith(period)

    with Step(server, "the run's invoices are in Finance → Factures"):
        click_and_wait(page, page.get_by_role("link", name="Voir les factures").first)
        assert page.locator("main table tbody tr").count() >= min(created, 10)
        bill = query(server, """
            SELECT i.reference FROM billing_invoice i JOIN billing_invoiceline l ON l.invoice_id = i.id
            WHERE i.billing_run_id = ? AND l.description LIKE ?""", run_id, f"{description}%")  # fmt: skip
        assert len(bill) == 1, f"the consumption of §10 is not billed by the run: {bill}"
