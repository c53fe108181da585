"""Back office page crm:company_import: upload → preview (errors highlighted) → confirm → imported."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from comptoir.crm.models import Company

pytestmark = pytest.mark.django_db

URL = "/manage/crm/companies/import/"
GOOD = "Raison sociale;SIRET;Ville;Contact nom\nAtelier Dupont;73282932000074;Paris;Dupont\nStudio B;;Lyon;\n"


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("import.csv", text.encode("utf-8"), content_type="text/csv")


def test_the_url_is_named():
    assert reverse("crm:company_import") == URL


def test_upload_preview_then_confirm_imports(org, admin, staff_client):
    client = staff_client(admin)
    assert client.get(URL).status_code == 200

    preview = client.post(URL, {"file": upload(GOOD)})

    assert preview.status_code == 200
    content = preview.content.decode()
    assert "Atelier Dupont" in content and "Studio B" in content and 'name="confirm"' in content
    assert not Company.objects.filter(organization=org).exists()

    token = preview.context["token"]
    response = client.post(URL, {"confirm": "1", "token": token})

    assert response.status_code == 302 and response["Location"] == reverse("crm:company_list")
    assert sorted(Company.objects.filter(organization=org).values_list("name", flat=True)) == [
        "Atelier Dupont", "Studio B",
    ]  # fmt: skip
    # the stored file is used once
    client.post(URL, {"confirm": "1", "token": token})
    assert Company.objects.filter(organization=org).count() == 2


def test_a_bad_row_is_highlighted_and_no_confirm_button(org, admin, staff_client):
    client = staff_client(admin)

    response = client.post(URL, {"file": upload(GOOD + "Mauvaise;123;Paris;\n")})

    content = response.content.decode()
    assert 'data-import-error="4"' in content and 'name="confirm"' not in content
    assert response.context["report"].rows_valid == 2
    # a forged confirmation imports nothing
    client.post(URL, {"confirm": "1", "token": "forged"})
    assert not Company.objects.filter(organization=org).exists()


def test_an_unreadable_file_is_refused_at_the_field(admin, staff_client):
    response = staff_client(admin).post(URL, {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00a")})

    assert response.status_code == 200 and "UTF-8" in response.context["form"].errors["file"][0]


def test_the_page_needs_the_right_to_add_companies(staff_of, staff_client):
    assert staff_client(staff_of("technician")).get(URL).status_code == 403
