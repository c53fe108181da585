"""Every CRM back office URL answers 404 for another organization's objects (DESIGN.md invariant 1)."""

from comptoir.core.testing import tenancy_walk_test

test_crm_objects_of_another_organization_answer_404 = tenancy_walk_test(namespaces=["crm"], api_prefixes=[])
