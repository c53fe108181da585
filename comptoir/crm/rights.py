"""Default CRM rights of the predefined roles (the administrator holds every right)."""

from comptoir.core.rights import register_default_rights

register_default_rights(
    {
        "manager": {
            "crm.company": "vacd",
            "crm.contact": "vacd",
            "crm.opportunity": "vacd",
            "crm.activity": "vacd",
            "crm.note": "vacd",
            "crm.action": "vacd",
            "crm.marketingsource": "vacd",
            "crm.jobfunction": "vacd",
        },
        "reception": {
            "crm.company": "vac",
            "crm.contact": "vac",
            "crm.activity": "vac",
            "crm.note": "va",
            "crm.action": "vac",
            "crm.opportunity": "v",
            "crm.jobfunction": "v",
        },
        "technician": {"crm.company": "v", "crm.contact": "v", "crm.action": "vc"},
    }
)
