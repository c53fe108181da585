"""Default payments rights of the predefined roles (the administrator holds every right)."""

from comptoir.core.rights import register_default_rights

register_default_rights(
    {
        "manager": {
            "payments.payment": "vac",
            "payments.paymentlink": "vac",
            "payments.mandate": "vac",
            "payments.debitbatch": "vac",
            "payments.reminder": "vac",
            "payments.paymentprofile": "v",
        },
        "reception": {"payments.payment": "v", "payments.paymentlink": "va", "payments.reminder": "v"},
    }
)
