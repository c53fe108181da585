"""Every write of the CRM: companies, contacts, job functions (and, below, the pipeline, notes, actions).

Keyword-only functions that check the actor's rights, validate, run in one transaction and write the
audit journal. The back office views and the API call these and nothing else to change CRM data.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core import events, journal, numbering, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.core.services import CONSTRAINT_FIELDS, apply_changes, validate
from comptoir.crm.models import Company, Contact, JobFunction, phone_digits

CONSTRAINT_FIELDS.update({"duplicate_siret": "siret", "duplicate_email": "email"})

DEFAULT_JOB_FUNCTIONS = ["Direction", "Commercial", "Technique", "Administratif", "Facturation"]

COMPANY_FIELDS = [
    "name", "legal_type", "legal_form", "siren", "siret", "vat_number", "website", "phone", "email", "sector",
    "center", "account_manager", "marketing_source", "group_invoices", "subject_to_vat", "default_payment_method",
    "invoice_delivery_methods", "address_line1", "address_line2", "postal_code", "city", "country",
]  # fmt: skip
CONTACT_FIELDS = [
    "first_name", "last_name", "email", "phone", "mobile", "job_function", "company_role", "is_active",
    "is_invoice_recipient", "has_portal_access",
]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _normalize_company(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    for name in ("siren", "siret", "vat_number"):
        if isinstance(data.get(name), str):
            data[name] = data[name].replace(" ", "").replace(".", "").upper()
    if isinstance(data.get("email"), str):
        data["email"] = data["email"].strip().lower()
    if isinstance(data.get("country"), str):
        data["country"] = data["country"].upper() or "FR"
    if "invoice_delivery_methods" in data:
        methods = list(dict.fromkeys(data["invoice_delivery_methods"] or []))
        unknown = set(methods) - set(Company.DeliveryMethod.values)
        if unknown:
            raise ValidationFailed(_("Méthode d'envoi inconnue."), code="invalid", field="invoice_delivery_methods")
        data["invoice_delivery_methods"] = methods
    return data


def _check_company_references(company: Company) -> None:
    """Related rows must belong to the company's organization (and the manager be its staff)."""
    org_id = company.organization_id
    for field in ("center", "marketing_source"):
        related = getattr(company, field)
        if related is not None and related.organization_id != org_id:
            raise ValidationFailed(_("Objet inconnu."), code="not_found", field=field)
    if company.account_manager is not None and not rights.is_staff_of(company.account_manager, org_id):
        raise ValidationFailed(
            _("Le chargé de compte doit faire partie du staff."), code="not_staff", field="account_manager"
        )


def _check_siret_unique(company: Company) -> None:
    if company.siret and (
        Company.objects.filter(organization_id=company.organization_id, siret=company.siret)
        .exclude(pk=company.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("Une entreprise de votre organisation a déjà ce SIRET."), code="duplicate_siret", field="siret"
        )


def _save_company(company: Company) -> None:
    company.phone_digits = phone_digits(company.phone)
    company.updated_at = timezone.now()
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as exc:  # a concurrent insert with the same SIRET
        raise ValidationFailed(
            _("Une entreprise de votre organisation a déjà ce SIRET."), code="duplicate_siret", field="siret"
        ) from exc


def _save_contact(contact: Contact) -> None:
    contact.phone_digits = phone_digits(contact.phone)
    contact.mobile_digits = phone_digits(contact.mobile)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            _("Un membre de cette entreprise a déjà cette adresse e-mail."), code="duplicate_email", field="email"
        ) from exc


def _check_contact(contact: Contact) -> None:
    if contact.job_function is not None and contact.job_function.organization_id != contact.organization_id:
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field="job_function")
    if contact.email and (
        Contact.objects.filter(company_id=contact.company_id, email__iexact=contact.email)
        .exclude(pk=contact.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("Un membre de cette entreprise a déjà cette adresse e-mail."), code="duplicate_email", field="email"
        )
    if contact.has_portal_access and not contact.email:
        raise ValidationFailed(
            _("Un accès à l'espace client demande une adresse e-mail."), code="email_required", field="email"
        )


def _normalize_contact(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if isinstance(data.get("email"), str):
        data["email"] = data["email"].strip().lower()
    for name in ("first_name", "last_name"):
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data


# --------------------------------------------------------------------------------------------------
# Job functions (per-organization list)
# --------------------------------------------------------------------------------------------------
def seed_job_functions(*, organization: Organization) -> None:
    for position, name in enumerate(DEFAULT_JOB_FUNCTIONS):
        JobFunction.objects.get_or_create(organization=organization, name=name, defaults={"position": position})


def _on_organization_created(*, organization: Organization, **_payload: Any) -> None:
    seed_job_functions(organization=organization)


events.subscribe("organization.created", _on_organization_created, order=10)


@transaction.atomic
def create_job_function(*, organization: Organization, by: User, name: str) -> JobFunction:
    rights.require(by, "crm.add_jobfunction", organization)
    function = JobFunction(organization=organization, name=name.strip(), position=JobFunction.objects.filter(
        organization=organization).count())  # fmt: skip
    validate(function, exclude=["organization"])
    if JobFunction.objects.filter(organization=organization, name__iexact=function.name).exists():
        raise ValidationFailed(_("Cette fonction existe déjà."), code="duplicate", field="name")
    function.save()
    journal.record(actor=by, action="job_function.created", obj=function)
    return function


@transaction.atomic
def update_job_function(*, function: JobFunction, by: User, data: dict[str, Any]) -> JobFunction:
    rights.require(by, "crm.change_jobfunction", function.organization_id)
    function = JobFunction.objects.select_for_update().get(pk=function.pk)
    changes = apply_changes(function, data, ["name", "position", "is_active"])
    if changes:
        if (
            JobFunction.objects.filter(organization_id=function.organization_id, name__iexact=function.name)
            .exclude(pk=function.pk)
            .exists()
        ):
            raise ValidationFailed(_("Cette fonction existe déjà."), code="duplicate", field="name")
        function.save()
        journal.record(actor=by, action="job_function.updated", obj=function, changes=changes)
    return function


# --------------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_company(
    *,
    organization: Organization,
    by: User,
    data: dict[str, Any],
    main_contact: dict[str, Any] | None = None,
    kind: str = Company.Kind.PROSPECT,
) -> Company:
    """A prospect (or a client); the main contact entered at creation becomes its first member."""
    rights.require(by, "crm.add_company", organization)
    if kind not in Company.Kind.values:
        raise ValidationFailed(_("Type inconnu."), code="invalid", field="kind")
    company = Company(organization=organization, kind=kind, number=0)
    apply_changes(company, _normalize_company(data), COMPANY_FIELDS)
    _check_company_references(company)
    _check_siret_unique(company)
    company.number = numbering.next_number(organization=organization, series="company")
    company.status = Company.Status.ACTIVE if kind == Company.Kind.CLIENT else Company.Status.PROSPECT
    if kind == Company.Kind.CLIENT:
        company.converted_at = timezone.now()
    _save_company(company)
    journal.record(actor=by, action="company.created", obj=company, changes=journal.snapshot(company, COMPANY_FIELDS))
    if main_contact:
        contact_data = {"company_role": Contact.CompanyRole.ADMINISTRATOR, **main_contact}
        add_contact(company=company, by=by, data=contact_data, is_main=True)
    return company


@transaction.atomic
def create_individual_customer(
    *, organization: Organization, by: User, person: dict[str, Any], data: dict[str, Any] | None = None,
    kind: str = Company.Kind.PROSPECT,
) -> Company:  # fmt: skip
    """A freelancer or private person: a company of legal type "individual" with its one member, in one step."""
    last_name = (person.get("last_name") or "").strip()
    if not last_name:
        raise ValidationFailed(_("Le nom est obligatoire."), code="required", field="last_name")
    name = f"{(person.get('first_name') or '').strip()} {last_name}".strip()
    company_data = {
        "name": name,
        "legal_type": Company.LegalType.INDIVIDUAL,
        "email": person.get("email", ""),
        "phone": person.get("phone", "") or person.get("mobile", ""),
        **(data or {}),
    }
    return create_company(organization=organization, by=by, data=company_data, main_contact=person, kind=kind)


@transaction.atomic
def update_company(*, company: Company, by: User, data: dict[str, Any]) -> Company:
    rights.require(by, "crm.change_company", company.organization_id)
    company = Company.objects.select_for_update().get(pk=company.pk)
    changes = apply_changes(company, _normalize_company(data), COMPANY_FIELDS)
    if changes:
        _check_company_references(company)
        _check_siret_unique(company)
        _save_company(company)
        journal.record(actor=by, action="company.updated", obj=company, changes=changes)
    return company


@transaction.atomic
def convert_to_client(*, company: Company, by: User | None, reason: str = "") -> Company:
    """ "Transformer en client": PR-000123 becomes CL-000123 (the number is kept). Also called at contract
    signature (`by` may then be the signing member's staff counterpart or None for the system)."""
    if by is not None:
        rights.require(by, "crm.change_company", company.organization_id)
    company = Company.objects.select_for_update().get(pk=company.pk)
    if company.kind == Company.Kind.CLIENT:
        raise DomainError(_("Cette entreprise est déjà cliente."), code="already_client")
    if company.is_archived:
        raise DomainError(_("Une entreprise archivée ne peut pas devenir cliente."), code="archived")
    before = company.reference
    company.kind = Company.Kind.CLIENT
    company.status = Company.Status.ACTIVE
    company.converted_at = timezone.now()
    _save_company(company)
    journal.record(
        actor=by,
        action="company.converted",
        obj=company,
        changes={"reference": [before, company.reference], "kind": ["prospect", "client"]},
        message=reason,
    )
    events.publish("company.converted", company=company, by=by)
    return company


@transaction.atomic
def sync_client_status(*, company: Company, running: bool) -> Company:
    """ "Actif" means a running contract or project: the apps that own them call this (as the system) when
    one starts or ends. A client becomes active or inactive accordingly; a suspended client or a prospect
    keeps its status (suspension is the staff's decision, a prospect becomes a client by conversion)."""
    company = Company.objects.select_for_update().get(pk=company.pk)
    if company.kind != Company.Kind.CLIENT or company.status == Company.Status.SUSPENDED:
        return company
    status = Company.Status.ACTIVE if running else Company.Status.INACTIVE
    if company.status != status:
        before = company.status
        company.status = status
        _save_company(company)
        journal.record(actor=None, action="company.status_changed", obj=company, changes={"status": [before, status]})
    return company


@transaction.atomic
def set_company_status(*, company: Company, by: User, status: str) -> Company:
    """Suspend, set inactive or reactivate a client (a prospect's status follows its kind)."""
    rights.require(by, "crm.change_company", company.organization_id)
    company = Company.objects.select_for_update().get(pk=company.pk)
    allowed = {Company.Status.ACTIVE, Company.Status.INACTIVE, Company.Status.SUSPENDED}
    if status not in allowed:
        raise ValidationFailed(_("Statut invalide."), code="invalid", field="status")
    if company.kind == Company.Kind.PROSPECT:
        raise DomainError(_("Un prospect n'a pas ce statut : transformez-le d'abord en client."), code="prospect")
    if company.status != status:
        before = company.status
        company.status = status
        _save_company(company)
        journal.record(actor=by, action="company.status_changed", obj=company, changes={"status": [before, status]})
    return company


def deletion_blockers(company: Company) -> list[str]:
    """Why a company cannot be deleted (documents, pipeline...): higher apps add their reasons through
    the `company.deletion_check` event (each handler returns a reason or None)."""
    reasons = []
    if company.opportunities.exists():
        reasons.append(_("elle a des opportunités"))
    if company.activities.exists():
        reasons.append(_("elle a des activités"))
    if Contact.objects.filter(company=company, user__isnull=False).exists():
        reasons.append(_("des membres ont un compte"))
    reasons.extend(reason for reason in events.publish("company.deletion_check", company=company) if reason)
    return [str(reason) for reason in reasons]


@transaction.atomic
def delete_company(*, company: Company, by: User) -> None:
    """Only a company with no history can be deleted; otherwise it is archived (refused with the reason)."""
    rights.require(by, "crm.delete_company", company.organization_id)
    company = Company.objects.select_for_update().get(pk=company.pk)
    if reasons := deletion_blockers(company):
        raise DomainError(
            _("Impossible de supprimer cette entreprise : %(reasons)s. Archivez-la plutôt.")
            % {"reasons": ", ".join(reasons)},
            code="has_history",
        )
    journal.record(actor=by, action="company.deleted", obj=company, changes={"reference": company.reference})
    company.notes.all().delete()
    company.actions.all().delete()
    company.contacts.all().delete()
    company.delete()


@transaction.atomic
def archive_company(*, company: Company, by: User, archived: bool = True) -> Company:
    rights.require(by, "crm.change_company", company.organization_id)
    company = Company.objects.select_for_update().get(pk=company.pk)
    if company.is_archived != archived:
        company.is_archived = archived
        if archived and company.kind == Company.Kind.CLIENT:
            company.status = Company.Status.INACTIVE
        _save_company(company)
        journal.record(
            actor=by, action="company.archived" if archived else "company.unarchived", obj=company,
            changes={"is_archived": [not archived, archived]},
        )  # fmt: skip
    return company


# --------------------------------------------------------------------------------------------------
# Contacts (members)
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def add_contact(*, company: Company, by: User, data: dict[str, Any], is_main: bool = False) -> Contact:
    rights.require(by, "crm.add_contact", company.organization_id)
    contact = Contact(organization_id=company.organization_id, company=company)
    apply_changes(contact, _normalize_contact(data), CONTACT_FIELDS)
    _check_contact(contact)
    if is_main or not Contact.objects.filter(company=company, is_main=True).exists():
        contact.is_main = True
    _save_contact(contact)
    journal.record(actor=by, action="contact.added", obj=contact, organization=company.organization,
                   changes=journal.snapshot(contact, CONTACT_FIELDS))  # fmt: skip
    journal.record(actor=by, action="company.member_added", obj=company, changes={"member": contact.full_name})
    return contact


@transaction.atomic
def update_contact(*, contact: Contact, by: User, data: dict[str, Any]) -> Contact:
    rights.require(by, "crm.change_contact", contact.organization_id)
    contact = Contact.objects.select_for_update().select_related("company").get(pk=contact.pk)
    changes = apply_changes(contact, _normalize_contact(data), CONTACT_FIELDS)
    if changes:
        _check_contact(contact)
        if "email" in changes and contact.user_id:
            raise ValidationFailed(
                _("Ce membre a un compte : son e-mail de connexion ne se change pas ici."),
                code="has_account",
                field="email",
            )
        _save_contact(contact)
        journal.record(actor=by, action="contact.updated", obj=contact, changes=changes)
    return contact


@transaction.atomic
def set_main_contact(*, contact: Contact, by: User) -> Contact:
    rights.require(by, "crm.change_contact", contact.organization_id)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if not contact.is_main:
        Contact.objects.filter(company_id=contact.company_id, is_main=True).update(is_main=False)
        contact.is_main = True
        contact.save(update_fields=["is_main"])
        journal.record(actor=by, action="contact.made_main", obj=contact)
    return contact


@transaction.atomic
def activate_contact_account(*, contact: Contact, by: User) -> Contact:
    """ "Activer le compte": gives the member portal access and e-mails the activation link (workspace inside)."""
    from comptoir.core.services import _enqueue_activation

    rights.require(by, "crm.change_contact", contact.organization_id)
    contact = Contact.objects.select_for_update(of=("self",)).select_related("company", "user").get(pk=contact.pk)
    if not contact.email:
        raise ValidationFailed(
            _("Renseignez l'e-mail du membre avant d'activer son compte."), code="email_required", field="email"
        )
    if not contact.is_active:
        raise DomainError(_("Ce membre est désactivé."), code="inactive")
    user = contact.user or User.objects.filter(email__iexact=contact.email).first()
    if user is None:
        user = User(email=contact.email, first_name=contact.first_name, last_name=contact.last_name)
        user.set_unusable_password()
        validate(user, exclude=["password"])
        user.save()
    contact.user = user
    contact.has_portal_access = True
    contact.save(update_fields=["user", "has_portal_access"])
    journal.record(actor=by, action="contact.account_activated", obj=contact, changes={"user": user.email})
    if not user.has_usable_password():
        _enqueue_activation(user=user, organization=contact.company.organization)
    return contact


@transaction.atomic
def delete_contact(*, contact: Contact, by: User) -> None:
    rights.require(by, "crm.delete_contact", contact.organization_id)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.user_id:
        raise DomainError(_("Ce membre a un compte : désactivez-le plutôt."), code="has_account")
    if contact.is_main and Contact.objects.filter(company_id=contact.company_id).exclude(pk=contact.pk).exists():
        raise DomainError(_("Choisissez d'abord un autre contact principal."), code="main_contact")
    journal.record(actor=by, action="contact.deleted", obj=contact)
    contact.delete()
