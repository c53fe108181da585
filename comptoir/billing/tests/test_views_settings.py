"""Paramètres → Facturation: one form per legal entity, the service's refusals at the field, rights, tenancy."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from comptoir.billing.models import BillingProfile
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import issued_invoice
from comptoir.core.tests.factories import LegalEntityFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


def form_data(entity, **changes):  # type: ignore[no-untyped-def]
    data = {"numbering": "yearly", "invoice_prefix": "FA", "credit_note_prefix": "AV", "payment_terms_days": "30",
            "late_penalty_rate": "12,00", "recovery_indemnity": "40,00",
            "early_payment_terms": "Pas d'escompte pour paiement anticipé.", "customer_account": "411000",
            "sales_account": "706000", "deposit_account": "165000", "vat_account_prefix": "44571",
            "sales_journal": "VE", "locked_until": "", "brand_color": "#1F4E79"}  # fmt: skip
    data.update(changes)
    return {f"entity{entity.pk}-{name}": value for name, value in data.items()}


def test_one_form_per_legal_entity(org, center, admin, staff_client):
    second = LegalEntityFactory(organization=org, name="Comptoir Lyon SAS")
    response = staff_client(admin).get(reverse("billing:settings"))
    expected = sorted([center.legal_entity, second], key=lambda entity: (entity.name, entity.pk))
    assert [entity for entity, _form in response.context["sections"]] == expected
    assert "Comptoir Lyon SAS" in response.content.decode()


def test_save_the_settings_of_an_entity(org, center, admin, staff_client):
    entity = center.legal_entity
    response = staff_client(admin).post(reverse("billing:settings_update", args=[entity.pk]),
                                        form_data(entity, payment_terms_days="45", invoice_prefix="FC",
                                                  brand_color="#AA0000", locked_until="2026-10-31"))  # fmt: skip
    assert response.status_code == 302
    profile = BillingProfile.objects.get(legal_entity=entity)
    assert (profile.payment_terms_days, profile.invoice_prefix, profile.brand_color, profile.locked_until) == (
        45, "FC", "#AA0000", datetime.date(2026, 10, 31))  # fmt: skip


def test_refusals_show_at_their_field_and_change_nothing(org, center, admin, staff_client):
    entity = center.legal_entity
    issued_invoice(org, center=center)
    profile = services.billing_profile(entity)
    profile.locked_until = datetime.date(2026, 1, 31)
    profile.save()
    web = staff_client(admin)
    url = reverse("billing:settings_update", args=[entity.pk])
    prefix = web.post(url, form_data(entity, invoice_prefix="XX", locked_until="2026-01-31"))
    form = prefix.context["sections"][0][1]
    assert form.errors["invoice_prefix"] == ["La numérotation ne peut plus changer : des documents ont déjà été émis."]
    unlock = web.post(url, form_data(entity, locked_until="2025-12-31"))
    assert unlock.context["sections"][0][1].errors["locked_until"] == [
        "Une période verrouillée ne peut pas être déverrouillée."
    ]
    too_long = web.post(url, form_data(entity, payment_terms_days="90", locked_until="2026-01-31"))
    assert list(too_long.context["sections"][0][1].errors) == ["payment_terms_days"]
    colour = web.post(url, form_data(entity, brand_color="red", locked_until="2026-01-31"))
    assert list(colour.context["sections"][0][1].errors) == ["brand_color"]
    profile.refresh_from_db()
    assert (profile.invoice_prefix, profile.locked_until, profile.payment_terms_days, profile.brand_color) == (
        "FA", datetime.date(2026, 1, 31), 30, "#1F4E79")  # fmt: skip
    assert profile.late_penalty_rate == Decimal("12.00")


def test_manager_sees_but_cannot_change(org, center, staff_of, staff_client):
    web = staff_client(staff_of("manager"))
    page = web.get(reverse("billing:settings"))
    assert page.status_code == 200 and "<fieldset disabled>" in page.content.decode()
    entity = center.legal_entity
    assert web.post(reverse("billing:settings_update", args=[entity.pk]),
                    form_data(entity, invoice_prefix="ZZ")).status_code == 403  # fmt: skip
    assert services.billing_profile(entity).invoice_prefix == "FA"
    assert staff_client(staff_of("reception")).get(reverse("billing:settings")).status_code == 403


def test_another_organizations_entity_is_unknown(org, other_org, admin, staff_client):
    foreign = LegalEntityFactory(organization=other_org)
    response = staff_client(admin).post(reverse("billing:settings_update", args=[foreign.pk]),
                                        form_data(foreign, invoice_prefix="ZZ"))  # fmt: skip
    assert response.status_code == 404
    assert not BillingProfile.objects.filter(legal_entity=foreign, invoice_prefix="ZZ").exists()
