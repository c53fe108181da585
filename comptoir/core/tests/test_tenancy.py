"""Invariant 1: another organization's objects answer 404 on every page and every endpoint."""

import pytest

from comptoir.core import selectors
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.factories import CenterFactory, StaffFactory

pytestmark = pytest.mark.django_db

# The whole project: every URL pattern that takes an object id, back office, portal and API.
test_every_object_url_answers_404_for_another_organization = tenancy_walk_test()


def test_selectors_never_return_another_organizations_rows(org, other_org, admin):
    CenterFactory(organization=other_org)
    StaffFactory(organization=other_org)

    assert not selectors.centers_for(admin, other_org).exists()
    assert not selectors.staff_for(admin, other_org).exists()
    assert list(selectors.centers_for(admin, org)) == []
    assert set(selectors.staff_for(admin, org).values_list("organization", flat=True)) == {org.pk}


def test_center_restricted_staff_sees_only_their_centers(org, staff_of):
    paris = CenterFactory(organization=org, name="Paris")
    CenterFactory(organization=org, name="Lyon")
    reception = StaffFactory(organization=org, kind="reception")
    reception.centers.set([paris])

    assert list(selectors.centers_for(reception.user, org)) == [paris]
