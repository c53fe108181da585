from comptoir.core.testing import tenancy_walk_test

test_billing_objects_of_another_organization_answer_404 = tenancy_walk_test(
    namespaces=["billing"], api_prefixes=["invoices", "consumptions", "billing-runs", "exports"]
)
