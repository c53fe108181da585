"""The back office (/manage/) of the core app. Object URLs take `<int:pk>`; their names start with the model key."""

from django.urls import path

from comptoir.core.views import manage, search, settings_pages, staff

app_name = "manage"

urlpatterns = [
    path("", manage.home, name="home"),
    path("organization/switch/", manage.switch_organization, name="switch_organization"),
    path("search/", search.search, name="search"),
    # Paramètres
    path("settings/organization/", settings_pages.organization_settings, name="organization_settings"),
    path("settings/legal-entities/", settings_pages.legalentity_list, name="legalentity_list"),
    path("settings/legal-entities/new/", settings_pages.legalentity_create, name="legalentity_create"),
    path("settings/legal-entities/<int:pk>/", settings_pages.legalentity_detail, name="legalentity_detail"),
    path("settings/legal-entities/<int:pk>/edit/", settings_pages.legalentity_edit, name="legalentity_edit"),
    path("settings/legal-entities/<int:pk>/centers/", settings_pages.legalentity_centers, name="legalentity_centers"),
    path("settings/centers/", settings_pages.center_list, name="center_list"),
    path("settings/centers/new/", settings_pages.center_create, name="center_create"),
    path("settings/centers/<int:pk>/", settings_pages.center_detail, name="center_detail"),
    path("settings/centers/<int:pk>/edit/", settings_pages.center_edit, name="center_edit"),
    path("settings/centers/<int:pk>/hours/", settings_pages.center_hours, name="center_hours"),
    path("settings/api-tokens/", manage.apitoken_list, name="apitoken_list"),
    path("settings/api-tokens/new/", manage.apitoken_create, name="apitoken_create"),
    path("settings/api-tokens/<int:pk>/revoke/", manage.apitoken_revoke, name="apitoken_revoke"),
    path("settings/journal/", manage.journal_list, name="journal_list"),
    # Staff
    path("staff/", staff.staff_list, name="staff_list"),
    path("staff/new/", staff.staff_create, name="staff_create"),
    path("staff/<int:pk>/", staff.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/edit/", staff.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/resend-activation/", staff.staff_resend_activation, name="staff_resend_activation"),
    path("rights/", staff.role_matrix, name="role_matrix"),
    path("rights/roles/new/", staff.role_create, name="role_create"),
    path("rights/roles/<int:pk>/edit/", staff.role_edit, name="role_edit"),
    path("rights/roles/<int:pk>/delete/", staff.role_delete, name="role_delete"),
]
