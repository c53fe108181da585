from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingsConfig(AppConfig):
    name = "comptoir.bookings"
    label = "bookings"
    verbose_name = _("Réservations")

    def ready(self) -> None:
        from comptoir.bookings import navigation, rights  # noqa: F401  (rights: default rights of the roles)

        navigation.register_entries()
        # Floor plans: a space booked that day shows as occupied (a pending request as reserved).
        from comptoir.bookings import occupancy as booking_occupancy
        from comptoir.bookings import urls  # noqa: F401  (the views register their journal links when imported)
        from comptoir.catalog import occupancy

        occupancy.register(booking_occupancy.provider)

        # Paid up front: a prepaid booking or a pack bought in the portal acts on its invoice being paid.
        from comptoir.bookings.services import prepaid
        from comptoir.core import events

        events.subscribe("invoice.paid", prepaid.on_invoice_paid, order=50)
        events.subscribe("invoice.cancelled", prepaid.on_invoice_cancelled, order=50)
