"""Pauses of a contract: the service's rules (dates, overlaps, status, rights, journal, cancellation), the
« Pauses » tab and its form on the contract's page, and the API actions."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.sales.models import Contract, ContractPause
from comptoir.sales.services import contracts as services
from comptoir.sales.tests.factories import ContractFactory

TODAY = datetime.date(2026, 12, 6)
DECEMBER = datetime.date(2026, 12, 1)


def day(month: int, number: int, year: int = 2026) -> datetime.date:
    return datetime.date(year, month, number)


def running(org, **kwargs) -> Contract:  # type: ignore[no-untyped-def]
    values = {"status": Contract.Status.ACTIVE, "start_date": day(1, 1), "commitment_end": day(12, 31, 2027)}
    values.update(kwargs)
    return ContractFactory(organization=org, **values)


def test_a_pause_is_recorded_with_its_days_and_journaled(org, admin):
    # given
    contract = running(org)

    # when
    pause = services.pause_contract(contract=contract, by=admin, start_date=day(12, 20), end_date=day(1, 3, 2027),
                                    reason=" Travaux ", today=TODAY)  # fmt: skip

    # then
    assert (pause.start_date, pause.end_date, pause.days, pause.reason) == (day(12, 20), day(1, 3, 2027), 15, "Travaux")
    entry = AuditEntry.objects.get(action="contract.paused")
    assert entry.object_id == str(contract.pk) and entry.changes["start_date"] == "2026-12-20"


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (None, day(12, 20), "start_date", "Indiquez le premier jour de la pause."),
        (day(12, 20), None, "end_date", "Indiquez le dernier jour de la pause."),
        (day(12, 20), day(12, 19), "end_date", "La pause doit finir après son premier jour."),
        (day(11, 30), day(12, 19), "start_date", "Une pause ne peut pas commencer avant le mois en cours"),
    ],
)
def test_bad_dates_are_refused_at_their_field_and_change_nothing(org, admin, start, end, field, message):
    contract = running(org)
    with pytest.raises(ValidationFailed) as refused:
        services.pause_contract(contract=contract, by=admin, start_date=start, end_date=end, today=TODAY)
    assert field in refused.value.fields and message in refused.value.message
    assert not ContractPause.objects.exists() and not AuditEntry.objects.filter(action="contract.paused").exists()


def test_a_pause_stays_inside_the_contract_and_does_not_overlap_another(org, admin):
    # given: a contract from 15/12/2026 to 31/03/2027, paused in January
    contract = running(org, start_date=day(12, 15), end_date=day(3, 31, 2027))
    services.pause_contract(contract=contract, by=admin, start_date=day(1, 5, 2027), end_date=day(1, 20, 2027),
                            today=TODAY)  # fmt: skip

    # then
    with pytest.raises(ValidationFailed, match="avant le début du contrat"):
        services.pause_contract(contract=contract, by=admin, start_date=day(12, 10), end_date=day(12, 20), today=TODAY)
    with pytest.raises(ValidationFailed, match="après la fin du contrat"):
        services.pause_contract(contract=contract, by=admin, start_date=day(3, 20, 2027), end_date=day(4, 5, 2027),
                                today=TODAY)  # fmt: skip
    with pytest.raises(ValidationFailed, match="déjà en pause du 05/01/2027 au 20/01/2027") as overlap:
        services.pause_contract(contract=contract, by=admin, start_date=day(1, 20, 2027), end_date=day(1, 25, 2027),
                                today=TODAY)  # fmt: skip
    assert overlap.value.code == "overlapping_pause"
    assert ContractPause.objects.count() == 1


@pytest.mark.parametrize("status", [Contract.Status.DRAFT, Contract.Status.ENDED, Contract.Status.CANCELLED])
def test_only_a_running_contract_can_be_paused(org, admin, status):
    contract = running(org, status=status)
    with pytest.raises(DomainError, match="Seul un contrat signé, actif ou en préavis"):
        services.pause_contract(contract=contract, by=admin, start_date=day(12, 20), end_date=day(12, 24), today=TODAY)


def test_reception_may_not_pause(org, staff_of):
    contract = running(org)
    with pytest.raises(RightsError):
        services.pause_contract(contract=contract, by=staff_of("reception"), start_date=day(12, 20),
                                end_date=day(12, 24), today=TODAY)  # fmt: skip


def test_a_pause_is_cancelled_not_deleted_and_a_started_one_cannot_be(org, admin):
    # given
    contract = running(org)
    future = services.pause_contract(contract=contract, by=admin, start_date=day(12, 20), end_date=day(12, 24),
                                     today=TODAY)  # fmt: skip

    # when
    services.cancel_pause(pause=future, by=admin, today=TODAY)

    # then
    future.refresh_from_db()
    assert future.is_cancelled and future.cancelled_by == admin
    assert AuditEntry.objects.filter(action="contract.pause_cancelled").count() == 1
    with pytest.raises(DomainError, match="déjà annulée"):
        services.cancel_pause(pause=future, by=admin, today=TODAY)
    # the days are free again
    services.pause_contract(contract=contract, by=admin, start_date=day(12, 20), end_date=day(12, 22), today=TODAY)
    # a pause begun before the current month (its days are billed) stays
    current = ContractPause.objects.get(cancelled_at__isnull=True)
    with pytest.raises(DomainError, match="avant le mois en cours") as refused:
        services.cancel_pause(pause=current, by=admin, today=day(1, 2, 2027))
    assert refused.value.code == "past_period"


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------
def test_the_pause_form_records_a_pause_and_lands_on_the_tab(org, admin, staff_client):
    # given
    web = staff_client(admin)
    today = datetime.date.today()
    contract = running(org, start_date=today.replace(day=1) - datetime.timedelta(days=60))
    url = reverse("sales:contract_pause", args=[contract.pk])
    first = today + datetime.timedelta(days=3)
    last = today + datetime.timedelta(days=9)

    # when: a bad input, then a good one
    bad = web.post(url, {"start_date": first.isoformat(), "end_date": (first - datetime.timedelta(days=1)).isoformat()})
    good = web.post(url, {"start_date": first.isoformat(), "end_date": last.isoformat(), "reason": "Congés"})

    # then
    assert bad.status_code == 200 and "La pause doit finir après son premier jour." in bad.content.decode()
    assert good.status_code == 302 and good["Location"].endswith("?tab=pauses")
    page = web.get(good["Location"]).content.decode()
    assert 'id="tab-pauses"' in page and "Congés" in page and "Annuler la pause" in page
    assert 'class="nav-link active" id="tab-pauses"' in page
    pause = ContractPause.objects.get()
    web.post(reverse("sales:contract_pause_cancel", args=[contract.pk, pause.pk]))
    pause.refresh_from_db()
    assert pause.is_cancelled


def test_a_paused_contract_shows_it_in_its_header(org, admin, staff_client):
    today = datetime.date.today()
    contract = running(org, start_date=today.replace(day=1) - datetime.timedelta(days=60))
    ContractPause.objects.create(contract=contract, start_date=today, end_date=today + datetime.timedelta(days=4),
                                 created_by=admin)  # fmt: skip
    page = staff_client(admin).get(contract.get_absolute_url()).content.decode()
    assert "En pause jusqu&#x27;au" in page or "En pause jusqu'au" in page


def test_reception_sees_pauses_but_has_no_pause_button(org, admin, staff_of, staff_client):
    contract = running(org)
    web = staff_client(staff_of("reception"))
    page = web.get(contract.get_absolute_url()).content.decode()
    assert 'id="tab-pauses"' in page and reverse("sales:contract_pause", args=[contract.pk]) not in page
    assert web.get(reverse("sales:contract_pause", args=[contract.pk])).status_code == 403


# --------------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------------
def test_api_pause_and_cancel(org, admin, api_client):
    # given
    api = api_client(admin)
    today = datetime.date.today()
    contract = running(org, start_date=today.replace(day=1) - datetime.timedelta(days=60))
    base = f"/api/v1/contracts/{contract.pk}"
    first = (today + datetime.timedelta(days=2)).isoformat()
    last = (today + datetime.timedelta(days=8)).isoformat()

    # when
    bad = api.post(f"{base}/pause/", {"start_date": last, "end_date": first}, format="json")
    unknown = api.post(f"{base}/pause/", {"start_date": first, "end_date": last, "days": 3}, format="json")
    created = api.post(f"{base}/pause/", {"start_date": first, "end_date": last, "reason": "Travaux"}, format="json")

    # then
    assert bad.status_code == 400 and "end_date" in bad.json()["error"]["fields"]
    assert unknown.status_code == 400
    assert created.status_code == 201 and created.json()["days"] == 7 and created.json()["cancelled_at"] is None
    pause_id = created.json()["id"]
    assert api.get(f"{base}/").json()["pauses"][0]["id"] == pause_id
    overlapping = api.post(f"{base}/pause/", {"start_date": first, "end_date": first}, format="json")
    assert overlapping.status_code == 400 and overlapping.json()["error"]["code"] == "overlapping_pause"
    cancelled = api.post(f"{base}/pauses/{pause_id}/cancel/", format="json")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"]
    again = api.post(f"{base}/pauses/{pause_id}/cancel/", format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_cancelled"
    assert api.post(f"{base}/pauses/999999/cancel/", format="json").status_code == 404


def test_api_pause_needs_the_change_right(org, staff_of, api_client):
    contract = running(org)
    today = datetime.date.today()
    response = api_client(staff_of("reception")).post(
        f"/api/v1/contracts/{contract.pk}/pause/",
        {"start_date": today.isoformat(), "end_date": today.isoformat()},
        format="json",
    )
    assert response.status_code == 403 and not ContractPause.objects.exists()


# --------------------------------------------------------------------------------------------------
# « Paiement personnalisé par dossier »: the contract's own payment method
# --------------------------------------------------------------------------------------------------
def test_a_contract_has_its_own_payment_method_or_its_companys(org, admin, staff_of):
    contract = running(org)
    contract.company.default_payment_method = "transfer"
    contract.company.save()

    services.change_payment_method(contract=contract, by=admin, payment_method="direct_debit")
    contract.refresh_from_db()
    assert contract.payment_method == "direct_debit"
    assert services.payment_method_label(contract) == "Prélèvement SEPA"
    assert AuditEntry.objects.get(action="contract.payment_method_changed").changes == {
        "payment_method": ["", "direct_debit"]}  # fmt: skip

    services.change_payment_method(contract=contract, by=admin, payment_method="")
    contract.refresh_from_db()
    assert services.payment_method_label(contract) == "Virement (mode de l'entreprise)"

    with pytest.raises(ValidationFailed):
        services.change_payment_method(contract=contract, by=admin, payment_method="bitcoin")
    with pytest.raises(RightsError):
        services.change_payment_method(contract=contract, by=staff_of("reception"), payment_method="card")
    contract.refresh_from_db()
    assert contract.payment_method == ""


def test_the_payment_method_from_the_page_and_the_api(org, admin, staff_client, api_client):
    contract = running(org)
    web = staff_client(admin)
    url = reverse("sales:contract_payment_method", args=[contract.pk])
    assert url in web.get(contract.get_absolute_url()).content.decode()
    assert web.post(url, {"payment_method": "card"}).status_code == 302
    contract.refresh_from_db()
    assert contract.payment_method == "card"

    api = api_client(admin)
    changed = api.post(f"/api/v1/contracts/{contract.pk}/payment-method/", {"payment_method": "cheque"}, format="json")
    assert changed.status_code == 200 and changed.json()["payment_method"] == "cheque"
    bad = api.post(f"/api/v1/contracts/{contract.pk}/payment-method/", {"payment_method": "x"}, format="json")
    assert bad.status_code == 400 and "payment_method" in bad.json()["error"]["fields"]
