from comptoir.core.testing import tenancy_walk_test

test_catalog_objects_of_another_organization_answer_404 = tenancy_walk_test(
    namespaces=["catalog"],
    api_prefixes=["spaces", "products", "floor-plans", "price-grids", "center-rates", "discounts", "pricing"],
)
