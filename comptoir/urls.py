from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path

from comptoir.core.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("comptoir.core.urls_accounts")),
    path("manage/", include("comptoir.core.urls")),
    path("manage/crm/", include("comptoir.crm.urls")),
    path("manage/catalog/", include("comptoir.catalog.urls")),
    path("manage/sales/", include("comptoir.sales.urls")),
    path("manage/billing/", include("comptoir.billing.urls")),
    path("manage/payments/", include("comptoir.payments.urls")),
    path("manage/bookings/", include("comptoir.bookings.urls")),
    path("portal/", include("comptoir.portal.urls")),
    path("api/v1/", include("comptoir.api_urls")),
    path("", include("comptoir.market.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
