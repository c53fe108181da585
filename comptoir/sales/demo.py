"""The sales demo data: the published CGV, quotes in every status on the CRM demo's companies and
opportunities (1 to 4 offers each), contracts signed by SMS code (sealed; the prospect becomes a client,
the opportunity is won) and one contract awaiting the signature of the portal member (membre@…), so
anyone can try the signature in the client portal.

Everything goes through the services: create_quote → save_offer → send_quote → accept_offer / refuse_quote
→ create_contract_from_offer → send_for_signature → start_signature → accept_terms → send_code → the code
read from the SMS outbox → confirm_code. The one shortcut: an expired quote needs time to pass, so its
dates are moved 40 days back before the daily job (`expire_quotes`) expires it.

Deterministic (companies picked from the CRM demo's plan) and idempotent (a quote is looked up by
company and title; when it exists its whole scenario is done), so running `comptoir demo` twice creates
nothing new.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from comptoir.catalog.models import Discount, Product, ServiceType, Space
from comptoir.core.demo import DemoContext, register_demo_step
from comptoir.core.models import SmsMessage
from comptoir.crm import capabilities
from comptoir.crm import services as crm_services
from comptoir.crm.demo import PORTAL_COMPANY_NAME, PORTAL_MEMBER_LOCAL_PART, CompanyPlan, plan_companies
from comptoir.crm.models import Company, Contact, Opportunity
from comptoir.sales.models import Contract, PaymentMethod, Quote
from comptoir.sales.services import contracts as contract_services
from comptoir.sales.services import quotes as quote_services
from comptoir.sales.services import signature as signature_services
from comptoir.sales.services.terms import current_terms, publish_terms

DEMO_IP = "127.0.0.1"
DEMO_AGENT = "Comptoir demo"
TERMS_TITLE = "Conditions générales de vente"
TERMS_BODY = """\
Article 1 — Objet
Les présentes conditions générales de vente (CGV) régissent la mise à disposition de bureaux, de postes de \
travail, de salles de réunion et de places de parking, ainsi que les services de domiciliation et les \
services associés fournis par le centre d'affaires au client. Toute signature d'un contrat emporte \
l'acceptation sans réserve des présentes CGV, qui prévalent sur tout document du client.

Article 2 — Documents contractuels
Le contrat se compose, par ordre de priorité décroissante : des conditions particulières (le contrat \
signé et ses avenants), des présentes CGV et du règlement intérieur du centre. Le devis accepté n'a \
valeur contractuelle qu'une fois le contrat signé.

Article 3 — Durée, reconduction et préavis
Le contrat est conclu pour la durée d'engagement indiquée aux conditions particulières, à compter de la \
date de début. Sauf mention contraire, il se renouvelle par tacite reconduction pour des périodes \
identiques. Chaque partie peut y mettre fin par lettre recommandée avec accusé de réception ou depuis \
l'espace client, en respectant le préavis prévu aux conditions particulières (trois mois à défaut).

Article 4 — Prix et révision
Les prix sont exprimés en euros hors taxes ; la TVA au taux en vigueur s'y ajoute. Les prestations \
mensuelles sont révisées chaque année à la date anniversaire du contrat selon la variation de l'indice \
des loyers des activités tertiaires (ILAT) publié par l'INSEE.

Article 5 — Facturation et paiement
Les prestations mensuelles sont facturées d'avance, le premier jour de chaque mois ; le premier mois est \
facturé au prorata des jours d'occupation. Les consommations (impressions, boissons, heures de salle…) \
sont facturées le mois suivant. Les factures sont payables à réception, par prélèvement SEPA ou \
virement. Tout retard entraîne de plein droit des pénalités au taux de trois fois le taux d'intérêt \
légal et une indemnité forfaitaire de 40 € pour frais de recouvrement (article L441-10 du Code de \
commerce).

Article 6 — Dépôt de garantie
Un dépôt de garantie, dont le montant figure aux conditions particulières, est versé à la signature. \
Il est restitué dans un délai de deux mois après la fin du contrat et la restitution des badges et des \
clés, déduction faite des sommes restant dues.

Article 7 — Utilisation des locaux
Le client utilise les espaces en bon père de famille, conformément à leur destination de bureaux et au \
règlement intérieur du centre. Il ne peut ni céder ni sous-louer le contrat, ni y accueillir une autre \
activité que la sienne, sans l'accord écrit du centre. Aucun bail commercial ne naît du présent contrat.

Article 8 — Domiciliation
La domiciliation est soumise aux articles L123-11-2 et suivants et R123-166-1 et suivants du Code de \
commerce. Le client s'engage à communiquer ses justificatifs d'identité et d'activité, à informer le \
centre de tout changement et à retirer son courrier au moins une fois par mois.

Article 9 — Assurances et responsabilité
Le client assure ses biens, son matériel et sa responsabilité civile professionnelle. La responsabilité \
du centre est limitée aux dommages directs et plafonnée au montant des sommes hors taxes payées par le \
client au cours des douze derniers mois.

Article 10 — Suspension et résiliation
En cas de non-paiement à l'échéance, le centre peut, huit jours après une mise en demeure restée sans \
effet, suspendre l'accès aux espaces et aux services, puis résilier le contrat de plein droit.

Article 11 — Données personnelles
Les données du client sont traitées pour la gestion du contrat, la facturation et la relation \
commerciale, conformément au règlement (UE) 2016/679. Le client dispose d'un droit d'accès, de \
rectification et d'effacement auprès du centre.

Article 12 — Droit applicable et litiges
Les présentes CGV sont soumises au droit français. Tout litige relève, à défaut d'accord amiable, de la \
compétence exclusive du tribunal de commerce du siège du centre d'affaires."""


@dataclass
class QuoteScenario:
    """One demo quote: its company (from the CRM plan), what it offers and how far it goes."""

    key: str
    status: str  # draft | sent | accepted | refused | expired | signed | awaiting_signature
    title: str
    offers: list[str]  # offer templates, see _offer_data
    office: str = "Bureau 102"  # the private office of "office" offers (in the quote's center)
    refusal: str = ""
    company: str = ""  # filled by plan_scenarios
    opportunity: str = ""  # opportunity title (empty: none)
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    QuoteScenario("draft-office", "draft", "Bureau privatif pour l'équipe", ["office:12", "office:24", "office:36"],
                  office="Bureau 104"),
    QuoteScenario("draft-domiciliation", "draft", "Domiciliation du siège social", ["domiciliation", "premium"]),
    QuoteScenario("sent-coworking", "sent", "Postes en coworking", ["coworking:3", "nomad"]),
    QuoteScenario("sent-office", "sent", "Installation dans un bureau privatif",
                  ["office:12", "office:24", "office:36", "coworking:4"], office="Bureau 105"),
    QuoteScenario("sent-parking", "sent", "Place de parking", ["parking"]),
    QuoteScenario("accepted-domiciliation", "accepted", "Domiciliation et services courrier",
                  ["domiciliation", "premium"]),
    QuoteScenario("refused-office", "refused", "Bureau pour deux personnes", ["office:12", "coworking:2"],
                  office="Bureau 001", refusal="Budget insuffisant pour cette année."),
    QuoteScenario("refused-coworking", "refused", "Abonnement coworking", ["coworking:5"],
                  refusal="Le client a choisi un concurrent plus proche de ses clients."),
    QuoteScenario("expired-office", "expired", "Bureau privatif — proposition de rentrée", ["office:12", "office:24"],
                  office="Bureau 106"),
    QuoteScenario("expired-nomad", "expired", "Formule nomade", ["nomad", "coworking:1"]),
    QuoteScenario("signed-office", "signed", "Bureau privatif — contrat 24 mois", ["office:24", "office:12"],
                  office="Bureau 101"),
    QuoteScenario("signed-office-2", "signed", "Bureau privatif — contrat 36 mois", ["office:36"], office="Bureau 103"),
    QuoteScenario("signed-domiciliation", "signed", "Domiciliation commerciale", ["domiciliation", "premium"]),
    QuoteScenario("portal-office", "awaiting_signature", "Bureau supplémentaire", ["office:12", "office:24"],
                  office="Bureau 002"),
]  # fmt: skip


def plan_scenarios(slug: str, today: datetime.date) -> list[QuoteScenario]:
    """Each scenario with its company and opportunity, the same every run: signed contracts go to prospects
    with an open opportunity, the other quotes to active clients and prospects, one company each."""
    plans = plan_companies(slug, today)
    open_stages = set(Opportunity.Stage.values) - {Opportunity.Stage.WON, Opportunity.Stage.LOST}

    def open_opportunity(plan: CompanyPlan) -> str:
        return next((o["title"] for o in plan.opportunities if o["stage"] in open_stages), "")

    prospects = [p for p in plans[1:] if not p.become_client and not p.is_individual and open_opportunity(p)]
    clients = [p for p in plans[1:] if p.become_client and p.final_status == "active" and not p.is_individual]
    result = []
    client_iter = iter(clients)
    used: set[str] = set()
    for number, template in enumerate(SCENARIOS):
        scenario = QuoteScenario(**{**template.__dict__, "extra": dict(template.extra)})
        if scenario.status == "awaiting_signature":
            scenario.company = PORTAL_COMPANY_NAME
        elif scenario.status == "signed" or number % 2 == 0:
            # a signed contract is invoiced at once: its company needs its SIREN (French e-invoicing rules)
            signed = scenario.status == "signed"
            plan = next(p for p in prospects if p.name not in used and (p.data.get("siren") or not signed))
            used.add(plan.name)
            scenario.company, scenario.opportunity = plan.name, open_opportunity(plan)
        else:
            plan = next(client_iter)
            scenario.company = plan.name
            scenario.opportunity = next((o["title"] for o in plan.opportunities), "")
        result.append(scenario)
    return result


# --------------------------------------------------------------------------------------------------
# Offers
# --------------------------------------------------------------------------------------------------
class Catalog:
    """The demo catalog of one organization, by name."""

    def __init__(self, organization: Any) -> None:
        self.products = {p.name: p for p in Product.objects.filter(organization=organization, is_active=True)}
        self.discounts = {d.name: d for d in Discount.objects.filter(organization=organization)}
        self.spaces = {(s.center_id, s.name): s for s in Space.objects.filter(organization=organization)}

    def product(self, name: str) -> Product:
        return self.products[name]


def _first_of_next_month(today: datetime.date) -> datetime.date:
    return (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def _offer_data(template: str, quote: Quote, catalog: Catalog, scenario: QuoteScenario) -> dict[str, Any]:
    kind, _sep, argument = template.partition(":")
    start = _first_of_next_month(timezone.localdate())
    fees = {"product": catalog.product("Frais de dossier"), "quantity": 1}
    if kind == "office":
        months = int(argument)
        space = catalog.spaces[(quote.center_id, scenario.office)]
        lines = [
            {"space": space},
            {"product": catalog.product("Services du bureau privatif"), "quantity": space.capacity},
            {"product": catalog.product("Ligne téléphonique dédiée"), "quantity": 1},
            fees,
        ]
        if months >= 24:
            lines[0]["discounts"] = [{"discount": catalog.discounts["Remise engagement longue durée"]}]
        return {"title": f"{space.name} — {space.area_m2.normalize():f} m², engagement {months} mois",
                "service_type": ServiceType.PRIVATE_OFFICE, "term_months": months, "start_date": start,
                "deposit": Decimal(2) * (space.area_m2 * Decimal(40)).quantize(Decimal("1")), "lines": lines}  # fmt: skip
    if kind == "coworking":
        seats = int(argument)
        return {"title": f"Coworking, {seats} poste{'s' if seats > 1 else ''}", "service_type": ServiceType.COWORKING,
                "term_months": 12, "start_date": start, "deposit": Decimal(300) * seats,
                "lines": [{"product": catalog.product("Abonnement coworking"), "quantity": seats,
                           "discounts": [{"discount": catalog.discounts["Remise commerciale"]}]},
                          {"product": catalog.product("Numérisation du courrier"), "quantity": 1}, fees]}  # fmt: skip
    if kind == "nomad":
        return {"title": "Formule nomade", "service_type": ServiceType.NOMAD, "term_months": 3, "start_date": start,
                "lines": [{"product": catalog.product("Formule nomade"), "quantity": 1},
                          {"product": catalog.product("Abonnement Flex 10"), "quantity": 1}]}  # fmt: skip
    if kind == "domiciliation":
        return {"title": "Domiciliation commerciale", "service_type": ServiceType.DOMICILIATION, "term_months": 12,
                "start_date": start,
                "lines": [{"product": catalog.product("Domiciliation commerciale"), "quantity": 1},
                          {"product": catalog.product("Numérisation du courrier"), "quantity": 1},
                          {"product": catalog.product("Réexpédition du courrier"), "quantity": 1},
                          {"product": catalog.product("Affranchissement du courrier (débours)"), "quantity": 20}]}  # fmt: skip
    if kind == "premium":
        return {"title": "Domiciliation Premium", "service_type": ServiceType.DOMICILIATION, "term_months": 24,
                "start_date": start,
                "lines": [{"product": catalog.product("Domiciliation Premium"), "quantity": 1},
                          {"product": catalog.product("Permanence téléphonique"), "quantity": 1}]}  # fmt: skip
    if kind == "parking":
        return {"title": "Place de parking", "service_type": ServiceType.PARKING, "term_months": 12,
                "start_date": start, "deposit": Decimal(150),
                "lines": [{"product": catalog.product("Place de parking"), "quantity": 1}]}  # fmt: skip
    raise ValueError(template)


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------
def terms(ctx: DemoContext) -> None:
    if current_terms(ctx.organization) is None:
        publish_terms(organization=ctx.organization, by=ctx.administrator, title=TERMS_TITLE, body=TERMS_BODY)
        ctx.created_one("terms")


def _signer(ctx: DemoContext, company: Company) -> Contact:
    """The company's administrator who signs: the portal member for its company, else the main contact
    (given portal access: only an administrator with an account may sign)."""
    if company.name == PORTAL_COMPANY_NAME:
        contact = Contact.objects.get(company=company, email__iexact=f"{PORTAL_MEMBER_LOCAL_PART}@{ctx.email_domain}")
    else:
        contact = Contact.objects.filter(company=company, is_main=True).first() or Contact.objects.get(
            company=company, company_role=Contact.CompanyRole.ADMINISTRATOR
        )
    changes: dict[str, Any] = {}
    if contact.company_role != Contact.CompanyRole.ADMINISTRATOR:
        changes["company_role"] = Contact.CompanyRole.ADMINISTRATOR
    if not contact.mobile:
        changes["mobile"] = "+33 6 12 34 56 78"
    if changes:
        contact = crm_services.update_contact(contact=contact, by=ctx.administrator, data=changes)
        ctx.created_one("members updated")
    if not contact.has_portal_access or contact.user_id is None:
        contact = crm_services.activate_contact_account(contact=contact, by=ctx.administrator)
        ctx.created_one("portal accounts")
    if not capabilities.can(contact, "sign_contracts"):
        raise RuntimeError(f"{contact} cannot sign the contracts of {company.name}")
    return contact


def _sign_by_sms(ctx: DemoContext, contract: Contract, signer: Contact) -> Contract:
    signature = signature_services.start_signature(contract=contract, contact=signer, ip=DEMO_IP, user_agent=DEMO_AGENT)
    signature = signature_services.accept_terms(signature=signature, ip=DEMO_IP, user_agent=DEMO_AGENT)
    signature = signature_services.send_code(signature=signature, ip=DEMO_IP, user_agent=DEMO_AGENT)
    message = (
        SmsMessage.objects.filter(organization=ctx.organization, purpose="contract_signature", to=signature.phone)
        .order_by("-id")
        .first()
    )
    match = re.search(r"\b(\d{6})\b", message.body if message else "")
    if match is None:
        raise RuntimeError(f"No signature code in the SMS outbox for {contract.reference}")
    return signature_services.confirm_code(signature=signature, code=match.group(1), ip=DEMO_IP, user_agent=DEMO_AGENT)


def _play(ctx: DemoContext, scenario: QuoteScenario, company: Company, catalog: Catalog) -> None:
    admin = ctx.administrator
    opportunity = (
        Opportunity.objects.filter(company=company, title=scenario.opportunity).first()
        if scenario.opportunity
        else None
    )
    quote = quote_services.create_quote(
        organization=ctx.organization, by=admin, company=company, opportunity=opportunity,
        data={"title": scenario.title, "notes": "Tarifs valables pour une entrée dans les lieux le mois prochain."},
    )  # fmt: skip
    ctx.created_one("quotes")
    offers = [
        quote_services.save_offer(quote=quote, by=admin, position=position,
                                  data=_offer_data(template, quote, catalog, scenario))
        for position, template in enumerate(scenario.offers, start=1)
    ]  # fmt: skip
    ctx.created["offers"] = ctx.created.get("offers", 0) + len(offers)
    if scenario.status == "draft":
        return
    quote = quote_services.send_quote(quote=quote, by=admin)
    if scenario.status == "sent":
        return
    if scenario.status == "refused":
        quote_services.refuse_quote(quote=quote, by=admin, reason=scenario.refusal)
        return
    if scenario.status == "expired":
        # time passes: the quote was sent 40 days ago, valid for 30; the daily job expires it
        sent = timezone.now() - datetime.timedelta(days=40)
        Quote.objects.filter(pk=quote.pk).update(
            created_at=sent, sent_at=sent, updated_at=sent, valid_until=sent.date() + datetime.timedelta(days=30)
        )
        quote_services.expire_quotes()
        return
    quote = quote_services.accept_offer(quote=quote, offer=offers[0], by=admin)
    if scenario.status == "accepted":
        return
    contract = contract_services.create_contract_from_offer(
        offer=offers[0], by=admin, data={"payment_method": PaymentMethod.DIRECT_DEBIT, "notice_months": 3}
    )
    ctx.created_one("contracts")
    signer = _signer(ctx, company)
    contract = contract_services.send_for_signature(contract=contract, by=admin, signer=signer)
    if scenario.status == "signed":
        _sign_by_sms(ctx, contract, signer)
        ctx.created_one("signed contracts")


@contextmanager
def _no_smtp() -> Iterator[None]:
    """The demo's quotes and signature requests go to made-up addresses: when the mailer is SMTP (production
    settings), they are kept in memory instead, also for the e-mails sent once the demo commits."""
    mailers = getattr(settings, "MAILERS", None)
    if not mailers or not str(mailers.get("default", {}).get("BACKEND", "")).endswith("smtp.EmailBackend"):
        yield
        return
    in_memory = {**mailers, "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

    def use(value: dict[str, Any]) -> None:
        settings.MAILERS = value

    transaction.on_commit(lambda: use(in_memory))
    use(in_memory)
    try:
        yield
    finally:
        use(mailers)
        transaction.on_commit(lambda: use(mailers))


def quotes_and_contracts(ctx: DemoContext) -> None:
    with _no_smtp():
        _quotes_and_contracts(ctx)


def _quotes_and_contracts(ctx: DemoContext) -> None:
    organization = ctx.organization
    companies = {company.name: company for company in Company.objects.filter(organization=organization)}
    titles = set(Quote.objects.filter(organization=organization).values_list("company_id", "title"))
    catalog: Catalog | None = None
    for scenario in plan_scenarios(ctx.slug, timezone.localdate()):
        company = companies.get(scenario.company)
        if company is None or (company.pk, scenario.title) in titles:
            continue
        catalog = catalog or Catalog(organization)
        _play(ctx, scenario, company, catalog)
        titles.add((company.pk, scenario.title))


register_demo_step(300, terms)
register_demo_step(310, quotes_and_contracts)
