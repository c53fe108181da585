"""The « Importer un relevé » form (Finance → Paiements) and the reading of an uploaded statement, shared by the back
office view and the API (comptoir.payments.views.imports, comptoir.payments.api.imports).

An uploaded statement is never written to disk: `StatementUploadHandler` keeps the first file of the request in
memory, up to `MAX_STATEMENT_BYTES`; beyond that it only counts the bytes, so the file is refused at its field with
its real size and the memory used stays bounded.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import ValidationFailed
from comptoir.core.forms import StyledFormMixin
from comptoir.payments.services.imports import TransferLine, parse_statement

MAX_STATEMENT_BYTES = 20 * 1024 * 1024
EXAMPLE_HEADER = "date;montant;libelle;payeur"
EXAMPLE_LINE = "05/12/2026;1 234,56;VIR SEPA ATELIER LUMIERE FA-2026-000123;ATELIER LUMIERE"


class StatementUploadHandler(FileUploadHandler):
    """Keeps the request's first uploaded file in memory (never in a temporary file), at most `MAX_STATEMENT_BYTES`
    of it: a larger file comes out with its real size and no content, and any further file of the request is
    dropped. Install it before the request's body is read: `request.upload_handlers = [StatementUploadHandler()]`."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.files_seen = 0
        self.buffer: io.BytesIO | None = None
        self.size = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files_seen += 1
        self.buffer = io.BytesIO() if self.files_seen == 1 else None
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.buffer is not None and self.size <= MAX_STATEMENT_BYTES:
            self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.buffer is None:
            return None
        content = self.buffer if self.size <= MAX_STATEMENT_BYTES else io.BytesIO()
        content.seek(0)
        self.buffer = None
        return InMemoryUploadedFile(content, self.field_name, self.file_name, self.content_type, self.size,
                                    self.charset, self.content_type_extra)  # fmt: skip


def too_large_message() -> str:
    return _("Fichier trop volumineux : %(max)s Mo au plus.") % {"max": MAX_STATEMENT_BYTES // (1024 * 1024)}


def read_statement(upload: UploadedFile | None) -> list[TransferLine]:
    """The credits of an uploaded statement; `ValidationFailed` at field `file` for a missing, too large, non-UTF-8
    or unreadable file (nothing is imported from a file half understood)."""
    if upload is None:
        raise ValidationFailed(_("Joignez le relevé bancaire (fichier CSV)."), code="required", field="file")
    if (upload.size or 0) > MAX_STATEMENT_BYTES:
        raise ValidationFailed(too_large_message(), code="too_large", field="file")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("Le fichier doit être un CSV encodé en UTF-8."), code="invalid_encoding",
                               field="file") from None  # fmt: skip
    if "\x00" in text:
        raise ValidationFailed(_("Ce fichier n'est pas un CSV lisible."), code="invalid_file", field="file")
    try:
        return parse_statement(text)
    except csv.Error:
        raise ValidationFailed(_("Ce fichier n'est pas un CSV lisible."), code="invalid_file", field="file") from None


class StatementImportForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Relevé bancaire (CSV)"),
        help_text=gettext_lazy("UTF-8, séparateur « ; », une ligne d'en-tête ; 20 Mo au plus."),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise ValidationError(too_large_message(), code="too_large")
        return upload

    def statement_lines(self) -> list[TransferLine]:
        """The statement's credits (after `is_valid()`); `ValidationFailed` at `file` when it cannot be read."""
        return read_statement(self.cleaned_data["file"])
