"""Issue 6 — payments, in French, in the real browser, on the demo data.

Frontmanager §7: a staff administrator opens Finance → Factures, picks an issued invoice still to be paid from the
list's « Paiement » column, sees its « Suivi des paiements » panel (loaded by HTMX under the lines), records a
partial payment by « Virement » (the state becomes « Partiellement payée », the remainder decreases by the amount),
then « Relancer »: the reminder e-mail is confirmed, written, and the « Relance » is in the invoice's history.

« Espace client » §2: the demo portal member (their company's administrator) opens Mon entreprise → Mes factures et
avoirs, an invoice with an amount due, « Payer par carte », the manual provider's offline card form, confirms: the
invoice is paid. Then « Moyens de paiement »: a SEPA mandate (holder, IBAN, BIC), the code read from the SMS
outbox, « Signer le mandat »: the mandate is « Actif ».
"""

from __future__ import annotations

import os
import re
import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Server
from tests.browser.test_billing_walkthrough import login
from tests.browser.test_crm_walkthrough import portal_login
from tests.browser.test_sales_walkthrough import Step, amount, click_and_wait, new_context, open_menu, query

pytestmark = pytest.mark.browser
ACCEPT_DIALOGS = True  # the shared `page` fixture (conftest) accepts the confirmation dialogs

# The server fixture passes this process's environment to the app server (without DEBUG the manual provider's
# offline card form is off); set at import, before the session's server starts.
os.environ.setdefault("PAYMENTS_OFFLINE_CHECKOUT", "1")

INVOICE_PATH = re.compile(r"^/manage/billing/invoices/(\d+)/$")
PORTAL_INVOICE_PATH = re.compile(r"^/portal/invoices/(\d+)/$")
DUE_STATES = re.compile(r"En attente|Partiellement payée|En retard")
NOT_LATE = re.compile(r"^\s*(En attente|Partiellement payée)\s*$")  # an overdue invoice stays « En retard »
PORTAL_DUE = re.compile(r"À payer|Partiellement payée|En retard")
IBAN = "FR7630006000011234567890189"


def mails(server: Server) -> set:  # type: ignore[type-arg]
    directory = server.log.parent / "mail"
    return set(directory.glob("*")) if directory.exists() else set()


def wait_for_sms(server: Server, after: int) -> tuple[str, str]:
    deadline = time.monotonic() + 10
    messages: list[tuple] = []  # type: ignore[type-arg]
    while not messages and time.monotonic() < deadline:
        messages = query(server, 'SELECT body, "to" FROM core_smsmessage WHERE id > ? ORDER BY id DESC', after)
        if not messages:
            time.sleep(0.2)
    assert messages, "no SMS in the outbox"
    return messages[0]


def test_staff_records_a_payment_and_reminds_then_the_member_pays_and_signs_a_mandate(page, browser, server: Server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with Step(server, "back-office login"):
        login(page, server)

    # Frontmanager §7: « Suivi des paiements », a partial payment, « Relancer »
    with Step(server, "§7 Finance → Factures: an issued invoice still to be paid (« Paiement » column)"):
        open_menu(page, "Finance", "Factures")
        headers = [(text or "").strip() for text in page.locator("main table thead th").all_text_contents()]
        assert "Paiement" in headers, headers
        column = headers.index("Paiement")
        rows = page.locator("main table tbody tr").filter(
            has=page.locator(f"td:nth-child({column + 1})", has_text=NOT_LATE)
        )
        if not rows.count():  # sort on the payment state: the ones to be paid first
            page.goto(f"{server.url}/manage/billing/invoices/?sort=-payment")
        assert rows.count(), page.locator("main table").inner_text()[:1500]
        reference = rows.first.get_by_role("link", name=re.compile(r"FA-\d{4}-\d{6}")).first
        reference_text = reference.inner_text().strip()
        click_and_wait(page, reference)
        invoice_id = INVOICE_PATH.match(urlsplit(page.url).path)[1]
        assert page.locator("#invoice-status").inner_text().strip() == "Émise"

    with Step(server, "§7 the « Suivi des paiements » panel, loaded by HTMX under the lines"):
        panel = page.locator("#invoice-payments")
        expect(panel.get_by_role("heading", name="Suivi des paiements")).to_be_visible()
        remaining = amount(panel.locator("#invoice-remaining").inner_text())
        paid = amount(panel.locator("#invoice-paid").inner_text())
        assert remaining > Decimal("1.00"), f"{reference_text}: remaining {remaining}"
        partial = (remaining / 3).quantize(Decimal("0.01"))

    with Step(server, "§7 « Enregistrer un paiement »: a partial transfer"):
        panel.get_by_role("link", name="Enregistrer un paiement").click()
        form = panel.locator("form[aria-labelledby=record-payment-title]")
        expect(form).to_be_visible()
        form.locator("select[name=payment-method]").select_option(label="Virement")
        form.locator("input[name=payment-amount]").fill(f"{partial}".replace(".", ","))
        form.locator("input[name=payment-reference]").fill(f"VIR {reference_text}")
        form.get_by_role("button", name="Enregistrer le paiement").click()
        expect(form).to_have_count(0)
        expect(panel.locator("table.invoice-allocations tbody tr")).not_to_have_count(0)
        expect(panel.get_by_text("Partiellement payée", exact=True)).to_be_visible()
        assert amount(panel.locator("#invoice-remaining").inner_text()) == remaining - partial
        assert amount(panel.locator("#invoice-paid").inner_text()) == paid + partial
        row = panel.locator("table.invoice-allocations tbody tr").filter(has_text=f"VIR {reference_text}")
        assert "Virement" in row.inner_text(), row.inner_text()
        page.reload()
        expect(page.locator("#invoice-payment-state")).to_have_text("Partiellement payée")
        expect(page.locator("#invoice-remaining")).to_be_visible()
        assert amount(page.locator("#invoice-remaining").inner_text()) == remaining - partial

    with Step(server, "§7 « Relancer »: the confirmation shows the e-mail, « Envoyer la relance »"):
        mails_before = mails(server)
        click_and_wait(page, page.locator("main").get_by_role("button", name="Relancer", exact=True))
        assert urlsplit(page.url).path.startswith("/manage/payments/reminders/invoice/"), page.url
        expect(page.get_by_role("heading", name=f"Relancer {reference_text} ?")).to_be_visible()
        expect(page.get_by_role("heading", name="E-mail envoyé")).to_be_visible()
        page.check("input[name=channel][value=email]")
        click_and_wait(page, page.get_by_role("button", name="Envoyer la relance"))
        assert INVOICE_PATH.match(urlsplit(page.url).path)[1] == invoice_id, page.url
        expect(page.locator(".alert-success").filter(has_text="La relance est envoyée à")).to_be_visible()
        sent = [mail for mail in mails(server) - mails_before if reference_text in mail.read_text(errors="replace")]
        assert sent, f"no reminder e-mail about {reference_text}"
        history = page.locator(".timeline-section .timeline-item .timeline-head strong")
        expect(history.filter(has_text=re.compile(r"^Relance$")).first).to_be_visible()

    member_email = f"membre@{server.workspace}.comptoir.test"
    company_id, company_name = query(server, """
        SELECT co.id, co.name FROM crm_contact c JOIN core_user u ON u.id = c.user_id
        JOIN crm_company co ON co.id = c.company_id WHERE u.email = ? AND c.company_role = 'administrator'""",
                                     member_email)[0]  # fmt: skip
    due_count = query(server, """
        SELECT COUNT(*) FROM billing_invoice WHERE company_id = ? AND kind = 'invoice' AND status = 'issued'
        AND payment_status <> 'paid'""", company_id)[0][0]  # fmt: skip
    if not due_count:  # the demo's direct debits paid everything: the latest one comes back rejected
        with Step(server, f"§7 {company_name}: « Rejeter » the direct debit of its latest invoice"):
            page.goto(f"{server.url}/manage/billing/invoices/?q={company_name}")
            paid_row = page.locator("main table tbody tr").filter(has_text=company_name).filter(has_text="Payée")
            click_and_wait(page, paid_row.first.get_by_role("link", name=re.compile(r"FA-\d{4}-\d{6}")).first)
            rejected_path = urlsplit(page.url).path
            panel = page.locator("#invoice-payments")
            expect(panel.get_by_role("heading", name="Suivi des paiements")).to_be_visible()
            click_and_wait(page, panel.get_by_role("link", name="Rejeter").first)
            page.fill("input[name=reason]", "Prélèvement rejeté (AM04)")
            click_and_wait(page, page.get_by_role("button", name="Rejeter le paiement"))
            assert urlsplit(page.url).path == rejected_path, page.url
            expect(page.locator("#invoice-payment-state")).to_have_text(DUE_STATES)
            expect(page.locator("#invoice-payments table.invoice-allocations tr.allocation-reversed")).to_have_count(1)

    # « Espace client » §2: pay an invoice by card, sign a SEPA mandate
    member = new_context(browser)
    member_page = member.new_page()
    member_errors: list[str] = []
    member_page.on("pageerror", lambda error: member_errors.append(str(error)))
    Step.page = member_page
    try:
        with Step(server, "portal: Mon entreprise → Mes factures et avoirs, an invoice to pay"):
            portal_login(member_page, server, member_email, server.password)
            click_and_wait(member_page, member_page.locator("aside").get_by_role("link", name="Mon entreprise"))
            click_and_wait(member_page, member_page.get_by_role("link", name="Mes factures et avoirs"))
            due = member_page.locator("main table tbody tr").filter(has_text=PORTAL_DUE)
            while not due.count() and member_page.get_by_role("link", name="Suivant").count():
                click_and_wait(member_page, member_page.get_by_role("link", name="Suivant"))
            assert due.count(), "no invoice to pay in the member's portal"
            link = due.first.get_by_role("link", name=re.compile(r"FA-\d{4}-\d{6}")).first
            portal_reference = link.inner_text().strip()
            click_and_wait(member_page, link)
            portal_id = PORTAL_INVOICE_PATH.match(urlsplit(member_page.url).path)[1]
            due_amount = amount(member_page.locator("#amount-due").inner_text())
            assert due_amount > 0, due_amount

        with Step(server, "portal: « Payer par carte » → the offline card form → confirm"):
            click_and_wait(member_page, member_page.get_by_role("button", name="Payer par carte"))
            if member_page.get_by_role("heading", name="Paiement de facture").count():
                assert amount(member_page.locator("#amount").inner_text()) == due_amount
                click_and_wait(member_page, member_page.get_by_role("button", name="Payer par carte"))
            expect(member_page.get_by_role("heading", name="Paiement par carte (démonstration)")).to_be_visible()
            click_and_wait(member_page, member_page.get_by_role("button", name=re.compile(r"^Confirmer le paiement")))
            expect(member_page.get_by_role("heading", name="Paiement reçu")).to_be_visible()

        with Step(server, "portal: the invoice is paid"):
            member_page.goto(f"{server.url}/portal/invoices/{portal_id}/")
            expect(member_page.locator("main").get_by_text("Payée", exact=True).first).to_be_visible()
            assert amount(member_page.locator("#amount-due").inner_text()) == 0
            assert member_page.get_by_role("button", name="Payer par carte").count() == 0
            status = query(server, "SELECT payment_status FROM billing_invoice WHERE id = ?", int(portal_id))
            assert status == [("paid",)], (portal_reference, status)

        with Step(server, "portal: « Moyens de paiement » → « Mettre en place un prélèvement SEPA »"):
            click_and_wait(member_page, member_page.locator("aside").get_by_role("link", name="Moyens de paiement"))
            expect(member_page.get_by_role("heading", name="Moyens de paiement", exact=True)).to_be_visible()
            section = member_page.locator("main section.card").first
            section.locator("summary").filter(has_text="Mettre en place un prélèvement SEPA").click()
            form = section.locator("form:has(input[name=iban])")
            form.locator("input[name=account_holder]").fill(company_name)
            form.locator("input[name=iban]").fill(IBAN)
            form.locator("input[name=bic]").fill("AGRIFRPP")
            click_and_wait(member_page, form.get_by_role("button", name="Continuer vers la signature"))
            steps = member_page.locator("#mandate-steps")
            expect(steps).to_be_visible()
            mandate_reference = re.search(r"Signature du mandat\s+(\S+)", steps.locator("h2").inner_text())[1]

        with Step(server, "portal: « Recevoir mon code par SMS », the code from the outbox, « Signer le mandat »"):
            sms_before = query(server, "SELECT COALESCE(MAX(id), 0) FROM core_smsmessage")[0][0]
            steps.get_by_role("button", name="Recevoir mon code par SMS").click()
            expect(member_page.locator("#mandate-code")).to_be_visible()
            body, to = wait_for_sms(server, sms_before)
            mobile = query(server, """
                SELECT c.mobile FROM crm_contact c JOIN core_user u ON u.id = c.user_id
                WHERE u.email = ? AND c.company_id = ?""", member_email, company_id)[0][0]  # fmt: skip
            assert re.sub(r"\D", "", to)[-9:] == re.sub(r"\D", "", mobile)[-9:], (to, mobile)
            code = re.search(r"\b(\d{6})\b", body)
            assert code, body
            member_page.fill("#mandate-code", code[1])
            with member_page.expect_navigation():
                member_page.get_by_role("button", name="Signer le mandat").click()
            expect(member_page.locator(".alert-success").filter(has_text=mandate_reference)).to_be_visible()
            row = member_page.locator("main table tbody tr").filter(has_text=mandate_reference)
            expect(row).to_have_count(1)
            assert "Actif" in row.inner_text(), row.inner_text()
            assert IBAN[-3:] in row.inner_text(), row.inner_text()
            assert query(server, "SELECT status FROM payments_mandate WHERE reference = ?", mandate_reference) == [
                ("active",)
            ]
    finally:
        Step.page = page
        member.close()
    assert not member_errors, f"uncaught JavaScript errors in the portal: {member_errors}\n{server.log_tail()}"
