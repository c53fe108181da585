"""Default catalog rights of the predefined roles (the administrator holds every right)."""

from comptoir.core.rights import register_default_rights

register_default_rights(
    {
        "manager": {
            "catalog.space": "vacd",
            "catalog.floorplan": "vacd",
            "catalog.product": "vacd",
            "catalog.centerrate": "vac",
            "catalog.pricegrid": "vacd",
            "catalog.discount": "vacd",
        },
        "reception": {
            "catalog.space": "v",
            "catalog.floorplan": "v",
            "catalog.product": "v",
            "catalog.centerrate": "v",
            "catalog.pricegrid": "v",
            "catalog.discount": "v",
        },
        "technician": {"catalog.space": "vc", "catalog.floorplan": "v"},
    }
)
