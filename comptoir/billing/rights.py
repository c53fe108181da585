"""Default billing rights of the predefined roles (the administrator holds every right)."""

from comptoir.core.rights import register_default_rights

register_default_rights(
    {
        "manager": {
            "billing.invoice": "vac",
            "billing.issue_invoice": "*",
            "billing.consumption": "vacd",
            "billing.billingrun": "vac",
            "billing.billingprofile": "v",
        },
        "reception": {"billing.invoice": "v", "billing.consumption": "vac"},
    }
)
