"""Sales → a contract's e-signature evidence: who signed, from where, when, with which CGV version and
document hash, every step; a live check of the stored signed PDF (its SHA-256 and the organization's
seal) and a form to check any PDF against it. Also the download of the sealed, signed PDF."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.forms import StyledFormMixin
from comptoir.core.views.base import right_required
from comptoir.sales import seal
from comptoir.sales.models import Contract
from comptoir.sales.selectors import signature as selectors
from comptoir.sales.services import signature as service

MAX_UPLOAD_BYTES = 25 * 1024 * 1024

MENU: list = []  # reached from the contract's page (no menu entry of its own)


class CheckDocumentForm(StyledFormMixin, forms.Form):
    document = forms.FileField(
        label=gettext_lazy("PDF à vérifier"),
        help_text=gettext_lazy("Le fichier reçu du client ou d'un tiers : il est comparé à l'original signé."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_document(self) -> bytes:
        upload = self.cleaned_data["document"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("Ce fichier est trop volumineux (25 Mo au plus)."))
        data = upload.read()
        if not data.startswith(b"%PDF"):
            raise forms.ValidationError(_("Ce fichier n'est pas un PDF."))
        return data


@dataclass(frozen=True)
class LiveCheck:
    stored_sha256: str
    actual_sha256: str
    seal: seal.VerificationResult | None

    @property
    def hash_matches(self) -> bool:
        return bool(self.stored_sha256) and self.stored_sha256 == self.actual_sha256

    @property
    def ok(self) -> bool:
        return self.hash_matches and self.seal is not None and self.seal.intact


@dataclass(frozen=True)
class UploadCheck:
    sha256: str
    identical: bool
    seal: seal.VerificationResult


def _contract(request: HttpRequest, pk: int) -> Contract:
    return get_object_or_404(selectors.contracts_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]


def live_check(contract: Contract) -> tuple[LiveCheck | None, LiveCheck | None]:
    """(the original PDF's hash check, the signed PDF's hash and seal check) from the stored files."""
    original = signed = None
    if contract.document:
        data = service.read_file(contract.document)
        original = LiveCheck(contract.document_sha256, hashlib.sha256(data).hexdigest(), None)
    if contract.signed_document:
        data = service.read_file(contract.signed_document)
        signed = LiveCheck(
            contract.signed_document_sha256,
            hashlib.sha256(data).hexdigest(),
            seal.verify_sealed_pdf(contract.organization, data),
        )
    return original, signed


@right_required("sales.view_contract")
def contract_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """The evidence page; POST: check an uploaded PDF against the original signed one."""
    contract = _contract(request, pk)
    form = CheckDocumentForm(request.POST or None, request.FILES or None)
    upload: UploadCheck | None = None
    if request.method == "POST":
        if not contract.signed_document_sha256:
            form.add_error(None, _("Ce contrat n'est pas encore signé : il n'y a rien à comparer."))
        elif form.is_valid():
            data = form.cleaned_data["document"]
            digest = hashlib.sha256(data).hexdigest()
            upload = UploadCheck(
                sha256=digest,
                identical=digest == contract.signed_document_sha256,
                seal=seal.verify_sealed_pdf(contract.organization, data),
            )
    signatures = selectors.signatures_of(contract)
    signed = next((item for item in signatures if item.status == "signed"), None)
    original_check, signed_check = live_check(contract)
    context: dict[str, Any] = {
        "contract": contract,
        "object": contract,
        "signature": signed,
        "signatures": signatures,
        "masked_phone": service.mask_phone(signed.phone) if signed and signed.phone else "",
        "original_check": original_check,
        "signed_check": signed_check,
        "form": form,
        "upload": upload,
        "title": _("Preuve de signature"),
        "breadcrumb": _breadcrumb(contract),
    }
    context["partial"] = bool(request.headers.get("HX-Request"))
    template = "sales/signatures/_upload_result.html" if context["partial"] else None
    status = 400 if request.method == "POST" and upload is None else 200
    return render(request, template or "sales/signatures/evidence.html", context, status=status)


def _breadcrumb(contract: Contract) -> list[tuple[str, str]]:
    try:
        return [(contract.reference, reverse("sales:contract_detail", args=[contract.pk]))]
    except Exception:  # the contracts area is not installed
        return []


@right_required("sales.view_contract")
def contract_signed_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The sealed, signed PDF as stored (its SHA-256 is on the evidence page)."""
    contract = _contract(request, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not contract.signed_document:
        raise Http404(_("Ce contrat n'est pas encore signé."))
    response = HttpResponse(service.read_file(contract.signed_document), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, f"{contract.reference}-signe.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("contracts/<int:pk>/evidence/", contract_evidence, name="contract_evidence"),
    path("contracts/<int:pk>/signed.pdf", contract_signed_pdf, name="contract_signed_pdf"),
]
