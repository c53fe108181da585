"""Portal, paid up front (desk « pré-paiement », a pack « acheté en ligne »): a booking on a space « paiement à la
réservation » sends the member to the payment page and waits for it (« En attente de paiement », « Payer »); the
« Formules » page lists the member's plans and balance and sells the packs, paid at once; paying through the offline
provider's form confirms the booking or grants the credits."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import resolve, reverse
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.bookings.models import Booking, PlanAssignment
from comptoir.bookings.services import bookings as services
from comptoir.bookings.services import credits, prepaid
from comptoir.bookings.tests.factories import PackFactory, PlanFactory, RoomFactory, SpaceBookingFactory, next_weekday
from comptoir.core.tests.factories import OrganizationFactory
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.payments.models import PaymentLink
from comptoir.portal.tests.test_bookings_portal import enter, member_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():  # the payer's page counts lookups per address
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org, center):
    return CompanyFactory(organization=org, kind="client", name="Atelier Lumière", center=center)


@pytest.fixture
def monday():
    return next_weekday(0)


@pytest.fixture
def manager(client, org, company):
    user, contact = member_of(company, Contact.CompanyRole.MANAGER)
    enter(client, user, org)
    return contact


def prepaid_room(org, center, *, auto_accept=True, name="Salle Verrière"):
    return SpaceBookingFactory(space=RoomFactory(organization=org, center=center, name=name), prepayment=True,
                               auto_accept=auto_accept).space  # fmt: skip


def book(client, room, day, start="10:00", end="12:00", payment="invoice"):
    return client.post(reverse("portal:booking_space", args=[room.pk]),
                       {"day": day.isoformat(), "start": start, "end": end, "payment": payment})  # fmt: skip


def token_of(response) -> str:
    assert response.status_code == 302, response.status_code
    match = resolve(response.url)
    assert match.view_name == "portal:pay", response.url
    return match.kwargs["token"]


def pay_offline(client, token, django_capture_on_commit_callbacks) -> str:
    """The payer's page → « Payer par carte » → the offline provider's form → confirm; the « done » page's text."""
    page = client.get(reverse("portal:pay", args=[token]))
    assert page.status_code == 200
    checkout = client.post(reverse("portal:pay_checkout", args=[token]))
    offline_url = reverse("portal:pay_offline", args=[token])
    assert checkout.status_code == 302 and checkout["Location"] == offline_url
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(offline_url)
    assert confirmed.status_code == 302
    return client.get(confirmed["Location"]).content.decode()


# --------------------------------------------------------------------------------------------------
# Booking a prepaid space
# --------------------------------------------------------------------------------------------------
def test_the_confirmation_page_says_the_booking_is_paid_now_and_the_button_reads_reserver_et_payer(
    client, org, center, manager, monday
):
    room = prepaid_room(org, center)

    page = client.get(reverse("portal:booking_space", args=[room.pk]),
                      {"day": monday.isoformat(), "start": "10:00", "end": "12:00"})  # fmt: skip

    content = page.content.decode()
    assert page.status_code == 200
    assert "Paiement à la réservation : vous réglez par carte à l'étape suivante ; le créneau vous est réservé " \
           "30 minutes." in content  # fmt: skip
    assert "Réserver et payer" in content and "Par carte, à la réservation" in content
    assert "sur la prochaine facture mensuelle" not in content


def test_a_space_without_prepayment_keeps_the_usual_confirmation(client, org, center, manager, monday):
    room = SpaceBookingFactory(space=RoomFactory(organization=org, center=center)).space

    content = client.get(reverse("portal:booking_space", args=[room.pk]),
                         {"day": monday.isoformat(), "start": "10:00"}).content.decode()  # fmt: skip

    assert "Réserver et payer" not in content and "Paiement à la réservation" not in content
    assert "Confirmer la réservation" in content and "sur la prochaine facture mensuelle" in content


def test_a_user_member_sees_no_prepayment_and_cannot_book_the_paid_room(client, org, center, company, monday):
    room = prepaid_room(org, center)
    user, _contact = member_of(company, Contact.CompanyRole.USER)
    enter(client, user, org)

    content = client.get(reverse("portal:booking_space", args=[room.pk]),
                         {"day": monday.isoformat(), "start": "10:00"}).content.decode()  # fmt: skip
    response = book(client, room, monday)

    assert "Réserver et payer" not in content and "ne permet pas les réservations payantes" in content
    assert response.status_code == 403
    assert not Booking.objects.exists() and not Invoice.objects.exists()


def test_booking_a_prepaid_room_sends_to_the_pay_page_and_paying_confirms_it(
    client, org, center, manager, monday, django_capture_on_commit_callbacks
):
    room = prepaid_room(org, center)

    response = book(client, room, monday)

    token = token_of(response)
    booking = Booking.objects.get(space=room)
    assert (booking.status, booking.payment, booking.contact) == ("requested", "prepaid", manager)
    link = PaymentLink.objects.get()
    assert link.invoice_id == booking.invoice_id and link.amount == Decimal("72.00")
    pay_page = client.get(reverse("portal:pay", args=[token])).content.decode()
    assert "72,00" in pay_page and "Payer par carte" in pay_page

    done = pay_offline(client, token, django_capture_on_commit_callbacks)

    assert "Paiement reçu" in done
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.expires_at is None
    listing = client.get(reverse("portal:bookings")).content.decode()
    assert "Confirmée" in listing and "En attente de paiement" not in listing
    assert reverse("portal:booking_pay", args=[booking.pk]) not in listing


def test_credits_still_confirm_at_once_on_a_prepaid_space(client, org, center, company, manager, monday):
    room = prepaid_room(org, center)
    credits.assign_plan(company=company, by=None, check_rights=False, data={"plan": PlanFactory(organization=org)})

    response = book(client, room, monday, payment="credits")

    assert response.status_code == 302 and response.url == reverse("portal:bookings")
    booking = Booking.objects.get(space=room)
    assert (booking.status, booking.payment, booking.invoice_id) == ("confirmed", "credits", None)


def test_the_list_shows_a_booking_awaiting_payment_and_pay_again_gives_a_new_link(
    client, org, center, manager, monday, django_capture_on_commit_callbacks
):
    room = prepaid_room(org, center)
    book(client, room, monday)
    booking = Booking.objects.get(space=room)

    listing = client.get(reverse("portal:bookings")).content.decode()
    pay_url = reverse("portal:booking_pay", args=[booking.pk])
    assert "En attente de paiement" in listing and pay_url in listing and "À régler avant" in listing

    again = client.post(pay_url)

    token = token_of(again)
    assert PaymentLink.objects.filter(invoice_id=booking.invoice_id).count() == 2
    assert "Paiement reçu" in pay_offline(client, token, django_capture_on_commit_callbacks)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_paid_request_on_a_space_on_request_waits_for_the_staff(
    client, org, center, manager, monday, django_capture_on_commit_callbacks
):
    room = prepaid_room(org, center, auto_accept=False)
    token = token_of(book(client, room, monday))

    pay_offline(client, token, django_capture_on_commit_callbacks)

    booking = Booking.objects.get(space=room)
    assert booking.status == Booking.Status.REQUESTED and not prepaid.awaiting_payment(booking)
    listing = client.get(reverse("portal:bookings")).content.decode()
    assert "Payée, en attente de confirmation" in listing and "En attente de paiement" not in listing
    assert reverse("portal:booking_pay", args=[booking.pk]) not in listing


def test_pay_again_is_refused_once_the_booking_no_longer_awaits_payment(client, org, center, manager, monday):
    room = prepaid_room(org, center)
    book(client, room, monday)
    booking = Booking.objects.get(space=room)
    services.expire_requests(now=timezone.now() + datetime.timedelta(minutes=prepaid.PAYMENT_MINUTES + 1))
    links = PaymentLink.objects.count()

    response = client.post(reverse("portal:booking_pay", args=[booking.pk]), follow=True)

    assert response.redirect_chain == [(reverse("portal:bookings"), 302)]
    assert "Cette réservation n&#x27;attend pas de paiement." in response.content.decode()
    assert PaymentLink.objects.count() == links


def test_a_booking_past_its_payment_delay_but_not_released_yet_cannot_be_paid(client, org, center, manager, monday):
    room = prepaid_room(org, center)
    book(client, room, monday)
    booking = Booking.objects.get(space=room)
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    links = PaymentLink.objects.count()

    listing = client.get(reverse("portal:bookings")).content.decode()
    response = client.post(reverse("portal:booking_pay", args=[booking.pk]), follow=True)

    assert "Délai de paiement dépassé" in listing and reverse("portal:booking_pay", args=[booking.pk]) not in listing
    assert "Le délai de paiement de cette réservation est dépassé" in response.content.decode()
    assert PaymentLink.objects.count() == links


def test_pay_again_on_a_booking_paid_by_invoice_or_of_another_company_is_refused(client, org, center, manager, monday):
    ordinary = SpaceBookingFactory(space=RoomFactory(organization=org, center=center)).space
    book(client, ordinary, monday)
    mine = Booking.objects.get(space=ordinary)
    room = prepaid_room(org, center)
    _user, stranger = member_of(CompanyFactory(organization=org), Contact.CompanyRole.ADMINISTRATOR)
    theirs = services.create_booking(organization=org, by=None, member=stranger, data={
        "space": room, "starts_at": datetime.datetime.combine(monday, datetime.time(14), tzinfo=center.tz),
        "ends_at": datetime.datetime.combine(monday, datetime.time(15), tzinfo=center.tz)})  # fmt: skip
    links = PaymentLink.objects.count()

    refused = client.post(reverse("portal:booking_pay", args=[mine.pk]))
    hidden = client.post(reverse("portal:booking_pay", args=[theirs.pk]))

    assert refused.status_code == 302 and refused.url == reverse("portal:bookings")
    assert hidden.status_code == 404
    assert PaymentLink.objects.count() == links


# --------------------------------------------------------------------------------------------------
# « Formules »
# --------------------------------------------------------------------------------------------------
def test_the_plans_page_lists_the_members_plans_the_balance_and_the_packs_for_sale(client, org, company, manager):
    subscription = PlanFactory(organization=org, name="Abonnement Flex 10")
    own = PackFactory(organization=org, name="Pack 5 heures", unit_price=Decimal("80.00"), credits=Decimal("5"),
                      validity_days=60, description="Pour les rendez-vous ponctuels")  # fmt: skip
    credits.assign_plan(company=company, by=None, check_rights=False, data={"plan": subscription})
    credits.assign_plan(company=company, by=None, check_rights=False, data={"plan": own, "contact": manager})
    _user, colleague = member_of(company, Contact.CompanyRole.USER, email="collegue@client.test")
    colleagues = PackFactory(organization=org, name="Pack du collègue", unit_price=Decimal("0"))
    credits.assign_plan(company=company, by=None, check_rights=False, data={"plan": colleagues,
                                                                             "contact": colleague})  # fmt: skip
    PackFactory(organization=OrganizationFactory(), name="Pack d'un autre opérateur", unit_price=Decimal("99.00"))

    response = client.get(reverse("portal:plans"))

    content = response.content.decode()
    assert response.status_code == 200
    assert reverse("portal:plans") in content  # the menu entry
    assert "Abonnement Flex 10" in content and "Toute l'entreprise" in content
    assert "Pack 5 heures" in content and "Pack du collègue" not in content
    assert "Pack d&#x27;un autre opérateur" not in content
    assert "15 crédits disponibles" in content  # 10 of the subscription's month + 5 of the pack
    # For sale: the pack (not the subscription), price incl. VAT, credits, validity, description, « Acheter ».
    assert "96,00\u00a0€ TTC" in content and "valables 60 jours" in content
    assert "Pour les rendez-vous ponctuels" in content
    assert reverse("portal:plan_buy", args=[own.pk]) in content
    assert reverse("portal:plan_buy", args=[subscription.pk]) not in content


def test_the_plans_page_empty_states(client, org, manager):
    content = client.get(reverse("portal:plans")).content.decode()

    assert "Aucune formule en cours." in content
    assert "Aucun pack n'est proposé à l'achat pour le moment." in content
    assert "0 crédits disponibles" in content


def test_buying_a_pack_sends_to_the_pay_page_and_paying_grants_its_credits(
    client, org, company, manager, django_capture_on_commit_callbacks
):
    pack = PackFactory(organization=org, name="Pack 10 heures", unit_price=Decimal("150.00"), credits=Decimal("10"))

    response = client.post(reverse("portal:plan_buy", args=[pack.pk]), {"member": manager.pk})

    token = token_of(response)
    assignment = PlanAssignment.objects.get()
    assert (assignment.status, assignment.contact, assignment.plan) == ("pending", manager, pack)
    assert PaymentLink.objects.get().amount == Decimal("180.00")
    pending = client.get(reverse("portal:plans")).content.decode()
    assert "En attente de paiement" in pending and "180,00\u00a0€ TTC, à régler sous 24 heures" in pending
    assert reverse("portal:plan_assignment_pay", args=[assignment.pk]) in pending
    assert "0 crédits disponibles" in pending

    assert "Paiement reçu" in pay_offline(client, token, django_capture_on_commit_callbacks)

    assignment.refresh_from_db()
    assert assignment.status == PlanAssignment.Status.ACTIVE
    assert credits.balance(company, manager) == Decimal("10.00")
    content = client.get(reverse("portal:plans")).content.decode()
    assert "10 crédits disponibles" in content and "Active" in content
    assert reverse("portal:plan_assignment_pay", args=[assignment.pk]) not in content


def test_a_pending_purchase_is_paid_again_with_a_new_link_and_refused_once_paid(
    client, org, manager, django_capture_on_commit_callbacks
):
    pack = PackFactory(organization=org, unit_price=Decimal("150.00"))
    client.post(reverse("portal:plan_buy", args=[pack.pk]))
    assignment = PlanAssignment.objects.get()
    pay_url = reverse("portal:plan_assignment_pay", args=[assignment.pk])

    token = token_of(client.post(pay_url))
    assert PaymentLink.objects.count() == 2
    pay_offline(client, token, django_capture_on_commit_callbacks)
    refused = client.post(pay_url, follow=True)

    assert refused.redirect_chain == [(reverse("portal:plans"), 302)]
    assert "Cet achat n&#x27;attend pas de paiement." in refused.content.decode()
    assert PaymentLink.objects.count() == 2


def test_a_user_member_sees_the_packs_without_a_buy_button_and_buying_is_refused(client, org, company):
    pack = PackFactory(organization=org, name="Pack 10 heures", unit_price=Decimal("150.00"))
    user, _contact = member_of(company, Contact.CompanyRole.USER)
    enter(client, user, org)

    content = client.get(reverse("portal:plans")).content.decode()
    response = client.post(reverse("portal:plan_buy", args=[pack.pk]), follow=True)

    assert "Pack 10 heures" in content and "180,00\u00a0€ TTC" in content
    assert reverse("portal:plan_buy", args=[pack.pk]) not in content and ">Acheter<" not in content
    assert "Votre rôle « utilisateur » ne permet pas les achats" in content
    assert response.redirect_chain == [(reverse("portal:plans"), 302)]
    assert "ne permet pas les achats" in response.content.decode()
    assert not PlanAssignment.objects.exists() and not Invoice.objects.exists()


@pytest.mark.parametrize("case", ["other_org", "subscription", "inactive", "unknown"])
def test_a_plan_not_for_sale_here_answers_404_and_nothing_is_written(client, org, manager, case):
    if case == "other_org":
        plan_id = PackFactory(organization=OrganizationFactory(), unit_price=Decimal("150.00")).pk
    elif case == "subscription":
        plan_id = PlanFactory(organization=org).pk
    elif case == "inactive":
        plan_id = PackFactory(organization=org, unit_price=Decimal("150.00"), is_active=False).pk
    else:
        plan_id = 999999

    response = client.post(reverse("portal:plan_buy", args=[plan_id]))

    assert response.status_code == 404
    assert not PlanAssignment.objects.exists() and not Invoice.objects.exists()


def test_another_companys_pending_purchase_answers_404(client, org, manager):
    pack = PackFactory(organization=org, unit_price=Decimal("150.00"))
    _user, stranger = member_of(CompanyFactory(organization=org), Contact.CompanyRole.ADMINISTRATOR)
    theirs = prepaid.purchase_plan(member=stranger, plan=pack, by=None)

    response = client.post(reverse("portal:plan_assignment_pay", args=[theirs.pk]))

    assert response.status_code == 404 and not PaymentLink.objects.exists()


def test_a_member_who_picks_a_membership_not_theirs_gets_404(client, org, manager):
    pack = PackFactory(organization=org, unit_price=Decimal("150.00"))
    _user, stranger = member_of(CompanyFactory(organization=org), Contact.CompanyRole.ADMINISTRATOR)

    response = client.post(reverse("portal:plan_buy", args=[pack.pk]), {"member": stranger.pk})

    assert response.status_code == 404 and not PlanAssignment.objects.exists()


@pytest.mark.parametrize("name", ["portal:plan_buy", "portal:plan_assignment_pay", "portal:booking_pay"])
def test_get_on_the_post_endpoints_answers_405(client, manager, name):
    assert client.get(reverse(name, args=[1])).status_code == 405


def test_the_plans_page_needs_a_portal_login(client, org):
    response = client.get(reverse("portal:plans"))

    assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))


def test_the_plans_page_makes_as_many_queries_for_1_as_for_10_packs(
    client, org, company, manager, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    credits.assign_plan(company=company, by=None, check_rights=False, data={"plan": PlanFactory(organization=org)})
    pack = PackFactory(organization=org, name="Pack 1", unit_price=Decimal("50.00"))
    prepaid.purchase_plan(member=manager, plan=pack, by=None)
    counts = []
    for total in (1, 10):
        for index in range(PackFactory._meta.model.objects.filter(plan_type="pack").count(), total):
            PackFactory(organization=org, name=f"Pack {index + 1}", unit_price=Decimal("50.00"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portal:plans")).status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(12):
        client.get(reverse("portal:plans"))
