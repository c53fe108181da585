from django.urls import path

from comptoir.core.areas import collect
from comptoir.portal import views, views_documents, views_invoices

# Payment pages of the portal (pay an invoice, SEPA mandates, payment history): one module each, with its own
# `urlpatterns` (a module that does not exist yet is skipped).
PAYMENT_AREAS = ["views_pay", "views_mandates", "views_payments"]
# « Réservations » (bookings issue): its own module and `urlpatterns`, collected the same way.
BOOKING_AREAS = ["views_bookings"]
# « Formules » (packs bought and paid in the portal): the same.
PLAN_AREAS = ["views_plans"]

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("login/", views.portal_login, name="login"),
    path("logout/", views.portal_logout, name="logout"),
    path("members/", views.portal_members, name="members"),
    path("documents/", views_documents.documents, name="documents"),
    path("invoices/", views_invoices.invoices, name="invoices"),
    path("invoices/<int:pk>/", views_invoices.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", views_invoices.invoice_pdf, name="invoice_pdf"),
    path("quotes/<int:pk>/", views_documents.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/accept/", views_documents.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/pdf/", views_documents.quote_pdf, name="quote_pdf"),
    path("contracts/<int:pk>/sign/", views_documents.contract_sign, name="contract_sign"),
    path("contracts/<int:pk>/sign/code/", views_documents.contract_sign_code, name="contract_sign_code"),
    path("contracts/<int:pk>/sign/confirm/", views_documents.contract_sign_confirm, name="contract_sign_confirm"),
    path("contracts/<int:pk>/signed/", views_documents.contract_signed, name="contract_signed"),
    path("contracts/<int:pk>/document/", views_documents.contract_document, name="contract_document"),
    path(
        "contracts/<int:pk>/signed-document/",
        views_documents.contract_signed_document,
        name="contract_signed_document",
    ),
    *collect("comptoir.portal", PAYMENT_AREAS, "urlpatterns"),
    *collect("comptoir.portal", BOOKING_AREAS, "urlpatterns"),
    *collect("comptoir.portal", PLAN_AREAS, "urlpatterns"),
]
