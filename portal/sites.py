"""The two admin sites: the tenant-scoped portal at / and the support site at /support/.

The portal site is for a customer's staff. A user may use it when they belong
to at least one account, and every ModelAdmin registered on it scopes its
querysets, form choices and URLs to those accounts (TenantAdminMixin). An
object of another account is a 404, never a redirect with a message.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from portal.logins import LoginForm
from portal.models import Account, Membership
from portal.phones import phone_search_digits
from portal.tenancy import account_list_for_user


def request_accounts(request: HttpRequest) -> QuerySet[Account]:
    """The accounts of the request's user, as a lazy queryset usable in subqueries."""
    return account_list_for_user(user=request.user)


def _memberships(request: HttpRequest) -> list[tuple[int, str, str]]:
    """(account id, role, account time zone) of the request's user, read once per request."""
    if not hasattr(request, "_portal_memberships"):
        request._portal_memberships = (
            list(
                Membership.objects.filter(user=request.user)
                .order_by("account__name", "account_id")
                .values_list("account_id", "role", "account__time_zone")
            )
            if request.user.is_authenticated
            else []
        )
    return request._portal_memberships


def request_account_ids(request: HttpRequest, *, role: str | None = None) -> list[int]:
    """The user's account ids, in that role if given; the memberships are read once per request."""
    return [
        account_id
        for account_id, held, _ in _memberships(request)
        if role in (None, held)
    ]


def admin_page_context(model_admin, request: HttpRequest, **extra) -> dict:
    """The context of a custom page mounted by a ModelAdmin: its site's frame and model."""
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def request_time_zone(request: HttpRequest) -> str:
    """The time zone the portal shows times in: the user's (first) account's."""
    zones = [zone for _, _, zone in _memberships(request)]
    return zones[0] if zones else "UTC"


class PortalAuthenticationForm(LoginForm):
    """Customer staff need not be Django staff: belonging to an account is enough."""

    def confirm_login_allowed(self, user) -> None:
        if not user.is_active or not account_list_for_user(user=user).exists():
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class PortalSite(admin.AdminSite):
    site_header = "Campaign portal"
    site_title = "Campaign portal"
    index_title = "Dashboard"
    index_template = "portal/dashboard.html"
    login_form = PortalAuthenticationForm
    enable_nav_sidebar = True

    def has_permission(self, request: HttpRequest) -> bool:
        return (
            request.user.is_active
            and request.user.is_authenticated
            and bool(request_account_ids(request))
        )

    def get_urls(self):
        from portal.views import dashboard_preferences

        return [
            path(
                "dashboard/preferences/",
                self.admin_view(dashboard_preferences),
                name="dashboard-preferences",
            ),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        from portal.dashboard import dashboard_context

        accounts = Account.objects.filter(pk__in=request_account_ids(request))
        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            **dashboard_context(request=request, accounts=accounts),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, self.index_template, context)


class SupportSite(admin.AdminSite):
    site_header = "Campaign portal support"
    site_title = "Support"
    index_title = "Support"
    login_form = LoginForm


portal_site = PortalSite(name="portal")
support_site = SupportSite(name="support")


class ReadOnlyAdminMixin:
    """Nothing is added, edited or deleted here; rows change only through services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TenantAdminMixin(ReadOnlyAdminMixin):
    """Scope a portal ModelAdmin to the user's accounts: querysets, choices and URLs.

    `account_path` is the lookup from the model to its Account.
    """

    account_path = "account"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.account_path}__in": request_account_ids(request)})
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object in your accounts.")
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def _scope_field(self, field, request: HttpRequest, kwargs: dict[str, Any]):
        model = field.remote_field.model
        ids = request_account_ids(request)
        if model is Account:
            kwargs["queryset"] = Account.objects.filter(pk__in=ids)
        elif any(f.name == "account" for f in model._meta.fields):
            kwargs["queryset"] = model._default_manager.filter(account__in=ids)
        else:
            kwargs["queryset"] = model._default_manager.none()
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scope_field(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scope_field(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class PhoneSearchMixin:
    """The changelist search finds a number however it is typed ("(202) 555-0021")."""

    phone_field = "phone"

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        digits = phone_search_digits(search_term)
        if digits is None:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(**{f"{self.phone_field}__contains": digits}), False


def progress_bar(*, done: int, total: int) -> str:
    """A <progress> with its numbers in words (job changelists: imports, exports)."""
    return format_html(
        '<progress max="{}" value="{}"></progress> {} of {}',
        max(total, 1),
        done,
        done,
        total,
    )


class GearForm(forms.Form):
    """The gear menu: one checkbox per widget; unchecked means hidden."""

    shown = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shown"].choices = choices
