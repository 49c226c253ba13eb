"""Support site: accounts, memberships and the credit ledger."""

from django import forms
from django.contrib import admin

from portal.models import Account, CreditEntry, Membership
from portal.sites import support_site


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Account, site=support_site)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "credit_balance", "default_country", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["credit_balance"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


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
