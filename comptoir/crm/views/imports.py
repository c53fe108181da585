"""Annuaire → Importer: CSV import of companies (with their main contact) and members of existing companies.

Upload → preview (a dry run: every row, errors highlighted at their cell) → confirm. The uploaded CSV
is kept in the session under a random token between the preview and the confirmation, so the import
runs on exactly the content that was previewed. The import itself is `imports.import_companies`: all
the rows or none.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.views.base import right_required
from comptoir.crm import imports

SESSION_KEY = "crm_company_import"


class CompanyImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Fichier CSV"),
        help_text=gettext_lazy("UTF-8, séparateur « ; » ou « , », une ligne d'en-tête (voir le format ci-dessous)."),
    )


def _preview_rows(report: imports.ImportReport) -> list[dict[str, Any]]:
    columns = list(report.columns.items())
    rows = []
    for row in report.rows:
        bad_columns = {error.column for error in row.errors}
        rows.append(
            {
                "line": row.line,
                "cells": [(row.values.get(name, ""), header in bad_columns) for name, header in columns],
                "errors": row.errors,
            }
        )
    return rows


def _render(request: HttpRequest, form: CompanyImportForm, report: imports.ImportReport | None = None,
            token: str = "") -> HttpResponse:  # fmt: skip
    return render(
        request,
        "crm/imports/company_import.html",
        {
            "title": _("Importer des entreprises"),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list"))],
            "form": form,
            "report": report,
            "headers": list(report.columns.values()) if report else [],
            "rows": _preview_rows(report) if report else [],
            "token": token,
            "columns": imports.COLUMNS,
            "max_rows": imports.MAX_ROWS,
        },
    )


@right_required("crm.add_company")
def company_import(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = CompanyImportForm()
    if request.method != "POST":
        request.session.pop(SESSION_KEY, None)
        return _render(request, form)
    if "confirm" in request.POST:
        stored = request.session.get(SESSION_KEY) or {}
        if not stored or not secrets.compare_digest(str(stored.get("token", "")), request.POST.get("token", "")):
            messages.error(request, _("L'aperçu a expiré : déposez le fichier à nouveau."))
            return redirect("crm:company_import")
        try:
            report = imports.import_companies(
                organization=organization, by=request.user, file=stored["content"], dry_run=False
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("crm:company_import")
        if report.imported:
            request.session.pop(SESSION_KEY, None)
            messages.success(
                request,
                _("Import terminé : %(companies)d entreprise(s) et %(contacts)d membre(s) créés.")
                % {"companies": report.companies_created, "contacts": report.contacts_created},
            )
            return redirect("crm:company_list")
        messages.error(request, _("Rien n'a été importé : corrigez les lignes signalées."))
        return _render(request, form, report)
    form = CompanyImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form)
    upload = form.cleaned_data["file"]
    if upload.size > imports.MAX_BYTES:
        form.add_error("file", _("Fichier trop volumineux (5 Mo au plus)."))
        return _render(request, form)
    try:
        content = imports.decode(upload.read())
        report = imports.import_companies(organization=organization, by=request.user, file=content, dry_run=True)
    except DomainError as exc:
        form.add_error("file", exc.message)
        return _render(request, form)
    token = ""
    if report.is_valid:
        token = secrets.token_urlsafe(16)
        request.session[SESSION_KEY] = {"token": token, "content": content}
    else:
        request.session.pop(SESSION_KEY, None)
    return _render(request, CompanyImportForm(), report, token)


urlpatterns = [
    path("companies/import/", company_import, name="company_import"),
]
