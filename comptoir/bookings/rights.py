"""Default bookings rights of the predefined roles (the administrator holds every right)."""

from comptoir.core.rights import register_default_rights

register_default_rights(
    {
        "manager": {"bookings.booking": "vacd", "bookings.blockedslot": "vacd", "bookings.planassignment": "vacd",
                    "bookings.creditentry": "va"},
        "reception": {"bookings.booking": "vac", "bookings.blockedslot": "vac", "bookings.planassignment": "v",
                      "bookings.creditentry": "v"},
    }
)  # fmt: skip
