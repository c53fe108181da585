"""The reusable list page: constant query count, keyset pagination, bounded counts, CSV export, HTMX."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from comptoir.core import lists, services
from comptoir.core.models import ApiToken, Center, StaffMembership, User
from comptoir.core.tests.factories import LegalEntityFactory, role

pytestmark = pytest.mark.django_db


def add_centers(org, count: int, *, start: int = 0, entity=None):  # type: ignore[no-untyped-def]
    entity = entity or LegalEntityFactory(organization=org)
    Center.objects.bulk_create(
        Center(
            organization=org,
            legal_entity=entity,
            name=f"Centre {number:04d}",
            code=f"c-{number:04d}",
            city=["Paris", "Lyon", "Lille"][number % 3],
        )
        for number in range(start, start + count)
    )
    return entity


def add_staff(org, count: int, *, start: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Staff members with a few centers each, so the list has related rows to prefetch."""
    users = User.objects.bulk_create(
        User(email=f"staff{number}@example.test", first_name="Sam", last_name=f"Durand{number:04d}", password="!")
        for number in range(start, start + count)
    )
    memberships = StaffMembership.objects.bulk_create(
        StaffMembership(organization=org, user=user, role=role(org, "reception")) for user in users
    )
    centers = list(Center.objects.filter(organization=org)[:2])
    through = StaffMembership.centers.through
    through.objects.bulk_create(
        through(staffmembership_id=membership.pk, center_id=center.pk)
        for membership in memberships
        for center in centers
    )


def count_queries(client, url: str, **headers) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(context.captured_queries)


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:]), delimiter=";"))


# --------------------------------------------------------------------------------------------------
# Same number of queries for 10 rows or 200
# --------------------------------------------------------------------------------------------------
def test_center_list_makes_the_same_queries_for_10_or_200_rows(org, admin, staff_client, django_assert_num_queries):
    client = staff_client(admin)
    url = reverse("manage:center_list")
    entity = add_centers(org, 10)
    client.get(url)  # warm the per-process caches (content types)
    with_10 = count_queries(client, url)
    add_centers(org, 190, start=10, entity=entity)

    with django_assert_num_queries(with_10):
        response = client.get(url)

    assert len(response.context["rows"]) == 50
    assert response.context["count_label"] == "200"


def test_staff_list_makes_the_same_queries_for_10_or_200_rows(org, admin, staff_client, django_assert_num_queries):
    add_centers(org, 3)
    client = staff_client(admin)
    url = reverse("manage:staff_list")
    add_staff(org, 9)
    client.get(url)
    with_10 = count_queries(client, url)
    add_staff(org, 190, start=9)

    with django_assert_num_queries(with_10):
        response = client.get(url)

    assert len(response.context["rows"]) == 50
    assert response.context["count"] == 200
    assert len(response.context["rows"][1].obj.centers.all()) == 2


def test_journal_list_makes_the_same_queries_for_10_or_200_rows(
    org, admin, center, staff_client, django_assert_num_queries
):
    client = staff_client(admin)
    url = reverse("manage:journal_list")
    client.get(url)
    with_few = count_queries(client, url)
    for number in range(100):
        services.update_center(center=center, by=admin, data={"name": f"Nom {number}"})

    with django_assert_num_queries(with_few):
        client.get(url)


# --------------------------------------------------------------------------------------------------
# Keyset pagination
# --------------------------------------------------------------------------------------------------
def walk(client, url: str, link: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The names on each page, following `next_url` or `previous_url` until there is none."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append([row.obj.name for row in response.context["rows"]])
        url = response.context[link]
    return pages


def test_next_and_previous_visit_every_row_once_in_order(org, admin, staff_client):
    add_centers(org, 120)
    client = staff_client(admin)

    forward = walk(client, reverse("manage:center_list"), "next_url")
    last = client.get(reverse("manage:center_list"))
    for _page in range(2):
        last = client.get(last.context["next_url"])
    backward = walk(client, last.context["previous_url"], "previous_url")

    names = [f"Centre {number:04d}" for number in range(120)]
    assert [len(page) for page in forward] == [50, 50, 20]
    assert [name for page in forward for name in page] == names
    assert backward == [forward[1], forward[0]]
    assert last.context["has_next"] is False and last.context["has_previous"] is True


def test_pagination_breaks_ties_by_pk_in_both_directions(org, admin, staff_client):
    entity = add_centers(org, 0)
    Center.objects.bulk_create(
        Center(organization=org, legal_entity=entity, name="Même nom", code=f"m-{n}", city=["Paris", "Lyon"][n % 2])
        for n in range(110)
    )
    client = staff_client(admin)
    expected = list(Center.objects.filter(organization=org).order_by("-city", "-pk").values_list("pk", flat=True))

    seen = []
    url = reverse("manage:center_list") + "?sort=-city"
    while url:
        response = client.get(url)
        seen += [row.obj.pk for row in response.context["rows"]]
        url = response.context["next_url"]

    assert seen == expected


def test_pagination_over_a_nullable_sort_column_visits_every_row_once(org, admin):
    # expires_at is NULL for half of the tokens: NULLs sort last going up, first going down
    tokens = []
    for number in range(23):
        expires = timezone.now() + datetime.timedelta(days=number % 4) if number % 2 else None
        tokens.append(
            services.create_api_token(organization=org, user=admin, by=None, name=f"t{number}", expires_at=expires)[0]
        )
    queryset = ApiToken.objects.filter(organization=org)
    for descending in (False, True):
        sort = lists.Sort(key="expires_at", field="expires_at", descending=descending)
        seen, cursor = [], None
        while True:
            page = lists.keyset_page(queryset, sort, cursor, 5)
            seen += [token.pk for token in page.rows]
            page_rows = page.rows
            if not page.has_next:
                break
            cursor = page.next_cursor
        back, cursor = [], page.previous_cursor
        while cursor:
            page = lists.keyset_page(queryset, sort, cursor, 5)
            back = [token.pk for token in page.rows] + back
            cursor = page.previous_cursor if page.has_previous else None

        assert sorted(seen) == sorted(token.pk for token in tokens)
        assert len(seen) == len(set(seen)) == 23
        assert back == seen[: len(seen) - len(page_rows)]


def test_bad_cursor_sort_or_filter_values_are_ignored(org, admin, staff_client):
    add_centers(org, 60)
    client = staff_client(admin)
    url = reverse("manage:center_list")
    tampered = client.get(url).context["next_url"].replace("cursor=", "cursor=x")

    responses = [
        client.get(url, {"cursor": "garbage"}),
        client.get(tampered),
        client.get(url, {"sort": "-password"}),
        client.get(url, {"sort": ""}),
        client.get(url, {"legal_entity": "abc", "is_active": "peut-être"}),
        client.get(url, {"legal_entity": "999999999999999999999"}),
        client.get(url, {"q": "x" * 5000}),
        client.get(url, {"q": "Centre\x00"}),
        client.get(url, {"export": "pdf"}),
    ]

    assert [response.status_code for response in responses] == [200] * len(responses)
    for response in responses[:6]:
        assert response.context["rows"][0].obj.name == "Centre 0000"


def test_a_cursor_of_another_sort_is_ignored(org, admin, staff_client):
    add_centers(org, 60)
    client = staff_client(admin)
    next_url = client.get(reverse("manage:center_list")).context["next_url"]

    response = client.get(next_url + "&sort=-name")

    assert response.context["rows"][0].obj.name == "Centre 0059"


# --------------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------------
def test_count_is_exact_up_to_the_limit_then_shown_with_a_plus(org, admin, staff_client, settings):
    settings.LIST_COUNT_LIMIT = 5
    add_centers(org, 7)
    client = staff_client(admin)

    over = client.get(reverse("manage:center_list"))
    under = client.get(reverse("manage:center_list"), {"q": "Lyon"})

    assert over.context["count_label"] == "5+" and over.context["count_exact"] is False
    assert "5+ résultats" in over.content.decode()
    assert under.context["count_label"] == "2" and under.context["count_exact"] is True
    assert "2 résultats" in under.content.decode()


def test_count_label_groups_thousands_the_french_way():
    with translation.override("fr"):
        assert lists.count_label(1000, False) == "1\u202f000+"
        assert lists.count_label(999, True) == "999"
    with translation.override("en"):
        assert lists.count_label(1000, False) == "1,000+"


def test_bounded_count_counts_a_limited_subquery(org, admin):
    add_centers(org, 12)
    queryset = Center.objects.filter(organization=org)

    with CaptureQueriesContext(connection) as context:
        assert lists.bounded_count(queryset, 10) == (10, False)
    assert lists.bounded_count(queryset, 12) == (12, True)
    assert "LIMIT 11" in context.captured_queries[0]["sql"].upper()


# --------------------------------------------------------------------------------------------------
# Search, filters, sorting, HTMX
# --------------------------------------------------------------------------------------------------
def test_sorting_by_clicking_a_header_toggles_the_direction(org, admin, staff_client):
    add_centers(org, 6)
    client = staff_client(admin)

    by_city = client.get(reverse("manage:center_list"), {"sort": "city"})
    headers = {header.column.key: header for header in by_city.context["headers"]}

    assert [row.obj.city for row in by_city.context["rows"]] == ["Lille", "Lille", "Lyon", "Lyon", "Paris", "Paris"]
    assert headers["city"].direction == "asc" and headers["city"].aria_sort == "ascending"
    assert "sort=-city" in headers["city"].url and "sort=name" in headers["name"].url
    assert headers["timezone"].url is None  # not sortable
    assert 'aria-sort="ascending"' in by_city.content.decode()


def test_search_and_filter_combine(org, admin, staff_client):
    add_centers(org, 9)
    Center.objects.filter(organization=org, name="Centre 0004").update(is_active=False)
    client = staff_client(admin)

    response = client.get(reverse("manage:center_list"), {"q": "lyon", "is_active": "true"})

    assert [row.obj.name for row in response.context["rows"]] == ["Centre 0001", "Centre 0007"]
    assert response.context["is_filtered"] is True


def test_empty_list_shows_a_call_to_action(org, admin, staff_client):
    client = staff_client(admin)

    empty = client.get(reverse("manage:center_list"))
    no_match = client.get(reverse("manage:center_list"), {"q": "introuvable"})

    assert "Aucun centre pour le moment." in empty.content.decode()
    assert f'href="{reverse("manage:center_create")}"' in empty.content.decode()
    assert "Aucun résultat ne correspond à ces critères." in no_match.content.decode()


def test_htmx_gets_only_the_results_partial(org, admin, staff_client):
    add_centers(org, 3)
    client = staff_client(admin)

    response = client.get(
        reverse("manage:center_list"), {"sort": "-name"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results"
    )
    full = client.get(reverse("manage:center_list"))

    content = response.content.decode()
    assert "<html" not in content and 'id="list-filters"' not in content
    assert 'id="list-results"' in content and "Centre 0002" in content
    assert 'id="list-sort" value="-name" hx-swap-oob="true"' in content
    assert 'id="list-filters"' in full.content.decode() and "hx-swap-oob" not in full.content.decode()


# --------------------------------------------------------------------------------------------------
# CSV export
# --------------------------------------------------------------------------------------------------
def test_csv_export_streams_every_filtered_row_for_french_excel(org, admin, staff_client):
    add_centers(org, 75)
    Center.objects.filter(organization=org, name="Centre 0000").update(name='=HYPERLINK("x")')
    client = staff_client(admin)

    response = client.get(reverse("manage:center_list"), {"export": "csv", "q": "Paris", "sort": "-name"})

    rows = csv_rows(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="centres-')
    assert rows[0] == ["Nom", "Code", "Ville", "Entité juridique", "Fuseau horaire", "Statut", "Créé le"]
    assert len(rows) == 1 + 25  # every Paris center, beyond one page of 50
    assert rows[1][:3] == ["Centre 0072", "c-0072", "Paris"]
    assert rows[1][5] == "Actif"
    assert rows[1][6] == timezone.localdate().strftime("%d/%m/%Y")
    assert rows[-1][0] == '\'=HYPERLINK("x")'  # no formula injection


def test_staff_csv_lists_centers_and_status(org, admin, staff_client):
    add_centers(org, 2)
    add_staff(org, 3)
    client = staff_client(admin)

    rows = csv_rows(client.get(reverse("manage:staff_list"), {"export": "csv"}))

    assert rows[0] == ["Nom", "E-mail", "Rôle", "Fonction", "Centres", "Statut", "Ajouté le"]
    assert rows[1][4] == "Centre 0000, Centre 0001" and rows[1][5] == "Invitation envoyée"
    assert rows[-1][1] == admin.email and rows[-1][4] == "Tous" and rows[-1][5] == "Actif"


def test_plain_text_formats_values_for_a_spreadsheet():
    from decimal import Decimal

    with translation.override("fr"):
        assert lists.plain_text(Decimal("1234.50")) == "1234,50"
        assert lists.plain_text(True) == "Oui" and lists.plain_text(None) == ""
        assert lists.plain_text(datetime.date(2026, 11, 23)) == "23/11/2026"
        assert lists.plain_text("-1+1") == "'-1+1" and lists.plain_text(-3) == "-3"
        assert lists.plain_text(["a", "b"]) == "a, b"


def test_cursor_is_signed_and_typed():
    sort = lists.Sort(key="created_at", field="created_at", descending=True)
    moment = timezone.now()

    cursor = lists.make_cursor(sort, "n", moment, 42)

    assert lists.read_cursor(cursor, sort) == ("n", moment, 42)
    assert lists.read_cursor(cursor[:-2] + "xx", sort) is None
    assert lists.read_cursor(cursor, lists.Sort(key="created_at", field="created_at", descending=False)) is None
    assert lists.read_cursor("", sort) is None


def test_a_data_cell_is_marked_not_to_translate_and_a_label_cell_is_not():
    from comptoir.core.lists import Cell, Column

    data = Column("title", "Intitulé", data=True)
    label = Column("status", "Statut", link=True)
    assert Cell(data, "Bureau <privatif>").html(None) == '<span translate="no">Bureau &lt;privatif&gt;</span>'
    assert Cell(data, None).html(None) == '<span class="text-body-tertiary">—</span>'
    assert Cell(label, "Actif").html("/x/") == '<a class="row-link" href="/x/">Actif</a>'


def test_percent_follows_the_language():
    from django.utils import translation

    from comptoir.core.templatetags.comptoir import percent

    with translation.override("fr"):
        assert percent(10) == "10\u202f%" and percent("12.5", "1") == "12,5\u202f%"
    with translation.override("en"):
        assert percent(10) == "10%" and percent("12.5", "1") == "12.5%"
    assert percent(None) == ""
