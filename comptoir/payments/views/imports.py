"""Finance → Paiements → « Importer un relevé »: a bank statement (CSV) whose transfers are matched to invoices by
the invoice number of their label, recorded as payments and allocated (comptoir.payments.services.imports).

The result — lines read, payments recorded, lines already imported, amount allocated, amount left as credit
balance, the lines that matched no invoice — is the answer of the POST itself: nothing is kept, neither the file
(read in memory, see comptoir.payments.forms_imports) nor the result. Reloading posts the statement again, which
records nothing new (the import is idempotent) and says so.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.views.base import right_required
from comptoir.payments.forms_imports import (
    EXAMPLE_HEADER,
    EXAMPLE_LINE,
    MAX_STATEMENT_BYTES,
    StatementImportForm,
    StatementUploadHandler,
)
from comptoir.payments.services.imports import ImportResult, import_transfers

TEMPLATE = "payments/imports/statement_import.html"


def _render(request: HttpRequest, form: StatementImportForm, result: ImportResult | None = None,
            *, status: int = 200) -> HttpResponse:  # fmt: skip
    context: dict[str, Any] = {
        "title": _("Importer un relevé"),
        "breadcrumb": [(_("Paiements"), reverse("payments:payment_list"))],
        "form": form,
        "result": result,
        "example_header": EXAMPLE_HEADER,
        "example_line": EXAMPLE_LINE,
        "max_megabytes": MAX_STATEMENT_BYTES // (1024 * 1024),
    }
    return render(request, TEMPLATE, context, status=status)


@csrf_protect
def _statement_import(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, StatementImportForm())
    form = StatementImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = import_transfers(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,  # type: ignore[arg-type]
                lines=form.statement_lines(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return _render(request, StatementImportForm(), result)
    return _render(request, form, status=400)


@csrf_exempt  # the CSRF check runs in `_statement_import`, once the upload handler below is in place
@right_required("payments.add_payment")
def statement_import(request: HttpRequest) -> HttpResponse:
    """GET: the upload form and the format; POST: import the statement and show the result."""
    request.upload_handlers = [StatementUploadHandler(request)]
    return _statement_import(request)


urlpatterns = [
    path("import/", statement_import, name="statement_import"),
]
