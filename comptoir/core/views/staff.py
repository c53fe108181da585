"""Staff → Collaborateurs (staff members) and Staff → Droits (the roles × modules rights matrix)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import rights, selectors, services
from comptoir.core.errors import DomainError
from comptoir.core.filters import StaffFilter
from comptoir.core.forms import RoleCreateForm, RoleForm, StaffCreateForm, StaffEditForm, add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.models import Role, StaffMembership
from comptoir.core.views.base import Tab, can, post_only, require_right, right_required, timeline


# --------------------------------------------------------------------------------------------------
# Collaborateurs
# --------------------------------------------------------------------------------------------------
def _centers_label(staff: StaffMembership) -> list[str]:
    return [center.name for center in staff.centers.all()]


STAFF_COLUMNS = [
    Column(
        "name",
        gettext_lazy("Nom"),
        accessor=lambda staff: staff.user.full_name or staff.user.email,
        sort="user__last_name",
        link=True,
    ),
    Column("email", gettext_lazy("E-mail"), accessor="user.email", sort="user__email"),
    Column("role", gettext_lazy("Rôle"), accessor="role.display_name", sort="role__name"),
    Column("job_title", gettext_lazy("Fonction"), sort="job_title"),
    Column(
        "centers",
        gettext_lazy("Centres"),
        accessor=_centers_label,
        kind="list",
        template="core/staff/_centers_cell.html",
        export=lambda staff: _centers_label(staff) or _("Tous"),
    ),
    Column(
        "status",
        gettext_lazy("Statut"),
        accessor=lambda staff: staff,
        template="core/staff/_status_cell.html",
        export=lambda staff: staff_status(staff)[1],
    ),
    Column("created_at", gettext_lazy("Ajouté le"), kind="date", sort="created_at"),
]


def staff_status(staff: StaffMembership) -> tuple[str, str]:
    """(css, label): Suspendu / Invitation envoyée / Actif."""
    if not staff.is_active or not staff.user.is_active:
        return "secondary", _("Suspendu")
    if not staff.user.has_usable_password():
        return "warning", _("Invitation envoyée")
    return "success", _("Actif")


@right_required("core.view_staffmembership")
def staff_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.staff_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=STAFF_COLUMNS,
        filterset_class=StaffFilter,
        search_fields=["user__first_name", "user__last_name", "user__email", "job_title"],
        search_placeholder=gettext_lazy("Nom, e-mail, fonction…"),
        default_sort="name",
        title=gettext_lazy("Collaborateurs"),
        export_name="collaborateurs",
        create_url=reverse("manage:staff_create") if can(request, "core.add_staffmembership") else None,
        create_label=gettext_lazy("Ajouter un collaborateur"),
        empty_message=gettext_lazy("Aucun collaborateur ne correspond."),
    ).response()


@right_required("core.add_staffmembership")
def staff_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = StaffCreateForm(request.POST or None, user=request.user, organization=organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff = services.add_staff_member(
                organization=organization,
                by=request.user,
                email=data["email"],
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                job_title=data["job_title"],
                centers=data["centers"],
            )
        except DomainError as exc:
            add_domain_error(form, _error_at_field(exc))
        else:
            if staff.user.has_usable_password():
                text = _("%(name)s fait maintenant partie du staff.") % {"name": staff.user}
            else:
                text = _("%(name)s est ajouté. Un e-mail d'activation a été envoyé à %(email)s.") % {
                    "name": staff.user,
                    "email": staff.user.email,
                }
            messages.success(request, text)
            return redirect(staff)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Ajouter un collaborateur"),
            "intro": _(
                "Le collaborateur reçoit par e-mail un lien pour choisir son mot de passe. "
                "Ses droits sont ceux de son rôle."
            ),
            "fieldsets": [
                (_("Identité"), ["email", "first_name", "last_name", "phone", "job_title"]),
                (_("Accès"), ["role", "centers"]),
            ],
            "cancel_url": reverse("manage:staff_list"),
            "breadcrumb": [(_("Collaborateurs"), reverse("manage:staff_list"))],
            "submit_label": _("Ajouter et envoyer l'invitation"),
        },
    )


def _error_at_field(exc: DomainError) -> DomainError:
    """A refusal about oneself is shown at the field it concerns: access, centers, else the role."""
    if exc.code == "self_deactivation" and not exc.fields:
        exc.fields = {"is_active": [exc.message]}
    elif exc.code == "escalation" and not exc.fields:
        about_centers = exc.message == _("Vous ne pouvez pas modifier vos propres centres.")
        exc.fields = {"centers" if about_centers else "role": [exc.message]}
    return exc


@right_required("core.view_staffmembership")
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    staff = get_object_or_404(selectors.staff_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    css, label = staff_status(staff)
    tabs = [
        Tab("info", _("Informations"), template="core/staff/_info.html"),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    return render(
        request,
        "core/staff/detail.html",
        {
            "staff": staff,
            "object": staff,
            "status_css": css,
            "status_label": label,
            "tabs": tabs,
            "timeline": timeline(staff),
            "is_self": staff.user_id == request.user.pk,
            "breadcrumb": [(_("Collaborateurs"), reverse("manage:staff_list"))],
        },
    )


@right_required("core.change_staffmembership")
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    staff = get_object_or_404(selectors.staff_for(request.user, organization), pk=pk)
    form = StaffEditForm(request.POST or None, user=request.user, organization=organization, staff=staff)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["centers"] = list(data["centers"])
        try:
            staff = services.update_staff_member(staff=staff, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, _error_at_field(exc))
        else:
            messages.success(request, _("Le profil de %(name)s est enregistré.") % {"name": staff.user})
            return redirect(staff)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier %(name)s") % {"name": staff.user},
            "cancel_url": staff.get_absolute_url(),
            "breadcrumb": [
                (_("Collaborateurs"), reverse("manage:staff_list")),
                (str(staff.user), staff.get_absolute_url()),
            ],
            "submit_label": _("Enregistrer"),
        },
    )


@right_required("core.change_staffmembership")
def staff_resend_activation(request: HttpRequest, pk: int) -> HttpResponse:
    staff = get_object_or_404(selectors.staff_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    if refused := post_only(request):
        return refused
    try:
        services.resend_activation(staff=staff, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Un nouveau lien d'activation a été envoyé à %(email)s.") % {"email": staff.user.email}
        )
    return redirect(staff)


# --------------------------------------------------------------------------------------------------
# Droits: the matrix
# --------------------------------------------------------------------------------------------------
ACTION_LABELS = {
    "view": gettext_lazy("Lecture"),
    "add": gettext_lazy("Ajout"),
    "change": gettext_lazy("Édition"),
    "delete": gettext_lazy("Suppression"),
}


@dataclass
class Checkbox:
    name: str | None  # permission name ("core.view_center"); None: the module has no such right
    label: str
    checked: bool = False
    disabled: bool = True


@dataclass
class Module:
    app_label: str
    model: str
    label: str
    perms: dict[str, Permission] = field(default_factory=dict)  # action → permission
    extra: list[Permission] = field(default_factory=list)  # custom rights (billing.issue_invoice...)
    cells: list[list[Checkbox]] = field(default_factory=list)  # one list per role


def matrix_modules() -> list[tuple[str, list[Module]]]:
    """Every module (model of a Comptoir app with rights), grouped by app, in a stable order."""
    modules: dict[tuple[str, str], Module] = {}
    for perm in rights.module_permissions():
        content_type = perm.content_type
        model_class = content_type.model_class()
        if model_class is None:
            continue
        key = (content_type.app_label, content_type.model)
        module = modules.get(key)
        if module is None:
            label = str(model_class._meta.verbose_name_plural)
            module = modules[key] = Module(content_type.app_label, content_type.model, label[:1].upper() + label[1:])
        action = perm.codename.removesuffix(f"_{content_type.model}")
        if action in ACTION_LABELS and perm.codename == f"{action}_{content_type.model}":
            module.perms[action] = perm
        else:
            module.extra.append(perm)
    groups: dict[str, list[Module]] = defaultdict(list)
    for module in modules.values():
        groups[module.app_label].append(module)
    ordered = []
    for app_label in rights.module_app_labels():
        if app_label in groups:
            verbose = str(apps.get_app_config(app_label).verbose_name)
            ordered.append((verbose, sorted(groups[app_label], key=lambda module: module.label.casefold())))
    return ordered


@dataclass
class RoleColumn:
    role: Role
    rights: frozenset[str]
    editable: bool


def _role_columns(request: HttpRequest, roles: list[Role]) -> list[RoleColumn]:
    """Each role's current rights in one query (the administrator holds them all)."""
    through = Role.permissions.through.objects.filter(role_id__in=[role.pk for role in roles]).values_list(
        "role_id", "permission__content_type__app_label", "permission__codename"
    )
    held: dict[int, set[str]] = defaultdict(set)
    for role_id, app_label, codename in through:
        held[role_id].add(f"{app_label}.{codename}")
    can_change = can(request, "core.change_role")
    every = None
    columns = []
    for role in roles:
        if role.holds_every_right:
            every = every if every is not None else rights.role_rights(role)
            columns.append(RoleColumn(role, every, False))
        else:
            columns.append(RoleColumn(role, frozenset(held[role.pk]), can_change))
    return columns


def _build_matrix(
    request: HttpRequest, columns: list[RoleColumn], posted: dict[int, set[str]] | None = None
) -> list[tuple[str, list[Module]]]:
    viewer_rights = rights.rights_of(request.user, request.organization)  # type: ignore[attr-defined]
    groups = matrix_modules()
    for _app, modules in groups:
        for module in modules:
            for column in columns:
                state = posted.get(column.role.pk, column.rights) if posted else column.rights
                boxes = []
                for action, label in ACTION_LABELS.items():
                    perm = module.perms.get(action)
                    name = rights.permission_name(perm) if perm else None
                    boxes.append(
                        Checkbox(
                            name=name,
                            label=str(label),
                            checked=bool(name) and name in state,
                            disabled=not (column.editable and name in viewer_rights),
                        )
                    )
                for perm in module.extra:
                    name = rights.permission_name(perm)
                    boxes.append(
                        Checkbox(
                            name=name,
                            label=_(perm.name),  # stored in French by migrate; the catalog translates it
                            checked=name in state,
                            disabled=not (column.editable and name in viewer_rights),
                        )
                    )
                module.cells.append(boxes)
    return groups


@right_required("core.view_role")
def role_matrix(request: HttpRequest) -> HttpResponse:
    """Staff → Droits. GET shows the matrix; POST saves the changed roles (all or nothing)."""
    organization = request.organization  # type: ignore[attr-defined]
    roles = list(selectors.roles_for(request.user, organization).order_by("id"))
    columns = _role_columns(request, roles)
    posted: dict[int, set[str]] | None = None
    if request.method == "POST":
        require_right(request, "core.change_role")
        viewer_rights = rights.rights_of(request.user, organization)
        submitted = set(request.POST.getlist("roles"))
        posted = {}
        for column in columns:
            if not column.editable or str(column.role.pk) not in submitted:
                continue
            ticked = set(request.POST.getlist(f"role-{column.role.pk}"))
            # Boxes of rights the viewer does not hold are disabled (never submitted): they keep their state.
            # A right ticked by a forged request goes to the service, which refuses it.
            posted[column.role.pk] = ticked | (set(column.rights) - viewer_rights)
        changed = [column for column in columns if column.role.pk in posted and posted[column.role.pk] != column.rights]
        try:
            with transaction.atomic():
                for column in changed:
                    services.set_role_rights(role=column.role, by=request.user, permission_names=posted[column.role.pk])
        except DomainError as exc:
            messages.error(request, exc.message)
            return render(
                request,
                "core/rights/matrix.html",
                {
                    "columns": columns,
                    "groups": _build_matrix(request, columns, posted),
                    "can_change": True,
                    "can_add": can(request, "core.add_role"),
                    "can_delete": can(request, "core.delete_role"),
                    "refused": exc.message,
                },
            )
        if changed:
            names = ", ".join(column.role.display_name for column in changed)
            messages.success(request, _("Droits enregistrés pour : %(roles)s.") % {"roles": names})
        else:
            messages.info(request, _("Aucune modification."))
        return redirect("manage:role_matrix")
    return render(
        request,
        "core/rights/matrix.html",
        {
            "columns": columns,
            "groups": _build_matrix(request, columns),
            "can_change": can(request, "core.change_role"),
            "can_add": can(request, "core.add_role"),
            "can_delete": can(request, "core.delete_role"),
        },
    )


@right_required("core.add_role")
def role_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = RoleCreateForm(request.POST or None, user=request.user, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            role = services.create_role(
                organization=organization,
                by=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                permission_names=form.permission_names(),
            )
        except DomainError as exc:
            if exc.code == "escalation" and not exc.fields:
                exc.fields = {"copy_from": [exc.message]}
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le rôle « %(name)s » est créé.") % {"name": role.name})
            return redirect("manage:role_matrix")
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouveau rôle"),
            "cancel_url": reverse("manage:role_matrix"),
            "breadcrumb": [(_("Droits"), reverse("manage:role_matrix"))],
            "submit_label": _("Créer le rôle"),
        },
    )


@right_required("core.change_role")
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(selectors.roles_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    form = RoleForm(request.POST or None, initial={"name": role.name, "description": role.description})
    if request.method == "POST" and form.is_valid():
        try:
            role = services.update_role(role=role, by=request.user, data=form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le rôle « %(name)s » est enregistré.") % {"name": role.name})
            return redirect("manage:role_matrix")
    return render(
        request,
        "core/rights/role_form.html",
        {
            "form": form,
            "role": role,
            "object": role,
            "timeline": timeline(role),
            "can_delete": can(request, "core.delete_role") and role.kind == Role.Kind.CUSTOM,
        },
    )


@right_required("core.delete_role")
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(selectors.roles_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    if request.method == "POST":
        try:
            services.delete_role(role=role, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Le rôle « %(name)s » est supprimé.") % {"name": role.name})
        return redirect("manage:role_matrix")
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer le rôle « %(name)s » ?") % {"name": role.name},
            "message": _(
                "Cette action est définitive. Un rôle attribué à des collaborateurs ne peut pas être supprimé."
            ),
            "details": _("Collaborateurs ayant ce rôle : %(count)s") % {"count": role.member_count},
            "confirm_label": _("Supprimer le rôle"),
            "danger": True,
            "cancel_url": reverse("manage:role_matrix"),
            "breadcrumb": [(_("Droits"), reverse("manage:role_matrix"))],
        },
    )
