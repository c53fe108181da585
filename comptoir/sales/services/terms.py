"""General terms of sale (CGV), versioned per organization: publishing makes version n+1; a published
version is never edited (a contract keeps the version it was made with)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core import journal, rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.sales.models import Terms

TITLE_MAX_LENGTH = 200


def current_terms(organization: Organization | int) -> Terms | None:
    """The latest published version of the organization's CGV (None when none was published)."""
    org_id = organization if isinstance(organization, int) else organization.pk
    return Terms.objects.filter(organization_id=org_id).order_by("-version").first()


@transaction.atomic
def publish_terms(*, organization: Organization, by: User, title: str, body: str) -> Terms:
    rights.require(by, "sales.add_terms", organization)
    title = (title or "").strip() or _("Conditions générales de vente")
    body = (body or "").strip()
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationFailed(_("Le titre est trop long (200 caractères au plus)."), code="too_long", field="title")
    if not body:
        raise ValidationFailed(_("Le texte des conditions est obligatoire."), code="required", field="body")
    # one publisher at a time per organization: the versions have no gap and no duplicate
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    latest = current_terms(organization)
    terms = Terms.objects.create(
        organization=organization,
        version=(latest.version if latest else 0) + 1,
        title=title,
        body=body,
        published_at=timezone.now(),
        created_by=by,
    )
    journal.record(
        actor=by, action="terms.published", obj=terms, changes={"version": terms.version, "title": terms.title}
    )
    return terms
