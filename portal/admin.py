"""Support site: accounts, memberships and the credit ledger."""

from django.contrib import admin

from portal.models import Account, CreditEntry, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "credit_balance", "default_country", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["credit_balance"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "delta", "reason", "note", "actor"]
    list_filter = ["reason", "created_at"]
    raw_id_fields = ["account", "actor"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
