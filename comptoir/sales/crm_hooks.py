"""What the sales app adds to the CRM (registered by SalesConfig.ready):

- the company lists' "Contrats" and "Valeur" columns (running contracts, and their monthly recurring amount
  excl. VAT), as subqueries on the company rows — one query whatever the number of rows;
- a client's status follows its contracts: "actif" while one runs, "inactif" once the last one has ended
  or been cancelled (`comptoir.crm.services.sync_client_status`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from comptoir.core import events
from comptoir.core.lists import Column
from comptoir.crm import services as crm_services
from comptoir.crm.views.companies import CompanyListColumn, register_company_list_column
from comptoir.sales.models import Contract, ContractLine

RUNNING = list(Contract.RUNNING)


def _annotations() -> dict[str, Any]:
    running = (
        Contract.objects.filter(company=OuterRef("pk"), status__in=RUNNING)
        .order_by()
        .values("company")
        .annotate(total=Count("pk"))
        .values("total")
    )
    today = timezone.localdate()
    value = (
        ContractLine.objects.filter(contract__company=OuterRef("pk"), contract__status__in=RUNNING, is_recurring=True)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .order_by()
        .values("contract__company")
        .annotate(total=Sum("amount_excl_vat"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return {
        "running_contract_count": Coalesce(Subquery(running, output_field=IntegerField()), 0),
        "monthly_value": Coalesce(Subquery(value, output_field=money), Decimal("0.00"), output_field=money),
    }


def register_company_columns() -> None:
    register_company_list_column(
        CompanyListColumn(
            Column(
                "running_contract_count",
                gettext_lazy("Contrats"),
                kind="number",
                sort="running_contract_count",
                css_class="text-end",
            ),
            "sales.view_contract",
            _annotations,
        )
    )
    register_company_list_column(
        CompanyListColumn(
            Column(
                "monthly_value",
                gettext_lazy("Valeur mensuelle HT"),
                kind="money",
                sort="monthly_value",
                css_class="text-end text-nowrap",
            ),
            "sales.view_contract",
            _annotations,
            after="running_contract_count",
        )
    )


def _has_running(company_id: int) -> bool:
    return Contract.objects.filter(company_id=company_id, status__in=RUNNING).exists()


def _on_contract_changed(*, contract: Contract, **_payload: Any) -> None:
    crm_services.sync_client_status(company=contract.company, running=_has_running(contract.company_id))


def register_status_hooks() -> None:
    # after the signature's conversion of a prospect (which already makes it an active client)
    for event in ("contract.signed", "contract.activated", "contract.ended", "contract.cancelled"):
        events.subscribe(event, _on_contract_changed, order=200)
