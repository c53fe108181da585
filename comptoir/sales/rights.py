"""Default sales rights of the predefined roles (the administrator holds every right)."""

from comptoir.core.rights import register_default_rights

register_default_rights(
    {
        "manager": {"sales.quote": "vacd", "sales.contract": "vacd", "sales.terms": "vac"},
        "reception": {"sales.quote": "v", "sales.contract": "v", "sales.terms": "v"},
    }
)
