"""The CRM's demo data: marketing sources, 200 companies (prospects and clients) with their members,
a portal member, opportunities at every stage, activities, notes and actions.

Deterministic (one seeded random generator per tenant, every value drawn whether or not its object
already exists) and idempotent (companies are looked up by name, members by e-mail, opportunities by
title; activities, notes and actions are made only for a company that has none), so running
`comptoir demo` twice creates nothing new. Everything goes through the services, which journal.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from stdnum import luhn

from comptoir.core import services as core_services
from comptoir.core.demo import DemoContext, register_demo_step
from comptoir.core.models import Role, User
from comptoir.crm import services
from comptoir.crm.models import Action, Activity, Company, Contact, JobFunction, MarketingSource, Note, Opportunity

COMPANY_COUNT = 200
PORTAL_MEMBER_LOCAL_PART = "membre"
PORTAL_COMPANY_NAME = "Atelier Lumière"

SOURCES = [
    # (name, channel, cost, cost period)
    ("Site web", MarketingSource.Channel.WEBSITE, Decimal("150.00"), MarketingSource.CostPeriod.MONTH),
    ("Salon Bureaux & Co", MarketingSource.Channel.TRADE_SHOW, Decimal("4500.00"), MarketingSource.CostPeriod.ONE_OFF),
    ("Bouche-à-oreille", MarketingSource.Channel.WORD_OF_MOUTH, Decimal("0.00"), MarketingSource.CostPeriod.MONTH),
    ("LinkedIn", MarketingSource.Channel.SOCIAL, Decimal("600.00"), MarketingSource.CostPeriod.MONTH),
    ("Apporteur d'affaires", MarketingSource.Channel.BROKER, Decimal("2400.00"), MarketingSource.CostPeriod.QUARTER),
]

FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Louise", "Alice", "Clara", "Anaïs",
    "Pauline", "Marion", "Élodie", "Nathalie", "Isabelle", "Sandrine", "Thomas", "Nicolas", "Julien", "Antoine",
    "Maxime", "Alexandre", "Hugo", "Lucas", "Louis", "Paul", "Arthur", "Mathieu", "Romain", "Sébastien",
    "Olivier", "François", "Laurent", "Stéphane", "Yannick", "Mehdi", "Karim", "Sofiane", "Nadia", "Amina",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
    "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guerin", "Muller", "Henry", "Roussel", "Nicolas",
    "Perrin", "Morin", "Mathieu", "Clement", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin",
]  # fmt: skip
NAME_HEADS = [
    "Atelier", "Cabinet", "Studio", "Agence", "Maison", "Groupe", "Conseil", "Bureau", "Compagnie", "Société",
    "Collectif", "Laboratoire", "Fabrique", "Comptoir", "Institut",
]  # fmt: skip
NAME_TAILS = [
    "Lumière", "Horizon", "Boréal", "Azur", "Opale", "Cèdre", "Granit", "Équinoxe", "Mistral", "Sirocco",
    "Pollen", "Méridien", "Alizé", "Odyssée", "Archipel", "Sésame", "Volta", "Quartz", "Tramontane", "Colibri",
    "Canopée", "Sillage", "Écume", "Ardoise", "Cobalt", "Indigo", "Vermeil", "Zénith", "Aurore", "Ginkgo",
]  # fmt: skip
SECTORS = [
    "Conseil", "Informatique", "Architecture", "Expertise comptable", "Avocats", "Communication", "Immobilier",
    "Formation", "Design", "Ressources humaines", "Assurance", "Santé", "E-commerce", "Audiovisuel",
]  # fmt: skip
LEGAL_FORMS = ["SAS", "SARL", "SASU", "EURL", "SA", "SCI"]
FREELANCE_SECTORS = ["Développeuse indépendante", "Graphiste", "Consultant", "Traductrice", "Photographe", "Coach"]

# (center code, city, postal codes, streets)
ADDRESSES = [
    ("paris-opera", "Paris", ["75001", "75002", "75008", "75009", "75011", "75017"], [
        "rue de Rivoli", "boulevard Haussmann", "rue du Faubourg Saint-Honoré", "rue de la Paix",
        "avenue de l'Opéra", "rue Réaumur", "boulevard Voltaire", "rue de Rome",
    ]),
    ("lyon-part-dieu", "Lyon", ["69002", "69003", "69006", "69007"], [
        "cours Lafayette", "rue de la République", "boulevard des Brotteaux", "rue Garibaldi",
        "avenue Jean Jaurès", "quai Victor Augagneur",
    ]),
    ("bordeaux-chartrons", "Bordeaux", ["33000", "33100", "33300", "33800"], [
        "cours de l'Intendance", "quai des Chartrons", "rue Sainte-Catherine", "cours Victor Hugo",
        "allées de Tourny", "rue Notre-Dame",
    ]),
]  # fmt: skip

LOST_REASONS = [
    "Prix trop élevé",
    "A choisi un concurrent",
    "Projet reporté à l'an prochain",
    "Surface insuffisante",
    "Plus de nouvelles après la visite",
]
OPPORTUNITY_TITLES = [
    "Bureau privatif {n} postes", "Domiciliation du siège", "Postes coworking pour l'équipe",
    "Extension : bureau de {n} postes", "Forfait salles de réunion", "Bureau de passage au mois",
]  # fmt: skip
NOTE_BODIES = [
    "Très attentif au prix : préparer une offre avec engagement de 12 mois.",
    "Le dirigeant préfère être contacté par téléphone le matin.",
    "Ancien client d'un concurrent, déçu par la qualité de l'accueil.",
    "Souhaite une place de parking avec le bureau.",
    "Équipe en croissance : prévoir une extension d'ici six mois.",
    "Paiement toujours à l'heure, relation excellente.",
]
ACTION_TITLES = [
    "Rappeler pour le devis", "Envoyer la plaquette", "Relancer le contrat", "Préparer la visite",
    "Vérifier le Kbis", "Proposer un rendez-vous",
]  # fmt: skip
ACTIVITY_NOTES = {
    Activity.Kind.VISIT: "Visite des bureaux disponibles.",
    Activity.Kind.CALL: "Point téléphonique sur le besoin.",
    Activity.Kind.EMAIL: "Envoi de la documentation.",
    Activity.Kind.FOLLOW_UP: "Relance après le devis.",
    Activity.Kind.MEETING: "Rendez-vous de présentation.",
}


# --------------------------------------------------------------------------------------------------
# The plan: every random value drawn up front, in a fixed order
# --------------------------------------------------------------------------------------------------
@dataclass
class CompanyPlan:
    name: str
    is_individual: bool
    become_client: bool
    final_status: str  # "active", "inactive", "suspended", "archived" (clients) or "prospect"
    data: dict[str, Any]
    members: list[dict[str, Any]]  # the first one is the main contact
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


def _french_identifiers(rng: random.Random) -> dict[str, str]:
    """A SIREN (Luhn key), the head office's SIRET (Luhn over 14 digits) and the FR VAT number of the SIREN."""
    body = str(rng.randint(30_000_000, 99_999_999))
    siren = body + luhn.calc_check_digit(body)
    nic = f"{rng.randint(1, 99):04d}"
    siret = siren + nic + luhn.calc_check_digit(siren + nic)
    return {"siren": siren, "siret": siret, "vat_number": f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"}


def _phone(rng: random.Random, mobile: bool = False) -> str:
    head = rng.choice(["6", "7"]) if mobile else rng.choice(["1", "4", "5", "9"])
    pairs = " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))
    return f"+33 {head} {pairs}"


def _ascii(text: str) -> str:
    import unicodedata

    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii()).lower().replace(" ", "").replace("'", "")
    )


def _company_names(rng: random.Random, count: int) -> list[str]:
    names = [f"{head} {tail}" for head in NAME_HEADS for tail in NAME_TAILS]
    rng.shuffle(names)
    names.remove(PORTAL_COMPANY_NAME)
    return [PORTAL_COMPANY_NAME, *names[: count - 1]]


def plan_companies(slug: str, today: datetime.date) -> list[CompanyPlan]:
    rng = random.Random(f"comptoir-demo-crm:{slug}")
    names = _company_names(rng, COMPANY_COUNT)
    plans = []
    for index, name in enumerate(names):
        is_individual = index % 25 == 7  # 8 freelancers
        become_client = index == 0 or rng.random() < 0.6
        final_status = "active" if become_client else "prospect"
        if become_client and index:
            final_status = rng.choices(["active", "inactive", "suspended", "archived"], [88, 5, 4, 3])[0]
        center_code, city, postal_codes, streets = rng.choice(ADDRESSES)
        address = {
            "address_line1": f"{rng.randint(1, 180)} {rng.choice(streets)}",
            "postal_code": rng.choice(postal_codes),
            "city": city,
            "country": "FR",
        }
        identifiers = _french_identifiers(rng)
        has_identifiers = not is_individual and rng.random() < 0.55
        members = []
        for _member in range(1 if is_individual else rng.choices([1, 2, 3, 4], [25, 35, 25, 15])[0]):
            first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            members.append({
                "first_name": first_name,
                "last_name": last_name,
                "phone": _phone(rng),
                "mobile": _phone(rng, mobile=True),
                "job_function": rng.choice(["Direction", "Commercial", "Technique", "Administratif", "Facturation"]),
                "company_role": rng.choices(["manager", "user"], [40, 60])[0],
            })  # fmt: skip
        domain = f"{_ascii(name)}.example"
        for position, member in enumerate(members):
            member["email"] = f"{_ascii(member['first_name'])}.{_ascii(member['last_name'])}{position or ''}@{domain}"
        members[0]["company_role"] = Contact.CompanyRole.ADMINISTRATOR
        if is_individual:  # a freelancer's company is named after them (create_individual_customer)
            name = f"{members[0]['first_name']} {members[0]['last_name']}"
        data = {
            "name": name,
            "sector": rng.choice(FREELANCE_SECTORS if is_individual else SECTORS),
            "phone": _phone(rng),
            "email": f"contact@{domain}",
            "_center": center_code,
            "_manager": rng.choice([Role.Kind.ADMINISTRATOR, Role.Kind.MANAGER, Role.Kind.MANAGER]),
            "_source": rng.choice([None, *[source[0] for source in SOURCES]]),
            **address,
        }
        if not is_individual:
            data["legal_form"] = rng.choice(LEGAL_FORMS)
            data["website"] = f"https://www.{domain}"
            if has_identifiers:
                data.update(identifiers)
        plan = CompanyPlan(name, is_individual, become_client, final_status, data, members)
        _plan_followup(rng, plan, today, index)
        plans.append(plan)
    return plans


def _plan_followup(rng: random.Random, plan: CompanyPlan, today: datetime.date, index: int) -> None:
    stages = list(Opportunity.Stage.values)
    for number in range(rng.choices([0, 1, 2], [30, 55, 15])[0] if index else 1):
        stage = stages[(index + number) % len(stages)] if index < 40 else rng.choice(stages)
        if plan.become_client and number == 0:
            stage = Opportunity.Stage.WON
        elif not plan.become_client and stage == Opportunity.Stage.WON:
            stage = Opportunity.Stage.CONTRACT_SENT  # a prospect has not signed yet
        plan.opportunities.append({
            "title": rng.choice(OPPORTUNITY_TITLES).format(n=rng.randint(2, 12)) + (f" ({number + 1})" if number else ""),
            "stage": stage,
            "lost_reason": rng.choice(LOST_REASONS) if stage == Opportunity.Stage.LOST else "",
            "estimated_amount": Decimal(rng.randrange(600, 48_000, 50)),
            "expected_close_date": today + datetime.timedelta(days=rng.randint(-60, 120)),
        })  # fmt: skip
    for _activity in range(rng.randint(0, 3)):
        days = rng.randint(-90, 45)
        plan.activities.append({
            "kind": rng.choice(Activity.Kind.values),
            "days": days,
            "hour": rng.randint(9, 17),
            "done": days < 0,
            "_staff": rng.choice([Role.Kind.ADMINISTRATOR, Role.Kind.MANAGER]),
        })  # fmt: skip
    if index < 6:  # planned today for the demo administrator and manager (the home page's "today")
        staff = Role.Kind.ADMINISTRATOR if index % 2 == 0 else Role.Kind.MANAGER
        plan.activities.append({"kind": Activity.Kind.CALL if index < 3 else Activity.Kind.VISIT, "days": 0,
                                "hour": 10 + index, "done": False, "_staff": staff})  # fmt: skip
    if rng.random() < 0.45 or index < 3:
        plan.notes = rng.sample(NOTE_BODIES, rng.randint(1, 2))
    for number in range(rng.choices([0, 1, 2], [50, 35, 15])[0] if index >= 8 else 1):
        # the first companies: some overdue, some due today
        days = (-rng.randint(1, 10) if index % 2 else 0) if index < 8 else rng.randint(-15, 30)
        plan.actions.append({
            "title": rng.choice(ACTION_TITLES) + (f" ({number + 1})" if number else ""),
            "days": days,
            "_assignee": rng.choice([Role.Kind.ADMINISTRATOR, Role.Kind.MANAGER]),
            "done": days < -10,
        })  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------
def marketing_sources(ctx: DemoContext) -> None:
    existing = set(MarketingSource.objects.filter(organization=ctx.organization).values_list("name", flat=True))
    for name, channel, cost, period in SOURCES:
        if name not in existing:
            services.create_marketing_source(
                organization=ctx.organization,
                by=ctx.administrator,
                data={"name": name, "channel": channel, "cost": cost, "cost_period": period},
            )
            ctx.created_one("marketing sources")


def companies(ctx: DemoContext) -> None:
    """200 prospects and clients with their members (the first is the main contact and administrator)."""
    organization, admin = ctx.organization, ctx.administrator
    services.seed_job_functions(organization=organization)
    functions = {function.name: function for function in JobFunction.objects.filter(organization=organization)}
    sources = {source.name: source for source in MarketingSource.objects.filter(organization=organization)}
    existing = {company.name: company for company in Company.objects.filter(organization=organization)}
    emails = set(Contact.objects.filter(organization=organization).values_list("company_id", "email"))
    today = timezone.localdate()
    for plan in plan_companies(ctx.slug, today):
        company = existing.get(plan.name)
        members = [
            {**{key: value for key, value in member.items() if key != "job_function"},
             "job_function": functions.get(member["job_function"]), "is_invoice_recipient": position == 0}
            for position, member in enumerate(plan.members)
        ]  # fmt: skip
        if company is None:
            data = {key: value for key, value in plan.data.items() if not key.startswith("_")}
            data["center"] = ctx.centers.get(plan.data["_center"])
            data["account_manager"] = ctx.staff.get(plan.data["_manager"], admin)
            data["marketing_source"] = sources.get(plan.data["_source"] or "")
            if plan.is_individual:
                person = members[0]
                data.pop("name")
                company = services.create_individual_customer(
                    organization=organization, by=admin, person=person, data=data
                )
            else:
                company = services.create_company(organization=organization, by=admin, data=data,
                                                   main_contact=members[0])  # fmt: skip
            ctx.created_one("companies")
            emails.add((company.pk, members[0]["email"]))
            if plan.become_client:
                company = services.convert_to_client(company=company, by=admin)
                if plan.final_status in (Company.Status.INACTIVE, Company.Status.SUSPENDED):
                    company = services.set_company_status(company=company, by=admin, status=plan.final_status)
                elif plan.final_status == "archived":
                    company = services.archive_company(company=company, by=admin)
            existing[company.name] = company
        for member in members[1:]:
            if (company.pk, member["email"]) not in emails:
                services.add_contact(company=company, by=admin, data=member)
                emails.add((company.pk, member["email"]))
                ctx.created_one("members")


def portal_member(ctx: DemoContext) -> None:
    """membre@<workspace>.comptoir.test: administrator of a client company, with an activated portal account."""
    company = Company.objects.get(organization=ctx.organization, name=PORTAL_COMPANY_NAME)
    email = f"{PORTAL_MEMBER_LOCAL_PART}@{ctx.email_domain}"
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, first_name="Margaux", last_name="Lefort")
        ctx.created_one("users")
    if not user.check_password(ctx.password) or not user.is_active:
        core_services.activate_account(user=user, password=ctx.password)
        ctx.created_one("passwords set")
    contact = Contact.objects.filter(company=company, email__iexact=email).first()
    if contact is None:
        contact = services.add_contact(
            company=company,
            by=ctx.administrator,
            data={
                "first_name": "Margaux",
                "last_name": "Lefort",
                "email": email,
                "mobile": "+33 6 12 34 56 78",
                "company_role": Contact.CompanyRole.ADMINISTRATOR,
                "job_function": JobFunction.objects.filter(organization=ctx.organization, name="Direction").first(),
            },
        )
        ctx.created_one("members")
    if contact.user_id != user.pk or not contact.has_portal_access:
        services.activate_contact_account(contact=contact, by=ctx.administrator)  # the user has a password: no e-mail
        ctx.created_one("portal accounts")
    if all(login[1] != email for login in ctx.portal_logins):
        ctx.portal_logins.append((f"Membre, administrateur de « {company.name} »", email, ctx.password))


def followup(ctx: DemoContext) -> None:
    """Opportunities (moved stage by stage), activities, notes and actions, through the services."""
    organization, admin = ctx.organization, ctx.administrator
    companies_by_name = {company.name: company for company in Company.objects.filter(organization=organization)}
    opportunity_titles = set(Opportunity.objects.filter(organization=organization).values_list("company_id", "title"))
    with_activities = set(Activity.objects.filter(organization=organization).values_list("company_id", flat=True))
    with_notes = set(Note.objects.filter(organization=organization).values_list("company_id", flat=True))
    with_actions = set(Action.objects.filter(organization=organization).values_list("company_id", flat=True))
    sources = {source.name: source for source in MarketingSource.objects.filter(organization=organization)}
    today = timezone.localdate()
    now = timezone.localtime()
    for plan in plan_companies(ctx.slug, today):
        company = companies_by_name.get(plan.name)
        if company is None:
            continue
        for spec in plan.opportunities:
            if (company.pk, spec["title"]) not in opportunity_titles:
                _create_opportunity(ctx, company, spec, sources.get(plan.data["_source"] or ""))
                opportunity_titles.add((company.pk, spec["title"]))
        if company.pk not in with_activities:
            for spec in plan.activities:
                _create_activity(ctx, company, spec, now)
        if company.pk not in with_notes:
            for body in plan.notes:
                services.add_note(company=company, by=admin, body=body)
                ctx.created_one("notes")
        if company.pk not in with_actions:
            for spec in plan.actions:
                _create_action(ctx, company, spec, today)


def _create_opportunity(ctx: DemoContext, company: Company, spec: dict[str, Any], source: Any) -> None:
    data = {
        "title": spec["title"],
        "estimated_amount": spec["estimated_amount"],
        "expected_close_date": spec["expected_close_date"],
        "marketing_source": source,
        "owner": company.account_manager,
        "center": company.center,
    }
    opportunity = services.create_opportunity(company=company, by=ctx.administrator, data=data)
    if spec["stage"] != opportunity.stage:
        services.move_opportunity(
            opportunity=opportunity, by=ctx.administrator, stage=spec["stage"], lost_reason=spec["lost_reason"]
        )
    ctx.created_one("opportunities")


def _create_activity(ctx: DemoContext, company: Company, spec: dict[str, Any], now: datetime.datetime) -> None:
    when = (now + datetime.timedelta(days=spec["days"])).replace(hour=spec["hour"], minute=0, second=0, microsecond=0)
    opportunity = company.opportunities.order_by("id").first()
    activity = services.plan_activity(
        company=company,
        by=ctx.administrator,
        data={
            "kind": spec["kind"],
            "scheduled_at": when,
            "staff": ctx.staff.get(spec["_staff"], ctx.administrator),
            "opportunity": opportunity,
            "notes": ACTIVITY_NOTES[spec["kind"]],
        },
    )
    if spec["done"]:
        services.complete_activity(activity=activity, by=ctx.administrator)
    ctx.created_one("activities")


def _create_action(ctx: DemoContext, company: Company, spec: dict[str, Any], today: datetime.date) -> None:
    action = services.create_action(
        organization=ctx.organization,
        by=ctx.administrator,
        data={
            "company": company,
            "title": spec["title"],
            "due_date": today + datetime.timedelta(days=spec["days"]),
            "assignee": ctx.staff.get(spec["_assignee"], ctx.administrator),
        },
    )
    if spec["done"]:
        services.complete_action(action=action, by=ctx.administrator)
    ctx.created_one("actions")


register_demo_step(200, marketing_sources)
register_demo_step(210, companies)
register_demo_step(220, portal_member)
register_demo_step(230, followup)
