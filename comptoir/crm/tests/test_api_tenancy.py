"""Every CRM API URL with an id answers 404 for another organization's objects, and changes nothing there."""

from comptoir.core.testing import tenancy_walk_test

test_crm_api = tenancy_walk_test(
    namespaces=[],
    api_prefixes=[
        "companies",
        "contacts",
        "job-functions",
        "opportunities",
        "activities",
        "notes",
        "actions",
        "marketing-sources",
    ],
)
