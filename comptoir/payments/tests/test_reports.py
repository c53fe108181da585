"""Finance → Encours clients (receivables aging) and Soldes créditeurs: the buckets of days past due, totals equal
to the sum of the open invoices' amounts due to the cent (credited and partly paid invoices included), per company
and per center, CSV, one query whatever the number of companies, empty states, rights, the API."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.billing.models import Invoice
from comptoir.billing.services.invoices import credit_invoice
from comptoir.core.tests.factories import CenterFactory
from comptoir.payments.services import reports
from comptoir.payments.services.payments import credit_balance, record_payment, reverse_payment
from comptoir.payments.tests.factories import ClientCompanyFactory, PaymentFactory, pay
from comptoir.payments.tests.test_reminders import late_invoice

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


def credit_line(amount: str) -> dict[str, str]:
    return {"description": "Geste commercial", "quantity": "1", "unit_price": amount, "vat_rate": "20.00"}


@pytest.fixture
def book(org, admin, other_org):  # type: ignore[no-untyped-def]
    """Two companies in two centers with invoices in every bucket; a partly credited one, a partly paid one, a
    paid one, a fully credited one and another organization's, which do not count or count for their remainder."""
    paris, lyon = CenterFactory(organization=org, name="Paris"), CenterFactory(organization=org, name="Lyon")
    alpha = ClientCompanyFactory(organization=org, name="Alpha")
    beta = ClientCompanyFactory(organization=org, name="Beta")
    plan = [
        ("d400", alpha, lyon),
        ("d91", beta, paris),
        ("d90", alpha, paris),
        ("d61", beta, lyon),
        ("d60", beta, paris),
        ("paid", alpha, paris),
        ("cancelled", beta, paris),
        ("d31", alpha, lyon),
        ("d30", beta, lyon),
        ("d1", alpha, paris),
        ("current", alpha, paris),
    ]  # oldest first: issue dates ascend
    days = {"paid": 45, "cancelled": 45, "current": 0}
    invoices = {
        key: late_invoice(org, days_late=days[key] if key in days else int(key[1:]), company=company, center=center)
        for key, company, center in plan
    }
    credit_invoice(invoice=invoice_of(invoices["d31"]), by=admin, lines=[credit_line("10.05")])  # 12,06 € TTC
    pay(invoices["d61"], "33.33")
    pay(invoices["paid"], "120.00")
    credit_invoice(invoice=invoices["cancelled"], by=admin)
    late_invoice(other_org, days_late=10)
    return {"alpha": alpha, "beta": beta, "paris": paris, "lyon": lyon, **invoices}


def invoice_of(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def open_sum(org) -> Decimal:  # type: ignore[no-untyped-def]
    return sum((invoice.amount_due for invoice in Invoice.objects.filter(organization=org)), Decimal("0.00"))


def test_aging_buckets_and_totals_equal_the_sum_of_open_invoices_to_the_cent(org, admin, book):
    report = reports.receivables_aging(user=admin, organization=org, on=TODAY)

    assert report.totals == {
        "current": Decimal("120.00"),
        "days_1_30": Decimal("240.00"),  # 1 and 30 days
        "days_31_60": Decimal("227.94"),  # 31 days, less its 12,06 € credit note; 60 days
        "days_61_90": Decimal("206.67"),  # 61 days, less 33,33 € paid; 90 days
        "days_over_90": Decimal("240.00"),  # 91 and 400 days
    }
    assert report.total == open_sum(org) == Decimal("1034.61")
    assert sum(report.totals.values()) == report.total
    assert report.count == 9
    rows = {row.name: row for row in report.rows}
    assert rows["Alpha"].total + rows["Beta"].total == report.total
    assert rows["Alpha"].buckets["days_31_60"] == Decimal("107.94")
    assert rows["Alpha"].count == 5 and rows["Beta"].count == 4
    assert rows["Alpha"].reference == book["alpha"].reference
    assert report.rows[0].total >= report.rows[1].total  # largest first


def test_aging_per_center_and_on_a_later_date(org, admin, book):
    by_center = reports.receivables_aging(user=admin, organization=org, on=TODAY, group="center")
    later = reports.receivables_aging(user=admin, organization=org, on=TODAY + 30 * DAY)

    assert {row.name for row in by_center.rows} == {"Paris", "Lyon"}
    assert by_center.total == Decimal("1034.61") and by_center.totals == reports.receivables_aging(
        user=admin, organization=org, on=TODAY).totals  # fmt: skip
    # 30 days later: the current one is 30 days late, the 1-day one 31, …
    assert later.totals["current"] == Decimal("0.00")
    assert later.totals["days_1_30"] == Decimal("120.00")
    assert later.total == Decimal("1034.61")


def test_aging_leaves_out_invoices_issued_after_the_date(org, admin, book):
    report = reports.receivables_aging(user=admin, organization=org, on=TODAY - 35 * DAY)

    # issued 35 days ago or earlier: 60, 61, 90, 91, 400 days late today
    assert report.count == 5
    assert report.total == Decimal("120.00") * 5 - Decimal("33.33")


def test_aging_makes_one_query_for_5_or_50_companies(org, admin):
    center = CenterFactory(organization=org)
    for _ in range(5):
        late_invoice(org, days_late=100, center=center)
    reports.receivables_aging(user=admin, organization=org, on=TODAY)  # the viewer's rights are read once
    with CaptureQueriesContext(connection) as few:
        five = reports.receivables_aging(user=admin, organization=org, on=TODAY)
    for _ in range(45):
        late_invoice(org, days_late=40, center=center)
    with CaptureQueriesContext(connection) as many:
        fifty = reports.receivables_aging(user=admin, organization=org, on=TODAY)

    assert (len(five.rows), len(fifty.rows)) == (5, 50)
    assert len(many) == len(few)
    assert len([query for query in many if "SUM" in query["sql"].upper()]) == 1


def test_the_page_shows_buckets_chart_totals_and_csv(org, admin, staff_client, book):
    web = staff_client(admin)
    url = reverse("payments:receivables")

    page = web.get(url)
    text = page.content.decode().replace("\u202f", " ").replace("\xa0", " ")
    csv_answer = web.get(url, {"export": "csv", "group": "center"})

    assert page.status_code == 200
    for expected in ("Non échu", "1 à 30 jours", "Plus de 90 jours", "1 034,61 €", "227,94 €", "Alpha", "aging-bar"):
        assert expected in text, expected
    rows = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Centre" and rows[-1][0] == "Total"
    assert rows[-1][-1] == "1034,61" and {row[0] for row in rows[1:-1]} == {"Paris", "Lyon"}


def test_the_page_has_an_empty_state_and_survives_a_bad_date(org, admin, staff_client):
    web = staff_client(admin)

    page = web.get(reverse("payments:receivables"), {"on": "2026-13-45", "group": "nonsense"})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Aucune facture ouverte" in text and "Date illisible" in text


def test_the_page_makes_the_same_number_of_queries_for_5_or_50_companies(org, admin, staff_client):
    web = staff_client(admin)
    url = reverse("payments:receivables")
    center = CenterFactory(organization=org)
    for _ in range(5):
        late_invoice(org, days_late=40, center=center)
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        web.get(url)
    for _ in range(45):
        late_invoice(org, days_late=10, center=center)
    with CaptureQueriesContext(connection) as many:
        web.get(url)

    assert len(many) == len(few)


def test_staff_limited_to_a_center_see_its_invoices_only(org, book, staff_of):
    from comptoir.core.models import StaffMembership

    user = staff_of("manager")
    StaffMembership.objects.get(user=user, organization=org).centers.set([book["lyon"]])

    report = reports.receivables_aging(user=user, organization=org, on=TODAY)

    assert report.count == 4  # d30, d31, d61, d400
    assert report.total == Decimal("120.00") * 4 - Decimal("12.06") - Decimal("33.33")


def test_reception_sees_the_reports_a_technician_does_not(org, staff_of, staff_client):
    reception = staff_client(staff_of("reception"))
    assert reception.get(reverse("payments:receivables")).status_code == 200
    assert reception.get(reverse("payments:credit_balances")).status_code == 200

    technician = staff_client(staff_of("technician"))
    assert technician.get(reverse("payments:receivables")).status_code == 403
    assert reports.receivables_aging(user=staff_of("technician"), organization=org, on=TODAY).rows == []


# --------------------------------------------------------------------------------------------------
# Credit balances
# --------------------------------------------------------------------------------------------------
def test_credit_balances_are_what_payments_left_unallocated_for_every_company(org, admin, staff_client, other_org):
    center = CenterFactory(organization=org)
    alpha = ClientCompanyFactory(organization=org, name="Alpha")
    beta = ClientCompanyFactory(organization=org, name="Beta")
    gamma = ClientCompanyFactory(organization=org, name="Gamma")
    invoice = late_invoice(org, days_late=3, company=alpha, center=center)
    record_payment(
        organization=org,
        by=admin,
        data={"company": alpha, "method": "transfer", "amount": "80.00", "received_on": TODAY},
        allocations=[(invoice, "50.00")],
    )  # 30 € left
    PaymentFactory(organization=org, company=alpha, amount=Decimal("12.34"))
    PaymentFactory(organization=org, company=beta, amount=Decimal("100.00"))
    reverse_payment(payment=PaymentFactory(organization=org, company=gamma, amount=Decimal("500.00")), by=admin,
                    reason="Chèque rejeté")  # fmt: skip
    PaymentFactory(organization=other_org)

    rows = reports.credit_balances(user=admin, organization=org)

    assert [(row.name, row.balance, row.payments) for row in rows] == [
        ("Beta", Decimal("100.00"), 1), ("Alpha", Decimal("42.34"), 2)]  # fmt: skip
    assert all(row.balance == credit_balance(row.id) for row in rows)
    page = staff_client(admin).get(reverse("payments:credit_balances")).content.decode()
    assert "Alpha" in page and "142,34" in page and "Gamma" not in page


def test_credit_balances_empty_state(org, admin, staff_client):
    page = staff_client(admin).get(reverse("payments:credit_balances"))

    assert "Aucun client n'a de solde créditeur" in page.content.decode()


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------
def test_api_receivables_gives_the_aging_as_json(org, admin, api_client, book):
    api = api_client(admin)

    answer = api.get("/api/v1/receivables/", {"on": TODAY.isoformat(), "group": "company"})
    centers = api.get("/api/v1/receivables/", {"group": "center"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == "1034.61" and body["count"] == 9
    assert body["totals"] == {"current": "120.00", "days_1_30": "240.00", "days_31_60": "227.94",
                              "days_61_90": "206.67", "days_over_90": "240.00"}  # fmt: skip
    assert {row["name"] for row in body["rows"]} == {"Alpha", "Beta"}
    assert sum(Decimal(row["total"]) for row in body["rows"]) == Decimal("1034.61")
    assert {row["name"] for row in centers.json()["rows"]} == {"Paris", "Lyon"}


@pytest.mark.parametrize("params", [{"on": "yesterday"}, {"on": "1900-01-01"}, {"group": "contract"}])
def test_api_receivables_refuses_bad_parameters_with_json_400(org, admin, api_client, params):
    answer = api_client(admin).get("/api/v1/receivables/", params)

    assert answer.status_code == 400 and "error" in answer.json()


def test_api_receivables_rights(org, staff_of, api_client):
    assert api_client(staff_of("reception")).get("/api/v1/receivables/").status_code == 200
    assert api_client(staff_of("technician")).get("/api/v1/receivables/").status_code == 403
    assert api_client(staff_of("reception")).post("/api/v1/receivables/", {}, format="json").status_code == 405


def test_api_receivables_empty(org, admin, api_client):
    body = api_client(admin).get("/api/v1/receivables/").json()

    assert body["rows"] == [] and body["total"] == "0.00" and body["count"] == 0
