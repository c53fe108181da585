"""The REST API, /api/v1/ (namespace "api"). Each app registers its viewsets on the one router below.

A basename starts with the model key the back office uses ("center", "legalentity", ...): URL names
are "api:<basename>-list", "api:<basename>-detail", "api:<basename>-<action>". Anything else under
/api/v1/ answers a JSON 404.
"""

from importlib import import_module

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.routers import SimpleRouter

from comptoir.core.api import views as core
from comptoir.core.api.errors import not_found
from comptoir.core.api.search import SearchViewSet
from comptoir.core.areas import collect
from comptoir.crm.api import views as crm

app_name = "api"

router = SimpleRouter(use_regex_path=False)
router.register("organizations", core.OrganizationViewSet, basename="organization")
router.register("legal-entities", core.LegalEntityViewSet, basename="legalentity")
router.register("centers", core.CenterViewSet, basename="center")
router.register("staff", core.StaffViewSet, basename="staff")
router.register("roles", core.RoleViewSet, basename="role")
router.register("tokens", core.ApiTokenViewSet, basename="apitoken")
router.register("journal", core.AuditEntryViewSet, basename="auditentry")
router.register("search", SearchViewSet, basename="search")
router.register("companies", crm.CompanyViewSet, basename="company")
router.register("contacts", crm.ContactViewSet, basename="contact")
router.register("job-functions", crm.JobFunctionViewSet, basename="jobfunction")
router.register("opportunities", crm.OpportunityViewSet, basename="opportunity")
router.register("activities", crm.ActivityViewSet, basename="activity")
router.register("notes", crm.NoteViewSet, basename="note")
router.register("actions", crm.ActionViewSet, basename="action")
router.register("marketing-sources", crm.MarketingSourceViewSet, basename="marketingsource")
# Later apps list their routes per area (comptoir.core.areas): ROUTES = [(prefix, viewset, basename)]
for app in ("catalog", "sales", "billing", "payments", "bookings"):
    for prefix, viewset, basename in collect(f"comptoir.{app}.api", import_module(f"comptoir.{app}.areas").AREAS,
                                             "ROUTES"):  # fmt: skip
        router.register(prefix, viewset, basename=basename)


def _file_alias(view):  # type: ignore[no-untyped-def]
    """The same view under a name without the router's trailing slash (`/invoices/{id}/facturx.xml`, a contract
    point), as a plain function so the schema lists the documented path only."""

    def alias(request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return view(request, *args, **kwargs)

    return csrf_exempt(alias)


FILE_ALIASES = [
    path(str(pattern.pattern).removesuffix("/"), _file_alias(pattern.callback), name=f"{pattern.name}-file")
    for pattern in router.urls
    if str(pattern.pattern).endswith(".xml/")
]

urlpatterns = [
    path("", core.api_root, name="root"),
    path("schema/", core.PublicSchemaView.as_view(), name="schema"),
    path("docs/", core.PublicDocsView.as_view(), name="docs"),
    *router.urls,
    *FILE_ALIASES,
    re_path(r"^(?P<path>.*)$", not_found, name="not-found"),
]
