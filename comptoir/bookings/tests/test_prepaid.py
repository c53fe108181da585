"""Paid up front: prepaid bookings (desk « pré-paiement ») and packs bought in the portal, both confirmed or
activated by billing's « invoice.paid » whatever recorded the payment, released with a credit note when unpaid."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from comptoir.billing.models import Consumption, Invoice
from comptoir.bookings.models import Booking, CreditEntry, PlanAssignment
from comptoir.bookings.services import bookings as services
from comptoir.bookings.services import credits, prepaid
from comptoir.bookings.tests.factories import (
    PackFactory,
    PlanFactory,
    RoomFactory,
    SpaceBookingFactory,
    at,
    next_weekday,
)
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory
from comptoir.payments.services.payments import record_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(org, center):
    return CompanyFactory(organization=org, kind="client", email="compta@client.test", center=center)


@pytest.fixture
def member(company):
    return ContactFactory(company=company, company_role=Contact.CompanyRole.MANAGER, has_portal_access=True,
                          email="jeanne@client.test")  # fmt: skip


@pytest.fixture
def monday():
    return next_weekday(0)


def prepaid_room(org, center, *, auto_accept=True):
    return SpaceBookingFactory(space=RoomFactory(organization=org, center=center), prepayment=True,
                               auto_accept=auto_accept).space  # fmt: skip


def portal_book(org, member, room, start, end, **extra):
    return services.create_booking(organization=org, by=None, member=member,
                                   data={"space": room, "starts_at": start, "ends_at": end, **extra})  # fmt: skip


def pay(org, invoice, amount=None):
    invoice.refresh_from_db()
    amount = invoice.total_incl_vat if amount is None else amount
    return record_payment(organization=org, by=None, check_rights=False, allocations=[(invoice, amount)],
                          data={"company": invoice.company, "amount": amount, "method": "card",
                                "received_on": timezone.localdate()})  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Prepaid bookings
# --------------------------------------------------------------------------------------------------
def test_a_portal_booking_on_a_prepaid_space_is_invoiced_at_once_and_holds_its_slot_while_unpaid(
    org, center, member, monday, django_capture_on_commit_callbacks
):
    room = prepaid_room(org, center)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))

    assert (booking.status, booking.payment) == (Booking.Status.REQUESTED, Booking.Payment.PREPAID)
    assert booking.expires_at <= now + datetime.timedelta(minutes=prepaid.PAYMENT_MINUTES + 1)
    invoice = Invoice.objects.get(pk=booking.invoice_id)
    assert (invoice.status, invoice.origin, invoice.payment_status) == ("issued", "online", "pending")
    assert invoice.total_excl_vat == Decimal("60.00") and invoice.total_incl_vat == Decimal("72.00")
    assert invoice.due_date == invoice.issue_date and invoice.payment_method == "card"
    assert not Consumption.objects.exists()  # not billed twice by the monthly run
    assert prepaid.awaiting_payment(booking)
    # No request announced before the payment (the member is paying).
    assert not [m for m in mail.outbox if "réservation" in m.subject.lower()]
    # The slot is held meanwhile.
    other = ContactFactory(company=CompanyFactory(organization=org), company_role=Contact.CompanyRole.ADMINISTRATOR,
                           has_portal_access=True)  # fmt: skip
    with pytest.raises(Exception) as taken:
        portal_book(org, other, room, at(monday, 11), at(monday, 12))
    assert getattr(taken.value, "code", "") == "slot_taken"


def test_paying_the_invoice_confirms_the_booking_on_an_auto_accept_space(
    org, center, member, monday, django_capture_on_commit_callbacks
):
    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        pay(org, booking.invoice)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.expires_at is None
    assert booking.sequence == 1
    assert [m.subject.split(" :")[0] for m in mail.outbox] == ["Réservation confirmée"]


def test_a_paid_request_waits_for_the_staff_who_are_told_only_then(
    org, center, admin, member, monday, django_capture_on_commit_callbacks
):
    room = prepaid_room(org, center, auto_accept=False)
    admin.email = "accueil@operateur.test"
    admin.save()
    with django_capture_on_commit_callbacks(execute=True):
        booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        pay(org, booking.invoice)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED and not prepaid.awaiting_payment(booking)
    assert booking.expires_at > timezone.now() + datetime.timedelta(hours=1)
    subjects = [m.subject for m in mail.outbox]
    assert any(s.startswith("Demande de réservation payée") for s in subjects)
    staff = [m for m in mail.outbox if m.subject.startswith("Nouvelle demande")]
    assert staff and "Déjà payée en ligne" in staff[0].body


def test_declining_a_paid_request_refunds_it_by_a_credit_note(org, center, admin, member, monday):
    room = prepaid_room(org, center, auto_accept=False)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    pay(org, booking.invoice)

    services.decline_booking(booking=booking, by=admin, reason="Salle en travaux")

    booking.refresh_from_db()
    assert (booking.status, booking.refund) == (Booking.Status.DECLINED, Booking.Refund.MONEY)
    credit_note = Invoice.objects.get(credited_invoice=booking.invoice_id)
    assert credit_note.status == "issued" and credit_note.total_incl_vat == Decimal("72.00")


def test_an_unpaid_prepaid_request_expires_and_its_invoice_is_cancelled(org, center, member, monday):
    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))

    later = timezone.now() + datetime.timedelta(minutes=prepaid.PAYMENT_MINUTES + 1)
    assert services.expire_requests(now=later) == 1

    booking.refresh_from_db()
    invoice = Invoice.objects.get(pk=booking.invoice_id)
    assert booking.status == Booking.Status.EXPIRED and booking.reason == "Paiement non reçu à temps"
    assert invoice.status == Invoice.Status.CANCELLED
    # The slot is free again.
    assert portal_book(org, member, room, at(monday, 10), at(monday, 12)).status == Booking.Status.REQUESTED


def test_a_payment_arriving_after_the_expiry_leaves_the_booking_released(org, center, member, monday):
    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    services.expire_requests(now=timezone.now() + datetime.timedelta(hours=1))
    invoice = Invoice.objects.get(pk=booking.invoice_id)

    payment = record_payment(organization=org, by=None, check_rights=False, data={
        "company": invoice.company, "amount": invoice.total_incl_vat, "method": "card",
        "received_on": timezone.localdate()})  # fmt: skip

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert payment.amount == Decimal("72.00")  # kept as the company's credit balance, nothing lost


def test_the_member_cancelling_a_paid_booking_before_the_deadline_gets_a_credit_note(org, center, member, monday):
    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    pay(org, booking.invoice)

    services.cancel_booking(booking=Booking.objects.get(pk=booking.pk), by=None, member=member,
                            now=at(monday, 10) - datetime.timedelta(days=2))  # fmt: skip

    booking.refresh_from_db()
    assert (booking.status, booking.refund) == (Booking.Status.CANCELLED, Booking.Refund.MONEY)
    assert Invoice.objects.filter(credited_invoice=booking.invoice_id, status="issued").exists()


def test_the_staff_may_refund_a_prepaid_booking_in_credits_instead(org, center, admin, member, monday):
    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    pay(org, booking.invoice)

    services.cancel_booking(booking=Booking.objects.get(pk=booking.pk), by=admin, refund="credits")

    booking.refresh_from_db()
    assert booking.refund == Booking.Refund.CREDITS
    assert not Invoice.objects.filter(credited_invoice=booking.invoice_id).exists()
    assert credits.balance(booking.company, member, at(monday, 10).date()) == Decimal("2.00")


def test_a_user_member_cannot_make_a_prepaid_booking_and_nothing_is_written(org, center, company, monday):
    room = prepaid_room(org, center)
    user = ContactFactory(company=company, company_role=Contact.CompanyRole.USER, has_portal_access=True)

    with pytest.raises(RightsError):
        portal_book(org, user, room, at(monday, 10), at(monday, 12))

    assert not Booking.objects.exists() and not Invoice.objects.exists()


def test_credits_still_pay_first_on_a_prepaid_space(org, center, member, monday):
    room = prepaid_room(org, center)
    credits.assign_plan(company=member.company, by=None, check_rights=False,
                        data={"plan": PlanFactory(organization=org), "contact": member})  # fmt: skip

    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))

    assert (booking.payment, booking.status, booking.invoice_id) == ("credits", "confirmed", None)


def test_the_staff_booking_prepaid_is_confirmed_and_invoiced_at_once(org, center, admin, company, monday):
    room = prepaid_room(org, center)

    booking = services.create_booking(organization=org, by=admin, data={
        "space": room, "company": company, "starts_at": at(monday, 10), "ends_at": at(monday, 12),
        "payment": "prepaid"})  # fmt: skip

    assert (booking.status, booking.payment) == (Booking.Status.CONFIRMED, Booking.Payment.PREPAID)
    assert Invoice.objects.get(pk=booking.invoice_id).status == "issued"


# --------------------------------------------------------------------------------------------------
# Packs bought in the portal
# --------------------------------------------------------------------------------------------------
def test_a_pack_bought_in_the_portal_grants_its_credits_once_paid(org, center, member, monday):
    pack = PackFactory(organization=org, unit_price=Decimal("150.00"), credits=Decimal("10"), validity_days=30)
    PlanFactory(organization=org)  # a subscription: not sold online
    assert list(prepaid.plans_for_sale(org)) == [pack]

    assignment = prepaid.purchase_plan(member=member, plan=pack, by=None)

    assert assignment.status == PlanAssignment.Status.PENDING and assignment.contact == member
    invoice = Invoice.objects.get(pk=assignment.invoice_id)
    assert (invoice.origin, invoice.total_incl_vat) == ("online", Decimal("180.00"))
    assert credits.balance(member.company, member) == 0
    assert credits.discount_for(member.company, member, timezone.localdate()) == 0

    pay(org, invoice)
    invoice.refresh_from_db()
    prepaid.on_invoice_paid(invoice=invoice)  # told twice: granted once

    assignment.refresh_from_db()
    assert assignment.status == PlanAssignment.Status.ACTIVE and assignment.starts_on == timezone.localdate()
    assert assignment.ends_on == timezone.localdate() + datetime.timedelta(days=29)
    assert credits.balance(member.company, member) == Decimal("10.00")
    assert CreditEntry.objects.filter(kind="grant", assignment=assignment).count() == 1


def test_a_pack_bought_and_not_paid_is_cancelled_with_a_credit_note(org, member):
    pack = PackFactory(organization=org, unit_price=Decimal("150.00"))
    assignment = prepaid.purchase_plan(member=member, plan=pack, by=None)

    assert prepaid.expire_purchases(now=timezone.now() + datetime.timedelta(hours=prepaid.PURCHASE_HOURS - 1)) == 0
    assert prepaid.expire_purchases(now=timezone.now() + datetime.timedelta(hours=prepaid.PURCHASE_HOURS + 1)) == 1

    assignment.refresh_from_db()
    assert assignment.status == PlanAssignment.Status.CANCELLED
    assert Invoice.objects.get(pk=assignment.invoice_id).status == Invoice.Status.CANCELLED
    assert not CreditEntry.objects.exists()


@pytest.mark.parametrize("case", ["user", "inactive", "subscription", "other_org"])
def test_what_cannot_be_bought_is_refused_and_nothing_is_written(org, company, member, case):
    from comptoir.core.tests.factories import OrganizationFactory

    pack = PackFactory(organization=org, unit_price=Decimal("150.00"))
    buyer = member
    if case == "user":
        buyer = ContactFactory(company=company, company_role=Contact.CompanyRole.USER, has_portal_access=True)
    elif case == "inactive":
        pack.is_active = False
        pack.save()
    elif case == "subscription":
        pack = PlanFactory(organization=org)
    else:
        pack = PackFactory(organization=OrganizationFactory(), unit_price=Decimal("150.00"))

    with pytest.raises((RightsError, ValidationFailed)):
        prepaid.purchase_plan(member=buyer, plan=pack, by=None)

    assert not PlanAssignment.objects.exists() and not Invoice.objects.exists()


def test_a_member_gets_a_payment_link_only_for_their_own_online_purchase(org, member):
    pack = PackFactory(organization=org, unit_price=Decimal("150.00"))
    assignment = prepaid.purchase_plan(member=member, plan=pack, by=None)
    stranger = ContactFactory(company=CompanyFactory(organization=org), company_role=Contact.CompanyRole.ADMINISTRATOR,
                              has_portal_access=True)  # fmt: skip

    link, token = prepaid.pay_link(invoice=assignment.invoice, member=member, by=None)

    assert link.amount == Decimal("180.00") and len(token) > 30
    with pytest.raises(RightsError):
        prepaid.pay_link(invoice=assignment.invoice, member=stranger, by=None)


def test_the_staff_crediting_a_prepaid_invoice_releases_the_booking(org, center, admin, member, monday):
    from comptoir.billing.services.invoices import credit_invoice

    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    pay(org, booking.invoice)

    credit_invoice(invoice=Invoice.objects.get(pk=booking.invoice_id), by=admin, reason="Geste commercial")

    booking.refresh_from_db()
    assert (booking.status, booking.refund) == (Booking.Status.CANCELLED, Booking.Refund.MONEY)
    assert Invoice.objects.filter(credited_invoice=booking.invoice_id).count() == 1  # not credited twice
    # The slot is free again.
    assert portal_book(org, member, room, at(monday, 10), at(monday, 12)).status == Booking.Status.REQUESTED


def test_the_staff_crediting_a_pending_purchase_cancels_it(org, admin, member):
    from comptoir.billing.services.invoices import credit_invoice

    assignment = prepaid.purchase_plan(member=member, plan=PackFactory(organization=org, unit_price=Decimal("150.00")),
                                       by=None)  # fmt: skip
    credit_invoice(invoice=assignment.invoice, by=admin)

    assignment.refresh_from_db()
    assert assignment.status == PlanAssignment.Status.CANCELLED


def test_the_payment_link_of_an_expired_prepaid_booking_stops(org, center, member, monday):
    from comptoir.payments.models import PaymentLink
    from comptoir.payments.services import links

    room = prepaid_room(org, center)
    booking = portal_book(org, member, room, at(monday, 10), at(monday, 12))
    link, token = prepaid.pay_link(invoice=booking.invoice, member=member, by=None)
    assert links.link_state(links.find_link(token)).payable

    services.expire_requests(now=timezone.now() + datetime.timedelta(hours=1))

    link.refresh_from_db()
    assert link.status == PaymentLink.Status.CANCELLED
    assert links.link_state(links.find_link(token)).code == "cancelled"
