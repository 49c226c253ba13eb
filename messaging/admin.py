"""Support site: messages and their raw events (read-only), senders, opt-outs, the catalog."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from messaging.models import (
    Brand,
    ErrorCode,
    Message,
    MessageEvent,
    OptOut,
    OptOutEvent,
    Sender,
)
from messaging.optouts import opt_in_record
from messaging.providers import PROVIDERS
from messaging.senders import (
    credentials_help,
    credentials_parse,
    phone_e164,
    sender_credentials_check,
    sender_credentials_set,
    sender_webhook_url,
)
from portal.sites import PhoneSearchMixin, ReadOnlyAdminMixin, support_site


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """History is evidence: support reads it and never edits it."""


@admin.register(ErrorCode, site=support_site)
class ErrorCodeAdmin(ReadOnlyAdmin):
    list_display = [
        "provider",
        "code",
        "title",
        "category",
        "temporary",
        "billable",
        "number_advice",
        "status",
        "known",
    ]
    list_filter = [
        "provider",
        "category",
        "temporary",
        "billable",
        "number_advice",
        "known",
    ]
    search_fields = ["code", "title", "aliases", "meaning"]


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    fields = [
        "created_at",
        "kind",
        "from_status",
        "status",
        "provider_status",
        "error",
        "applied",
        "payload",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "pk"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Message, site=support_site)
class MessageAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "direction",
        "phone",
        "status",
        "error",
        "campaign",
        "account",
        "provider",
    ]
    list_filter = ["status", "direction", "provider", "error__category", "created_at"]
    list_select_related = ["error", "campaign", "account"]
    search_fields = ["phone", "provider_message_id", "=uuid"]
    raw_id_fields = ["account", "campaign", "lead", "sender", "error", "retry_of"]
    # No date_hierarchy: its min and max of created_at would read the whole
    # table, which has no index on created_at alone (see Message). The date
    # filter still pages fast: ids grow with created_at, read newest first.
    show_full_result_count = False  # never COUNT(*) the whole table
    inlines = [MessageEventInline]


@admin.register(MessageEvent, site=support_site)
class MessageEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "provider",
        "provider_message_id",
        "from_status",
        "status",
        "applied",
        "message",
        "sender",
        "problem",
    ]
    list_filter = ["kind", "provider", "applied", "status"]
    search_fields = ["provider_message_id"]
    raw_id_fields = ["message", "error", "sender"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessageEvent]:
        return super().get_queryset(request).select_related("message", "sender")

    @admin.display(description="Kept because")
    def problem(self, event: MessageEvent) -> str:
        """Why a request was kept without being applied (refused or unreadable)."""
        return event.payload.get("error", "") if isinstance(event.payload, dict) else ""


class SenderForm(forms.ModelForm):
    """A sender with write-only credentials: typed in, checked, encrypted, never shown."""

    provider = forms.ChoiceField(choices=[(name, name) for name in sorted(PROVIDERS)])
    credentials = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        required=False,
        help_text="One KEY=VALUE per line (" + credentials_help() + "). Stored "
        "encrypted and never shown again; leave blank to keep the current ones.",
    )

    class Meta:
        model = Sender
        fields = [
            "account",
            "name",
            "provider",
            "phone_number",
            "throughput_per_second",
            "message_class",
            "per_minute_limit",
            "brand",
            "reply_share_percent",
            "provider_confirms_opt_out",
            "is_active",
        ]

    def clean(self) -> dict:
        data = super().clean()
        try:
            credentials = credentials_parse(data.get("credentials", "").splitlines())
            if credentials or "provider" in self.changed_data:
                sender_credentials_check(
                    provider=data.get("provider", ""), credentials=credentials
                )
            if data.get("account") and data.get("phone_number"):
                data["phone_number"] = phone_e164(
                    number=data["phone_number"], region=data["account"].default_country
                )
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        data["credentials"] = credentials
        return data


@admin.register(Sender, site=support_site)
class SenderAdmin(admin.ModelAdmin):
    form = SenderForm
    list_display = [
        "__str__",
        "account",
        "provider",
        "phone_number",
        "throughput_per_second",
        "is_active",
    ]
    list_filter = ["provider", "is_active"]
    search_fields = ["name", "phone_number", "=uuid"]
    raw_id_fields = ["account", "brand"]
    readonly_fields = ["uuid", "webhook_url"]

    @admin.display(description="Webhook URL (paste into the provider's console)")
    def webhook_url(self, sender: Sender) -> str:
        return sender_webhook_url(sender) if sender.pk else "-"

    def save_model(self, request: HttpRequest, obj: Sender, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.cleaned_data["credentials"]:
            sender_credentials_set(
                sender=obj, credentials=form.cleaned_data["credentials"]
            )


class OptInActionMixin:
    """The audited "opt back in" action of both sites' opt-out lists."""

    opt_in_detail = "Opted in by staff"

    # Opt-outs change only through the audited services, never by editing rows.
    @admin.action(description="Opt selected numbers back in (audited)")
    def opt_in_selected(self, request: HttpRequest, queryset) -> None:
        done = sum(
            opt_in_record(
                account_id=account_id,
                phone=phone,
                source=OptOutEvent.Source.STAFF,
                detail=self.opt_in_detail,
                actor=request.user,
            )
            for account_id, phone in queryset.values_list("account_id", "phone")
        )
        self.message_user(
            request,
            ngettext("%d number opted in.", "%d numbers opted in.", done) % done,
        )


@admin.register(OptOut, site=support_site)
class OptOutAdmin(OptInActionMixin, PhoneSearchMixin, ReadOnlyAdmin):
    list_display = ["phone", "account", "source", "detail", "created_at"]
    list_filter = ["source", "created_at"]
    search_fields = ["phone"]
    raw_id_fields = ["account"]
    show_full_result_count = False
    actions = ["opt_in_selected"]
    opt_in_detail = "Opted in by support"


@admin.register(OptOutEvent, site=support_site)
class OptOutEventAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "phone",
        "account",
        "opted_out",
        "source",
        "detail",
        "actor",
    ]
    list_filter = ["opted_out", "source"]
    search_fields = ["phone"]
    raw_id_fields = ["account", "actor"]
    show_full_result_count = False


@admin.register(Brand, site=support_site)
class BrandAdmin(admin.ModelAdmin):
    """10DLC brands: their tier sets the daily cap their senders share (messaging/throughput.py)."""

    list_display = ["name", "account", "tier", "daily_limit", "day", "sent_on_day"]
    list_filter = ["tier"]
    search_fields = ["name", "account__name"]
    raw_id_fields = ["account"]
    readonly_fields = ["day", "sent_on_day"]
