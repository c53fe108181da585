"""REST endpoint of the bank statement import under /api/v1/payments/import-statement/.

    POST /payments/import-statement/    import a bank statement (multipart `file`: CSV)

The same service as Finance → Paiements → « Importer un relevé » (comptoir.payments.services.imports): the
statement's transfers matched to invoices by the invoice number of their label, recorded and allocated. The file is
read in memory, never stored (comptoir.payments.forms_imports).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.payments.forms_imports import MAX_STATEMENT_BYTES, StatementUploadHandler, read_statement
from comptoir.payments.services.imports import ImportResult, import_transfers


class UnmatchedLineOut(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line number in the file (the header is line 1).")
    label = serializers.CharField(help_text="The transfer's label.")
    reason = serializers.CharField(help_text="Why it was not recorded (French sentence).")


class StatementImportOut(serializers.Serializer):
    lines = serializers.IntegerField(help_text="Credits read from the statement (debits are ignored).")
    recorded = serializers.IntegerField(help_text="Transfers recorded as payments by this request.")
    already_imported = serializers.IntegerField(help_text="Transfers recorded by an earlier import of the same lines.")
    allocated = serializers.DecimalField(max_digits=14, decimal_places=2,
                                         help_text="Amount allocated to invoices by this request.")  # fmt: skip
    credit = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      help_text="Amount left as the companies' credit balance by this request.")  # fmt: skip
    unmatched = UnmatchedLineOut(many=True, help_text="Lines that name no payable invoice: not recorded.")


def result_data(result: ImportResult) -> dict[str, Any]:
    return {
        "lines": result.lines,
        "recorded": result.recorded,
        "already_imported": result.already_imported,
        "allocated": result.allocated,
        "credit": result.credit,
        "unmatched": [{"line": line, "label": label, "reason": reason} for line, label, reason in result.unmatched],
    }


class StatementUploadParser(parsers.MultiPartParser):
    """multipart/form-data with a `file` part (the statement)."""


class StatementImportMixin:
    """Bank statement import, an action of the payments resource: a CSV (UTF-8, `;`, header
    `date;montant;libelle;payeur`, one credit per line) whose transfers are matched to issued invoices by the invoice
    number in their label, recorded as transfer payments of the invoice's company and allocated up to what remains
    (the surplus is the company's credit balance). Right: `payments.add_payment`.

    No `Idempotency-Key` is needed: the import is idempotent by itself (each line's fingerprint is kept on its
    payment, so sending the same statement again records nothing new and counts its lines as `already_imported`).
    """

    organization: Any

    @extend_schema(
        request={"multipart/form-data": inline_serializer("StatementImportIn", {
            "file": serializers.FileField(help_text=f"The statement: CSV, UTF-8, {MAX_STATEMENT_BYTES // 2**20} MB "
                                          "at most. Header `date;montant;libelle;payeur`, then one line per "
                                          "credit: `05/12/2026;1 234,56;VIR SEPA FA-2026-000123;ATELIER LUMIERE`.")})},
        responses={200: StatementImportOut},
        summary="Import a bank statement: transfers matched to invoices, recorded and allocated.",
        description="Idempotent by itself (no Idempotency-Key needed). 400 at `file`: `required`, `too_large`, "
        "`invalid_encoding`, `invalid_file`, `invalid_header`, `invalid_line`, `too_many_lines`, `future_date` (nothing "
        "is recorded then).",
    )  # fmt: skip
    @action(detail=False, methods=["post"], url_path="import-statement", url_name="import-statement",
            parser_classes=[StatementUploadParser])  # fmt: skip
    def import_statement(self, request: Request) -> Response:
        # Before the body is read: the file stays in memory (bounded), never in a temporary file.
        request._request.upload_handlers = [StatementUploadHandler(request._request)]
        lines = read_statement(request.FILES.get("file"))
        result = import_transfers(organization=self.organization, by=request.user, lines=lines)  # type: ignore[arg-type]
        return Response(StatementImportOut(result_data(result)).data)
