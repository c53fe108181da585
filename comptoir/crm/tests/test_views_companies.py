"""Back office pages of companies (prospects / clients), their members and the job functions list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.core.models import AuditEntry
from comptoir.crm import services
from comptoir.crm.models import Company, Contact, JobFunction
from comptoir.crm.tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    JobFunctionFactory,
    OpportunityFactory,
)
from comptoir.crm.views import companies as company_views

pytestmark = pytest.mark.django_db

SIRET = "73282932000074"
OTHER_SIRET = "55208131766522"


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(message) for message in response.context["messages"]] if response.context else []


def journal_count(obj) -> int:  # type: ignore[no-untyped-def]
    return AuditEntry.objects.for_object(obj).count()


@pytest.fixture
def company(org, admin, center):  # type: ignore[no-untyped-def]
    return services.create_company(
        organization=org,
        by=admin,
        data={"name": "Atelier Dupont", "center": center},
        main_contact={"first_name": "Jeanne", "last_name": "Dupont", "email": "jeanne@dupont.test", "phone": "0612345678"},
    )  # fmt: skip


@pytest.fixture
def client_company(org, admin):  # type: ignore[no-untyped-def]
    return services.create_company(organization=org, by=admin, data={"name": "Studio Client"}, kind="client")


# --------------------------------------------------------------------------------------------------
# Rights matrix
# --------------------------------------------------------------------------------------------------
def page_urls(company: Company, contact: Contact, function: JobFunction) -> dict[str, str]:
    return {
        "list": reverse("crm:company_list"),
        "prospects": reverse("crm:prospect_list"),
        "clients": reverse("crm:client_list"),
        "create": reverse("crm:company_create"),
        "detail": reverse("crm:company_detail", args=[company.pk]),
        "edit": reverse("crm:company_edit", args=[company.pk]),
        "delete": reverse("crm:company_delete", args=[company.pk]),
        "members": reverse("crm:company_members", args=[company.pk]),
        "contact_create": reverse("crm:company_contact_create", args=[company.pk]),
        "contact_detail": reverse("crm:contact_detail", args=[contact.pk]),
        "contact_edit": reverse("crm:contact_edit", args=[contact.pk]),
        "contact_delete": reverse("crm:contact_delete", args=[contact.pk]),
        "jobfunction_list": reverse("crm:jobfunction_list"),
        "jobfunction_create": reverse("crm:jobfunction_create"),
        "jobfunction_edit": reverse("crm:jobfunction_edit", args=[function.pk]),
    }


ALL_PAGES = {
    "list", "prospects", "clients", "create", "detail", "edit", "delete", "members", "contact_create",
    "contact_detail", "contact_edit", "contact_delete", "jobfunction_list", "jobfunction_create", "jobfunction_edit",
}  # fmt: skip
ALLOWED = {
    "administrator": ALL_PAGES,
    "manager": ALL_PAGES,
    # reception: company vac, contact vac, job functions v
    "reception": ALL_PAGES - {"delete", "contact_delete", "jobfunction_create", "jobfunction_edit"},
    # technician: company v, contact v, no job functions
    "technician": {"list", "prospects", "clients", "detail", "members", "contact_detail"},
}


@pytest.mark.parametrize("kind", sorted(ALLOWED))
def test_each_predefined_role_opens_exactly_the_pages_of_its_rights(kind, org, staff_of, staff_client, company):
    contact = company.contacts.get()
    function = JobFunctionFactory(organization=org, name="Juridique")
    client = staff_client(staff_of(kind))

    statuses = {name: client.get(url).status_code for name, url in page_urls(company, contact, function).items()}

    assert statuses == {name: 200 if name in ALLOWED[kind] else 403 for name in ALL_PAGES}


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("crm:company_convert", {}),
        ("crm:company_archive", {"archived": "1"}),
        ("crm:company_delete", {}),
    ],
)
def test_a_technician_cannot_change_a_company_by_post(url_name, data, staff_of, staff_client, company):
    client = staff_client(staff_of("technician"))

    response = client.post(reverse(url_name, args=[company.pk]), data)

    assert response.status_code == 403
    company.refresh_from_db()
    assert company.kind == "prospect" and not company.is_archived


def test_reception_cannot_delete_a_member(staff_of, staff_client, company):
    contact = company.contacts.get()

    response = staff_client(staff_of("reception")).post(reverse("crm:contact_delete", args=[contact.pk]))

    assert response.status_code == 403 and Contact.objects.filter(pk=contact.pk).exists()


def test_the_last_activity_column_shows_only_to_who_may_see_activities(staff_of, staff_client, company):
    def keys(kind: str) -> list[str]:
        response = staff_client(staff_of(kind)).get(reverse("crm:company_list"))
        return [header.column.key for header in response.context["headers"]]

    assert "last_activity_at" in keys("reception")
    assert "last_activity_at" not in keys("technician") and "member_count" in keys("technician")


def test_a_portal_user_of_a_client_company_gets_403(org, admin, staff_client, company):
    contact = services.activate_contact_account(contact=company.contacts.get(), by=admin)
    client = staff_client(contact.user)

    for url in (reverse("crm:company_list"), company.get_absolute_url(), contact.get_absolute_url()):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_the_login_page(client, company):
    response = client.get(reverse("crm:company_detail", args=[company.pk]))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_menu_shows_the_directory_and_job_functions_by_right(staff_of, staff_client):
    def names(kind: str) -> set[str]:
        response = staff_client(staff_of(kind)).get(reverse("crm:company_list"))
        return {entry.url_name for section in response.context["menu"] for entry in section["entries"]}

    directory = {"crm:company_list", "crm:prospect_list", "crm:client_list"}
    assert directory | {"crm:jobfunction_list"} <= names("administrator")
    assert directory <= names("technician") and "crm:jobfunction_list" not in names("technician")


# --------------------------------------------------------------------------------------------------
# Creation (short form)
# --------------------------------------------------------------------------------------------------
def test_create_company_with_its_main_contact(org, admin, center, staff_client):
    client = staff_client(admin)

    response = client.post(
        reverse("crm:company_create"),
        {
            "legal_type": "company", "kind": "prospect", "name": "Atelier Martin", "center": center.pk,
            "first_name": "Paul", "last_name": "Martin", "email": "Paul@Martin.test", "phone": "06 11 22 33 44",
        },
    )  # fmt: skip

    company = Company.objects.get(organization=org, name="Atelier Martin")
    assert response.status_code == 302 and response["Location"] == company.get_absolute_url()
    assert company.reference == "PR-000001" and company.center == center and company.status == "prospect"
    member = company.contacts.get()
    assert (member.full_name, member.email, member.is_main, member.company_role) == (
        "Paul Martin", "paul@martin.test", True, "administrator",
    )  # fmt: skip


def test_create_company_needs_only_its_name(org, admin, staff_client):
    response = staff_client(admin).post(reverse("crm:company_create"), {"legal_type": "company", "kind": "client",
                                                                         "name": "Nuage SAS"})  # fmt: skip

    company = Company.objects.get(organization=org)
    assert response.status_code == 302
    assert company.reference == "CL-000001" and company.status == "active" and not company.contacts.exists()


def test_create_individual_customer_in_one_step(org, admin, staff_client):
    response = staff_client(admin).post(
        reverse("crm:company_create"),
        {"legal_type": "individual", "kind": "prospect", "first_name": "Léa", "last_name": "Roux",
         "email": "lea@roux.test"},
    )  # fmt: skip

    company = Company.objects.get(organization=org)
    assert response.status_code == 302
    assert company.name == "Léa Roux" and company.legal_type == "individual" and company.email == "lea@roux.test"
    assert company.contacts.get().is_main


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"legal_type": "company", "kind": "prospect", "name": ""}, "name", "La raison sociale est obligatoire."),
        ({"legal_type": "individual", "kind": "prospect", "first_name": "Léa"}, "last_name",
         "Le nom est obligatoire pour un particulier."),
        ({"legal_type": "company", "kind": "prospect", "name": "A", "email": "a@b.test"}, "last_name",
         "Le nom du contact principal est obligatoire."),
        ({"legal_type": "company", "kind": "prospect", "name": "A", "last_name": "B", "email": "pas-un-email"},
         "email", "Saisissez une adresse e-mail valide."),
    ],
)  # fmt: skip
def test_create_refuses_bad_input_at_the_field_and_creates_nothing(data, field, message, org, admin, staff_client):
    response = staff_client(admin).post(reverse("crm:company_create"), data)

    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not Company.objects.filter(organization=org).exists()


def test_create_refuses_an_invalid_phone_at_the_field(org, admin, staff_client):
    response = staff_client(admin).post(
        reverse("crm:company_create"),
        {"legal_type": "company", "kind": "prospect", "name": "A", "last_name": "B", "phone": "12"},
    )

    assert response.status_code == 200 and response.context["form"].errors["phone"]
    assert not Company.objects.filter(organization=org).exists()


# --------------------------------------------------------------------------------------------------
# The company's page
# --------------------------------------------------------------------------------------------------
def test_detail_shows_reference_status_figures_tabs_and_timeline(org, admin, staff_client, company):
    OpportunityFactory(company=company, estimated_amount="1500.00", stage="qualified")
    OpportunityFactory(company=company, estimated_amount="900.00", stage="lost")

    response = staff_client(admin).get(company.get_absolute_url())

    page = html(response)
    assert "PR-000001" in page and "text-bg-warning" in page and "Transformer en client" in page
    figures = response.context["figures"]
    assert figures["member_count"] == 1 and figures["open_opportunity_count"] == 1
    assert figures["open_opportunity_amount"] == Decimal("1500.00")
    tab_keys = [tab.key for tab in response.context["tabs"]]
    assert tab_keys[:2] == ["info", "members"] and tab_keys[-1] == "history"
    assert response.context["tabs"][1].count == 1
    assert {"quotes", "contracts"} <= set(tab_keys)  # added by the sales app
    assert [item.entry.action for item in response.context["timeline"]][-1] == "company.created"


def test_a_tab_whose_view_does_not_exist_is_not_shown(admin, staff_client, company, monkeypatch):
    monkeypatch.setattr(
        company_views, "COMPANY_TABS", [*company_views.COMPANY_TABS, ("missing", "Absent", "crm:company_missing")]
    )

    response = staff_client(admin).get(company.get_absolute_url())

    assert "missing" not in [tab.key for tab in response.context["tabs"]]


def test_technician_sees_no_action_button_and_no_opportunity_figures(staff_of, staff_client, company):
    response = staff_client(staff_of("technician")).get(company.get_absolute_url())

    page = html(response)
    assert response.status_code == 200
    assert "Transformer en client" not in page and reverse("crm:company_edit", args=[company.pk]) not in page
    assert "open_opportunity_count" not in response.context["figures"]


def test_members_tab_lists_the_members_as_a_partial_for_htmx(admin, staff_client, company):
    ContactFactory(company=company, first_name="Marc", last_name="Zola")
    client = staff_client(admin)

    partial = client.get(reverse("crm:company_members", args=[company.pk]), HTTP_HX_REQUEST="true")
    full = client.get(reverse("crm:company_members", args=[company.pk]))

    assert "Jeanne Dupont" in html(partial) and "Marc Zola" in html(partial) and "<html" not in html(partial)
    assert "<html" in html(full)


# --------------------------------------------------------------------------------------------------
# Edition
# --------------------------------------------------------------------------------------------------
def edit_data(company: Company, **changes: object) -> dict[str, object]:
    data = {
        "name": company.name, "legal_type": company.legal_type, "legal_form": "", "siren": "", "siret": "",
        "vat_number": "", "website": "", "phone": "", "email": "", "sector": "", "center": company.center_id or "",
        "account_manager": "", "marketing_source": "", "subject_to_vat": "on", "default_payment_method": "transfer",
        "address_line1": "", "address_line2": "", "postal_code": "", "city": "", "country": "FR",
    }  # fmt: skip
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_edit_saves_the_full_form(admin, staff_client, company):
    response = staff_client(admin).post(
        reverse("crm:company_edit", args=[company.pk]),
        edit_data(company, siret=SIRET, vat_number="FR44732829320", account_manager=admin.pk, group_invoices="on",
                  invoice_delivery_methods=["email_pdf", "chorus_pro"], city="Lyon"),
    )  # fmt: skip

    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.siret, company.vat_number, company.account_manager, company.city) == (
        SIRET, "FR44732829320", admin, "Lyon",
    )  # fmt: skip
    assert company.group_invoices and company.invoice_delivery_methods == ["email_pdf", "chorus_pro"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"siret": "73282932000075"}, "siret"),
        ({"vat_number": "FR00123456789"}, "vat_number"),
        ({"email": "pas-un-email"}, "email"),
        ({"phone": "12"}, "phone"),
    ],
)
def test_edit_refuses_invalid_identifiers_at_the_field_and_changes_nothing(
    changes, field, admin, staff_client, company
):
    before = journal_count(company)

    response = staff_client(admin).post(reverse("crm:company_edit", args=[company.pk]), edit_data(company, **changes))

    assert response.status_code == 200 and response.context["form"].errors[field]
    company.refresh_from_db()
    assert getattr(company, field) == "" and journal_count(company) == before


def test_edit_refuses_a_duplicate_siret_at_its_field(org, admin, staff_client, company):
    services.create_company(organization=org, by=admin, data={"name": "Autre", "siret": SIRET})

    response = staff_client(admin).post(reverse("crm:company_edit", args=[company.pk]), edit_data(company, siret=SIRET))

    assert response.context["form"].errors["siret"] == ["Une entreprise de votre organisation a déjà ce SIRET."]
    company.refresh_from_db()
    assert company.siret == ""


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------
def test_convert_to_client_keeps_the_number_and_is_refused_twice(admin, staff_client, company):
    client = staff_client(admin)
    url = reverse("crm:company_convert", args=[company.pk])

    client.post(url)
    company.refresh_from_db()
    before = journal_count(company)
    response = client.post(url, follow=True)

    assert company.reference == "CL-000001" and company.status == "active"
    assert "Cette entreprise est déjà cliente." in messages_of(response)
    company.refresh_from_db()
    assert company.kind == "client" and journal_count(company) == before


def test_convert_answers_405_to_get(admin, staff_client, company):
    assert staff_client(admin).get(reverse("crm:company_convert", args=[company.pk])).status_code == 405


def test_suspend_and_reactivate_a_client(admin, staff_client, client_company):
    client = staff_client(admin)
    url = reverse("crm:company_status", args=[client_company.pk])

    client.post(url, {"status": "suspended"})
    client_company.refresh_from_db()
    assert client_company.status == "suspended"
    page = html(client.get(client_company.get_absolute_url()))
    assert "Réactiver" in page and "text-bg-secondary" in page

    client.post(url, {"status": "active"})
    client_company.refresh_from_db()
    assert client_company.status == "active"


def test_set_a_client_inactive_shows_a_red_badge(admin, staff_client, client_company):
    client = staff_client(admin)

    client.post(reverse("crm:company_status", args=[client_company.pk]), {"status": "inactive"})

    client_company.refresh_from_db()
    assert client_company.status == "inactive"
    assert '<span class="badge rounded-pill text-bg-danger">Inactif</span>' in html(
        client.get(client_company.get_absolute_url())
    )


def test_a_prospect_cannot_be_suspended(admin, staff_client, company):
    response = staff_client(admin).post(
        reverse("crm:company_status", args=[company.pk]), {"status": "suspended"}, follow=True
    )

    assert "Un prospect n'a pas ce statut : transformez-le d'abord en client." in messages_of(response)
    company.refresh_from_db()
    assert company.status == "prospect"


def test_archive_hides_the_company_from_the_list_until_asked(admin, staff_client, company):
    client = staff_client(admin)

    client.post(reverse("crm:company_archive", args=[company.pk]), {"archived": "1"})

    company.refresh_from_db()
    assert company.is_archived
    assert [row.obj for row in client.get(reverse("crm:company_list")).context["rows"]] == []
    archived = client.get(reverse("crm:company_list"), {"archived": "only"})
    assert [row.obj for row in archived.context["rows"]] == [company]
    client.post(reverse("crm:company_archive", args=[company.pk]), {"archived": "0"})
    company.refresh_from_db()
    assert not company.is_archived


def test_delete_a_company_with_history_is_refused_with_the_reason(admin, staff_client, company):
    OpportunityFactory(company=company)
    client = staff_client(admin)

    confirm = client.get(reverse("crm:company_delete", args=[company.pk]))
    response = client.post(reverse("crm:company_delete", args=[company.pk]), follow=True)

    assert "elle a des opportunités" in html(confirm)
    assert "Impossible de supprimer cette entreprise : elle a des opportunités. Archivez-la plutôt." in messages_of(
        response
    )
    assert Company.objects.filter(pk=company.pk).exists() and company.contacts.count() == 1


def test_delete_a_company_without_history(org, admin, staff_client, company):
    response = staff_client(admin).post(reverse("crm:company_delete", args=[company.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("crm:company_list")
    assert not Company.objects.filter(organization=org).exists()


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def add_companies(org, count: int, start: int = 0) -> None:  # type: ignore[no-untyped-def]
    for index in range(start, start + count):
        company = CompanyFactory(organization=org, number=1000 + index, kind="client" if index % 2 else "prospect")
        ContactFactory(company=company, is_main=True)
        ContactFactory(company=company)
        ActivityFactory(company=company)


def count_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_company_list_makes_the_same_queries_for_10_or_200_companies(
    org, admin, staff_client, django_assert_num_queries
):
    client = staff_client(admin)
    url = reverse("crm:company_list")
    add_companies(org, 10)
    client.get(url)
    with_10 = count_queries(client, url)
    add_companies(org, 190, start=10)

    with django_assert_num_queries(with_10):
        response = client.get(url)

    rows = response.context["rows"]
    assert len(rows) == 50 and response.context["count"] == 200
    assert rows[0].obj.member_count == 2 and rows[0].obj.main_contact_name and rows[0].obj.last_activity_at


def test_list_columns_show_main_contact_members_and_last_activity(admin, staff_client, company):
    ContactFactory(company=company)
    ActivityFactory(company=company)

    response = staff_client(admin).get(reverse("crm:company_list"))

    row = response.context["rows"][0].obj
    assert (row.reference_text, row.main_contact_name, row.member_count) == ("PR-000001", "Jeanne Dupont", 2)
    assert row.last_activity_at is not None


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("Dupont", True),
        ("PR-000001", True),
        ("pr-000001", True),
        ("jeanne@dupont", True),
        ("12 34", True),
        ("+33 6 12 34", True),
        ("0612", True),
        ("Inconnu", False),
        ("99 99", False),
    ],
)
def test_search_by_name_reference_email_and_phone_digits(search, found, admin, staff_client, company, client_company):
    response = staff_client(admin).get(reverse("crm:company_list"), {"q": search})

    assert [row.obj for row in response.context["rows"]] == ([company] if found else [])


def test_filters_and_kind_lists(admin, staff_client, center, company, client_company):
    client = staff_client(admin)

    def listed(url: str, **params: object) -> list[Company]:
        return [row.obj for row in client.get(url, params).context["rows"]]

    assert listed(reverse("crm:company_list"), kind="client") == [client_company]
    assert listed(reverse("crm:company_list"), status="prospect") == [company]
    assert listed(reverse("crm:company_list"), center=center.pk) == [company]
    assert listed(reverse("crm:prospect_list")) == [company]
    assert listed(reverse("crm:client_list")) == [client_company]


def test_sort_by_each_sortable_column_answers(admin, staff_client, company, client_company):
    client = staff_client(admin)

    for column in company_views.COMPANY_COLUMNS:
        if column.sort:
            for sort in (column.key, f"-{column.key}"):
                response = client.get(reverse("crm:company_list"), {"sort": sort})
                assert response.status_code == 200 and len(response.context["rows"]) == 2, sort


def test_csv_export(admin, staff_client, company):
    response = staff_client(admin).get(reverse("crm:company_list"), {"export": "csv"})

    lines = b"".join(response.streaming_content).decode("utf-8").splitlines()
    assert lines[0].lstrip("\ufeff").startswith("Référence;Nom;Contact principal;Statut")
    assert lines[1].startswith("PR-000001;Atelier Dupont;Jeanne Dupont;Prospect")


# --------------------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------------------
def contact_data(**changes: object) -> dict[str, object]:
    data = {"first_name": "Marc", "last_name": "Zola", "email": "marc@zola.test", "phone": "", "mobile": "",
            "job_function": "", "company_role": "manager", "is_active": "on"}  # fmt: skip
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_add_a_member_with_a_role_and_a_job_function(org, admin, staff_client, company):
    function = JobFunction.objects.create(organization=org, name="Comptabilité")

    response = staff_client(admin).post(
        reverse("crm:company_contact_create", args=[company.pk]),
        contact_data(job_function=function.pk, is_invoice_recipient="on"),
    )

    contact = company.contacts.get(last_name="Zola")
    assert response.status_code == 302 and response["Location"] == contact.get_absolute_url()
    assert contact.company_role == "manager" and contact.job_function == function and contact.is_invoice_recipient
    assert not contact.is_main


def test_the_member_form_explains_the_rights_of_each_role(admin, staff_client, company):
    response = staff_client(admin).get(reverse("crm:company_contact_create", args=[company.pk]))

    page = html(response)
    assert "Faire des réservations payantes" in page and "Voir les documents de l&#x27;entreprise" in page


def test_a_duplicate_member_email_is_refused_at_its_field(admin, staff_client, company):
    response = staff_client(admin).post(
        reverse("crm:company_contact_create", args=[company.pk]), contact_data(email="Jeanne@Dupont.test")
    )

    assert response.context["form"].errors["email"] == ["Un membre de cette entreprise a déjà cette adresse e-mail."]
    assert company.contacts.count() == 1


def test_edit_a_member(admin, staff_client, company):
    contact = company.contacts.get()

    response = staff_client(admin).post(
        reverse("crm:contact_edit", args=[contact.pk]),
        contact_data(first_name="Jeanne", last_name="Dupont-Roy", email="jeanne@dupont.test", company_role="user"),
    )

    contact.refresh_from_db()
    assert response.status_code == 302 and contact.last_name == "Dupont-Roy" and contact.company_role == "user"


def test_activate_the_account_of_a_member_sends_the_activation_email(
    admin, staff_client, company, mailoutbox, django_capture_on_commit_callbacks
):
    contact = company.contacts.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client(admin).post(reverse("crm:contact_activate", args=[contact.pk]))

    contact.refresh_from_db()
    assert response.status_code == 302 and contact.user is not None and contact.has_portal_access
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["jeanne@dupont.test"]


def test_activate_a_member_without_email_is_refused(admin, staff_client, company):
    contact = ContactFactory(company=company, email="")

    response = staff_client(admin).post(reverse("crm:contact_activate", args=[contact.pk]), follow=True)

    assert "Renseignez l'e-mail du membre avant d'activer son compte." in messages_of(response)
    contact.refresh_from_db()
    assert contact.user is None and not contact.has_portal_access


def test_make_another_member_the_main_contact(admin, staff_client, company):
    other = ContactFactory(company=company)

    staff_client(admin).post(reverse("crm:contact_make_main", args=[other.pk]))

    assert list(company.contacts.filter(is_main=True)) == [other]


def test_delete_the_main_member_is_refused_while_others_remain(admin, staff_client, company):
    main = company.contacts.get()
    other = ContactFactory(company=company)
    client = staff_client(admin)

    refused = client.post(reverse("crm:contact_delete", args=[main.pk]), follow=True)
    client.post(reverse("crm:contact_delete", args=[other.pk]))

    assert "Choisissez d'abord un autre contact principal." in messages_of(refused)
    assert list(company.contacts.all()) == [main]


# --------------------------------------------------------------------------------------------------
# Job functions
# --------------------------------------------------------------------------------------------------
def test_create_and_edit_a_job_function(org, admin, staff_client):
    client = staff_client(admin)

    client.post(reverse("crm:jobfunction_create"), {"name": "Juridique"})
    function = JobFunction.objects.get(organization=org, name="Juridique")
    client.post(reverse("crm:jobfunction_edit", args=[function.pk]), {"name": "Juridique", "position": 3})

    function.refresh_from_db()
    assert function.position == 3 and not function.is_active


def test_a_duplicate_job_function_is_refused_at_its_field(org, admin, staff_client):
    JobFunction.objects.create(organization=org, name="Juridique")

    response = staff_client(admin).post(reverse("crm:jobfunction_create"), {"name": "juridique"})

    assert response.context["form"].errors["name"] == ["Cette fonction existe déjà."]
    assert JobFunction.objects.filter(organization=org, name__iexact="juridique").count() == 1


def test_an_inactive_job_function_stays_on_the_members_who_have_it(org, admin, staff_client, company):
    function = JobFunction.objects.create(organization=org, name="Ancienne", is_active=False)
    contact = company.contacts.get()
    Contact.objects.filter(pk=contact.pk).update(job_function=function)
    client = staff_client(admin)

    offered = client.get(reverse("crm:company_contact_create", args=[company.pk])).context["form"]
    response = client.post(
        reverse("crm:contact_edit", args=[contact.pk]),
        contact_data(first_name="Jeanne", last_name="Dupont", email="jeanne@dupont.test", job_function=function.pk),
    )

    assert function not in offered.fields["job_function"].queryset
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.job_function == function and contact.company_role == "manager"


def test_the_journal_links_to_the_company_and_member_pages(admin, staff_client, company):
    response = staff_client(admin).get(reverse("manage:journal_list"))

    page = html(response)
    assert company.get_absolute_url() in page and company.contacts.get().get_absolute_url() in page


@pytest.fixture
def notes_column():  # type: ignore[no-untyped-def]
    """A column registered the way a higher app adds one (sales: contracts and value)."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from comptoir.core.lists import Column
    from comptoir.crm.models import Note

    def annotations():  # type: ignore[no-untyped-def]
        notes = Note.objects.filter(company=OuterRef("pk")).order_by().values("company").annotate(n=Count("pk"))
        return {"note_total": Coalesce(Subquery(notes.values("n"), output_field=IntegerField()), 0)}

    extension = company_views.CompanyListColumn(
        Column("note_total", "Notes", kind="number", sort="note_total"), "crm.view_note", annotations
    )
    company_views.register_company_list_column(extension)
    yield extension
    company_views.COMPANY_LIST_COLUMNS.remove(extension)


def test_a_registered_column_is_shown_after_its_anchor_sorted_and_exported_with_constant_queries(
    org, admin, staff_client, staff_of, notes_column, django_assert_num_queries
):
    from comptoir.crm.tests.factories import NoteFactory

    client = staff_client(admin)
    url = reverse("crm:company_list")
    add_companies(org, 5)
    NoteFactory.create_batch(3, company=Company.objects.filter(organization=org).order_by("name").last())
    response = client.get(url + "?sort=-note_total")
    keys = [header.column.key for header in response.context["headers"]]
    assert keys[keys.index("member_count") + 1] == "note_total"
    assert response.context["rows"][0].obj.note_total == 3
    with_5 = count_queries(client, url)
    add_companies(org, 60, start=5)
    with django_assert_num_queries(with_5):
        client.get(url)
    assert "Notes" in client.get(url + "?export=csv").getvalue().decode("utf-8-sig").splitlines()[0]
    # without the column's right, neither the column nor its subquery
    technician = staff_of("technician")
    response = staff_client(technician).get(url)
    assert "note_total" not in [header.column.key for header in response.context["headers"]]
