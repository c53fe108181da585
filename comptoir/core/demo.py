"""The demo organization (`comptoir demo`): an operator with one legal entity, three centers and its staff.

Built through the services, in one transaction, and idempotent: each step looks its objects up by
their natural key (slug, name, code, e-mail) and creates only what is missing, so running the demo
twice changes nothing. Every app extends the demo with its own objects by registering a step:

    # comptoir/crm/demo.py (imported by `build_demo`)
    from comptoir.core.demo import DemoContext, register_demo_step

    def companies(ctx: DemoContext) -> None:
        ...  # services.create_company(organization=ctx.organization, by=ctx.administrator, ...)

    register_demo_step(200, companies)

Steps run by increasing `order` (core uses 0-99); each receives the `DemoContext` filled by the
steps before it (organization, administrator, legal entity, centers, staff).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch
from django.utils.module_loading import module_has_submodule
from schwifty import IBAN
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from comptoir.core import services
from comptoir.core.models import Center, LegalEntity, Organization, Role, StaffMembership, User

DEMO_SLUG = "demo"
DEMO_NAME = "Comptoir Démo"
DEMO_PASSWORD = "Demo-Comptoir-2026"
DEMO_EMAIL_DOMAIN = "{slug}.comptoir.test"

DemoStep = Callable[["DemoContext"], None]


@dataclass
class DemoContext:
    """What the steps share: the tenant being built and the objects made so far (looked up or created)."""

    slug: str
    name: str
    password: str = DEMO_PASSWORD
    stdout: TextIO | None = None
    organization: Organization = None  # type: ignore[assignment]  # set by the first core step
    administrator: User = None  # type: ignore[assignment]
    legal_entity: LegalEntity = None  # type: ignore[assignment]
    centers: dict[str, Center] = field(default_factory=dict)  # by code
    staff: dict[str, User] = field(default_factory=dict)  # by role kind
    portal_logins: list[tuple[str, str, str]] = field(default_factory=list)  # (label, e-mail, password), by apps
    created: dict[str, int] = field(default_factory=dict)  # what this run created, by kind of object

    @property
    def email_domain(self) -> str:
        return DEMO_EMAIL_DOMAIN.format(slug=self.slug)

    def created_one(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    def log(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message + "\n")


# --------------------------------------------------------------------------------------------------
# Registry of steps
# --------------------------------------------------------------------------------------------------
_steps: list[tuple[int, str, DemoStep]] = []


def register_demo_step(order: int, fn: DemoStep) -> DemoStep:
    """Add `fn(ctx)` to the demo, run after the steps of lower `order`. Registering twice is a no-op."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    if not any(registered == name for _order, registered, _fn in _steps):
        _steps.append((order, name, fn))
    return fn


def demo_steps() -> list[tuple[int, str, DemoStep]]:
    """Every registered step, in running order (after importing each Comptoir app's `demo` module)."""
    for config in apps.get_app_configs():
        if config.name.startswith("comptoir.") and module_has_submodule(config.module, "demo"):
            importlib.import_module(f"{config.name}.demo")
    return sorted(_steps, key=lambda step: step[0])


def build_demo(
    *, slug: str = DEMO_SLUG, name: str | None = None, password: str = DEMO_PASSWORD, stdout: TextIO | None = None
) -> DemoContext:
    """Build (or complete) the demo organization `slug`; returns the context with what was created."""
    if name is None:
        name = DEMO_NAME if slug == DEMO_SLUG else f"{DEMO_NAME} ({slug})"
    ctx = DemoContext(slug=slug, name=name, password=password, stdout=stdout)
    with transaction.atomic():
        for _order, step_name, step in demo_steps():
            ctx.log(f"· {step_name}")
            step(ctx)
    return ctx


def login_url() -> str:
    try:
        path = resolve_url(settings.LOGIN_URL)
    except NoReverseMatch:  # the accounts URLs are not mounted (minimal URL configuration)
        path = "/accounts/login/"
    return settings.SITE_URL + path


# --------------------------------------------------------------------------------------------------
# French identifiers, valid and derived from the slug (each tenant gets its own, the same every run)
# --------------------------------------------------------------------------------------------------
def _digits(slug: str, purpose: str, length: int) -> str:
    number = int(hashlib.sha256(f"{slug}:{purpose}".encode()).hexdigest(), 16)
    return str(number % 10**length).zfill(length)


def french_identifiers(slug: str) -> dict[str, str]:
    """SIREN and SIRET with their Luhn keys, FR VAT number of the SIREN, IBAN (with RIB key), BIC, SEPA ICS."""
    siren_body = "8" + _digits(slug, "siren", 7)  # 8xx xxx xxx: like a recent company
    siren = siren_body + luhn.calc_check_digit(siren_body)
    nic_body = "0001"  # the head office: NIC = 4 digits + a key that makes the whole SIRET pass Luhn
    siret = siren + nic_body + luhn.calc_check_digit(siren + nic_body)
    vat_key = (12 + 3 * (int(siren) % 97)) % 97
    vat_number = f"FR{vat_key:02d}{siren}"
    iban = IBAN.generate("FR", bank_code="30004" + "00828", account_code=_digits(slug, "account", 11))
    national_id = _digits(slug, "ics", 6)
    ics = "FR" + mod_97_10.calc_check_digits(national_id + "FR") + "ZZZ" + national_id
    return {
        "siren": siren,
        "siret": siret,
        "vat_number": vat_number,
        "iban": iban.compact,
        "bic": "BNPAFRPPXXX",
        "sepa_creditor_id": ics,
    }


# --------------------------------------------------------------------------------------------------
# Core steps
# --------------------------------------------------------------------------------------------------
CENTERS = [
    {
        "code": "paris-opera",
        "name": "Paris Opéra",
        "address_line1": "27 avenue de l'Opéra",
        "postal_code": "75001",
        "city": "Paris",
        "phone": "+33 1 42 60 27 00",
        "saturday": (datetime.time(9), datetime.time(13)),
    },
    {
        "code": "lyon-part-dieu",
        "name": "Lyon Part-Dieu",
        "address_line1": "112 cours Lafayette",
        "postal_code": "69003",
        "city": "Lyon",
        "phone": "+33 4 78 62 11 20",
    },
    {
        "code": "bordeaux-chartrons",
        "name": "Bordeaux Chartrons",
        "address_line1": "45 quai des Chartrons",
        "postal_code": "33000",
        "city": "Bordeaux",
        "phone": "+33 5 56 44 45 00",
    },
]
WEEKDAY_HOURS = (datetime.time(8), datetime.time(19))

STAFF = [
    # (role kind, e-mail local part, first name, last name, job title, limited to these center codes)
    (Role.Kind.ADMINISTRATOR, "admin", "Claire", "Martin", "Directrice", ()),
    (Role.Kind.MANAGER, "manager", "Julien", "Bernard", "Responsable des centres", ()),
    (Role.Kind.RECEPTION, "reception", "Sophie", "Petit", "Chargée d'accueil", ("paris-opera",)),
    (Role.Kind.TECHNICIAN, "technician", "Karim", "Haddad", "Technicien de maintenance", ()),
]


def organization_and_administrator(ctx: DemoContext) -> None:
    """The tenant (with its predefined roles) and its first administrator, who then acts in every service."""
    organization = Organization.objects.filter(slug=ctx.slug).first()
    if organization is None:
        organization = services.create_organization(
            name=ctx.name,
            slug=ctx.slug,
            email=f"contact@{ctx.email_domain}",
            phone="+33 1 42 60 27 00",
            website=f"https://{ctx.email_domain}",
        )
        ctx.created_one("organizations")
    ctx.organization = organization

    kind, local, first_name, last_name, job_title, _centers = STAFF[0]
    email = f"{local}@{ctx.email_domain}"
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, first_name=first_name, last_name=last_name)
        ctx.created_one("users")
    if not StaffMembership.objects.filter(organization=organization, user=user).exists():
        services.add_first_administrator(
            organization=organization, email=email, job_title=job_title, send_activation=False
        )
        ctx.created_one("staff members")
    _set_demo_password(ctx, user)
    ctx.administrator = user
    ctx.staff[kind] = user


def _set_demo_password(ctx: DemoContext, user: User) -> None:
    if not user.check_password(ctx.password) or not user.is_active:
        services.activate_account(user=user, password=ctx.password)
        ctx.created_one("passwords set")


def legal_entity(ctx: DemoContext) -> None:
    name = f"{ctx.name} SAS"
    entity = LegalEntity.objects.filter(organization=ctx.organization, name=name).first()
    if entity is None:
        identifiers = french_identifiers(ctx.slug)
        entity = services.create_legal_entity(
            organization=ctx.organization,
            by=ctx.administrator,
            data={
                "name": name,
                "legal_form": "SAS",
                "share_capital": "50 000 €",
                **identifiers,
                "rcs": f"RCS Paris {identifiers['siren'][:3]} {identifiers['siren'][3:6]} {identifiers['siren'][6:]}",
                "approval_number": f"Agrément préfectoral n° 2024-75-{identifiers['siren'][-4:]}",
                "email": f"compta@{ctx.email_domain}",
                "phone": "+33 1 42 60 27 00",
                "address_line1": "27 avenue de l'Opéra",
                "postal_code": "75001",
                "city": "Paris",
                "country": "FR",
                "invoice_legal_mentions": (
                    "Paiement à 30 jours date de facture. Pas d'escompte pour paiement anticipé. "
                    "En cas de retard, pénalités au taux de trois fois le taux d'intérêt légal et indemnité "
                    "forfaitaire de 40 € pour frais de recouvrement (art. L441-10 du Code de commerce)."
                ),
            },
        )
        ctx.created_one("legal entities")
    ctx.legal_entity = entity


def centers(ctx: DemoContext) -> None:
    existing = {center.code: center for center in Center.objects.filter(organization=ctx.organization)}
    for spec in CENTERS:
        center = existing.get(spec["code"])
        if center is None:
            hours = [(day, *WEEKDAY_HOURS) for day in range(5)]
            if "saturday" in spec:
                hours.append((5, *spec["saturday"]))
            center = services.create_center(
                organization=ctx.organization,
                by=ctx.administrator,
                data={
                    "name": spec["name"],
                    "code": spec["code"],
                    "legal_entity": ctx.legal_entity,
                    "timezone": "Europe/Paris",
                    "email": f"{spec['code'].split('-')[0]}@{ctx.email_domain}",
                    "phone": spec["phone"],
                    "address_line1": spec["address_line1"],
                    "postal_code": spec["postal_code"],
                    "city": spec["city"],
                    "country": "FR",
                },
                opening_hours=hours,
            )
            ctx.created_one("centers")
        ctx.centers[center.code] = center


def staff(ctx: DemoContext) -> None:
    roles = {role.kind: role for role in Role.objects.filter(organization=ctx.organization)}
    for kind, local, first_name, last_name, job_title, center_codes in STAFF[1:]:
        email = f"{local}@{ctx.email_domain}"
        membership = (
            StaffMembership.objects.filter(organization=ctx.organization, user__email__iexact=email)
            .select_related("user")
            .first()
        )
        if membership is None:
            membership = services.add_staff_member(
                organization=ctx.organization,
                by=ctx.administrator,
                email=email,
                role=roles[kind],
                first_name=first_name,
                last_name=last_name,
                job_title=job_title,
                centers=[ctx.centers[code] for code in center_codes],
                send_activation=False,
            )
            ctx.created_one("staff members")
        _set_demo_password(ctx, membership.user)
        ctx.staff[kind] = membership.user


register_demo_step(0, organization_and_administrator)
register_demo_step(10, legal_entity)
register_demo_step(20, centers)
register_demo_step(30, staff)


def staff_logins(ctx: DemoContext) -> list[tuple[str, str, str]]:
    """(role label, e-mail, password) of every demo account, administrator first."""
    labels = dict(Role.Kind.choices)
    return [(str(labels[kind]), user.email, ctx.password) for kind, user in ctx.staff.items()]
