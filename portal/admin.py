"""Accounts, memberships, the credit ledger and the audit log (support); API tokens (both sites).

Support also sees the failed logins: deleting an attempt unlocks that username
or address before its cool-off ends (portal/logins.py).
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import ngettext

from portal.api.auth import api_token_create, api_token_revoke
from portal.models import Account, ApiToken, CreditEntry, Membership, time_zone_names
from portal.sites import (
    ReadOnlyAdminMixin,
    TenantAdminMixin,
    portal_site,
    request_account_ids,
    support_site,
)

support_site.register(AccessAttempt, AccessAttemptAdmin)


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Account, site=support_site)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "credit_balance",
        "default_country",
        "time_zone",
        "created_at",
    ]
    search_fields = ["name", "slug"]
    readonly_fields = ["credit_balance"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":  # a menu of the zones, not free text
            return forms.ChoiceField(
                choices=[(name, name) for name in time_zone_names()],
                initial=db_field.default,
                label="Time zone",
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class CreditAdjustmentForm(forms.ModelForm):
    note = forms.CharField(max_length=300, help_text="Why: kept in the ledger.")

    class Meta:
        model = CreditEntry
        fields = ["account", "delta", "note"]

    def clean(self):
        data = super().clean()
        account, delta = data.get("account"), data.get("delta")
        if account is not None and delta is not None:
            if account.credit_balance + delta < 0:
                raise forms.ValidationError(
                    "The balance would go below zero (it is %(balance)d).",
                    params={"balance": account.credit_balance},
                )
        return data


@admin.register(CreditEntry, site=support_site)
class CreditEntryAdmin(admin.ModelAdmin):
    """The ledger is append-only; support adds adjustments through credit_adjust."""

    list_display = ["created_at", "account", "delta", "reason", "note", "actor"]
    list_filter = ["reason", "created_at"]
    list_select_related = ["account", "actor"]
    raw_id_fields = ["account", "actor"]
    form = CreditAdjustmentForm
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        from portal.services import credit_adjust

        credit_adjust(
            account_id=obj.account_id,
            delta=obj.delta,
            note=obj.note,
            actor=request.user,
        )
        # The service wrote the entry; point the admin's log at it.
        obj.pk = CreditEntry.objects.filter(account_id=obj.account_id).latest("pk").pk


class ApiTokenAdminMixin:
    """Tokens listed by prefix; adding one shows its key once; revoking uses the service.

    Tokens are never edited or deleted: a revoked row stays as the record of
    who had access and when it was last used.
    """

    list_display = [
        "prefix",
        "name",
        "account",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["account", "created_by"]
    search_fields = ["=prefix", "name"]
    ordering = ["-created_at", "-pk"]
    actions = ["revoke_selected"]
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return ["account", "name"]
        return [*self.list_display]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        token, key = api_token_create(
            account=obj.account, name=obj.name, created_by=request.user
        )
        # The service saved the row; the admin logs it and response_add shows the key.
        obj.pk, obj.prefix = token.pk, token.prefix
        request.api_token_key = key

    def response_add(self, request: HttpRequest, obj, post_url_continue=None):
        """Show the key on this page only: it is never stored, nor put in a redirect."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": obj,
            "key": request.api_token_key,
            "base_template": self.base_template,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "portal/api_token_created.html", context)

    def revocable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The tokens among queryset this user may revoke."""
        return queryset

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        allowed = self.revocable(request, queryset)
        revoked = sum(
            api_token_revoke(token_id=pk) for pk in allowed.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext("%d token revoked.", "%d tokens revoked.", revoked) % revoked,
        )
        refused = queryset.count() - allowed.count()
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%d token was left: only its account's owners may revoke it.",
                    "%d tokens were left: only their accounts' owners may revoke them.",
                    refused,
                )
                % refused,
                level=messages.WARNING,
            )


@admin.register(ApiToken, site=support_site)
class ApiTokenAdmin(ApiTokenAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["account", "created_by"]
    base_template = "admin/base_site.html"


@admin.register(ApiToken, site=portal_site)
class ApiTokenPortalAdmin(ApiTokenAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    """A customer's staff see their accounts' tokens; only owners create or revoke them.

    A token opens the whole account to whoever holds it.
    """

    base_template = "portal/base.html"

    def _owned(self, request: HttpRequest) -> list[int]:
        return request_account_ids(request, role=Membership.Role.OWNER)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request) and bool(self._owned(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "account":
            field.queryset = Account.objects.filter(pk__in=self._owned(request))
        return field

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not self._owned(request):
            actions.pop("revoke_selected", None)
        return actions

    def revocable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(account__in=self._owned(request))


@admin.register(LogEntry, site=support_site)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail (portal.audit): who launched, canceled, resent, suppressed what."""

    list_display = ["action_time", "user", "content_type", "object_repr", "message"]
    list_filter = ["action_time", "content_type"]
    list_select_related = ["user", "content_type"]
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"
    show_full_result_count = False

    @admin.display(description="What was done")
    def message(self, entry: LogEntry) -> str:
        return entry.get_change_message()


@admin.register(Account, site=portal_site)
class AccountSettingsAdmin(TenantAdminMixin, admin.ModelAdmin):
    """An account's settings on the portal: its sending hours, changed by its owners."""

    account_path = "pk"
    list_display = ["name", "time_zone", "send_window_start", "send_window_end"]
    fields = ["name", "time_zone", "send_window_start", "send_window_end"]
    readonly_fields = ["name", "time_zone"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        owned = request_account_ids(request, role=Membership.Role.OWNER)
        return obj.pk in owned if obj is not None else bool(owned)
