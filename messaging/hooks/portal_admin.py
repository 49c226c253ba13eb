"""Portal site: an account's webhook endpoints, their deliveries, and what staff can do to them."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from messaging.hooks.forms import HookEndpointForm, HookReplayForm
from messaging.hooks.models import HookDelivery, HookEndpoint, HookEvent
from messaging.hooks.services import (
    hook_endpoint_create,
    hook_endpoint_disable,
    hook_endpoint_resume,
    hook_endpoint_rotate_secret,
    hook_endpoint_test,
    hook_events_replay,
)
from portal.models import Account, Membership
from portal.sites import (
    TenantAdminMixin,
    admin_page_context,
    portal_site,
    request_account_ids,
)

DELIVERIES_SHOWN = 50
STATE_ICON = {
    HookEndpoint.State.ACTIVE: ("✔", "sent"),
    HookEndpoint.State.FAILING: ("✖", "error"),
    HookEndpoint.State.DISABLED: ("⊘", "canceled"),
}


def outcome_badge(*, succeeded: bool | None, status: int | None, error: str) -> str:
    """A delivery's outcome as an icon plus words: "✔ 200" or "✖ HTTP 500"."""
    if succeeded is None:
        return "-"
    return format_html(
        '<span class="status status-{}"><span aria-hidden="true">{}</span> {}</span>',
        "sent" if succeeded else "error",
        "✔" if succeeded else "✖",
        f"{status} OK" if succeeded else error,
    )


@admin.register(HookEndpoint, site=portal_site)
class HookEndpointPortalAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Webhook endpoints: every member sees them; the account's owners manage them."""

    list_display = ["endpoint", "state_badge", "event_list", "last_delivery", "waiting"]
    ordering = ["-created_at", "-pk"]
    show_full_result_count = False

    def _owned(self, request: HttpRequest) -> list[int]:
        return request_account_ids(request, role=Membership.Role.OWNER)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request) and bool(self._owned(request))

    def get_queryset(self, request: HttpRequest):
        latest = HookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
        # Counted on the partial index of waiting events, not over delivered ones.
        waiting = (
            HookEvent.objects.filter(endpoint=OuterRef("pk"), delivery__isnull=True)
            .values("endpoint")
            .annotate(n=Count("id"))
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_at=Subquery(latest.values("created_at")[:1]),
                last_succeeded=Subquery(latest.values("succeeded")[:1]),
                last_status=Subquery(latest.values("response_status")[:1]),
                last_error=Subquery(latest.values("error")[:1]),
                waiting_count=Coalesce(Subquery(waiting.values("n")), 0),
            )
        )

    @admin.display(description="Endpoint")
    def endpoint(self, endpoint: HookEndpoint) -> str:
        if not endpoint.description:
            return endpoint.url
        return format_html(
            "{}<br><small>{}</small>", endpoint.description, endpoint.url
        )

    @admin.display(description="State")
    def state_badge(self, endpoint: HookEndpoint) -> str:
        icon, look = STATE_ICON[endpoint.state]
        return format_html(
            '<span class="status status-{}"><span aria-hidden="true">{}</span> {}</span>',
            look,
            icon,
            endpoint.get_state_display(),
        )

    @admin.display(description="Events")
    def event_list(self, endpoint: HookEndpoint) -> str:
        return ", ".join(endpoint.event_types)

    @admin.display(description="Last delivery")
    def last_delivery(self, endpoint: HookEndpoint) -> str:
        if endpoint.last_at is None:
            return "None yet"
        badge = outcome_badge(
            succeeded=endpoint.last_succeeded,
            status=endpoint.last_status,
            error=endpoint.last_error,
        )
        return format_html("{} {}", badge, _when(endpoint.last_at))

    @admin.display(description="Events waiting")
    def waiting(self, endpoint: HookEndpoint) -> int:
        return endpoint.waiting_count

    def changelist_view(self, request: HttpRequest, extra_context=None):
        return super().changelist_view(
            request,
            {
                "title": "Webhook endpoints: where events are sent",
                **(extra_context or {}),
            },
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/act/",
                self.admin_site.admin_view(self.act_view),
                name="hooks_hookendpoint_act",
            ),
            *super().get_urls(),
        ]

    def _page(self, request: HttpRequest, template: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request, template, admin_page_context(self, request, **context)
        )

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        """Register an endpoint; its secret is shown on the next page only."""
        if not self.has_add_permission(request):
            return self._page(
                request,
                "hooks/endpoint_form.html",
                title="Add a webhook endpoint",
                form=None,
            )
        accounts = Account.objects.filter(pk__in=self._owned(request))
        form = HookEndpointForm(request.POST or None, accounts=accounts)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            endpoint, secret = hook_endpoint_create(
                account_id=data["account"].pk,
                url=data["url"],
                description=data["description"],
                event_types=data["event_types"],
                created_by=request.user,
            )
            return self._secret_page(
                request, endpoint, secret, "Webhook endpoint added"
            )
        return self._page(
            request,
            "hooks/endpoint_form.html",
            title="Add a webhook endpoint",
            form=form,
        )

    def _secret_page(
        self, request, endpoint, secret: str, title: str
    ) -> TemplateResponse:
        return self._page(
            request,
            "hooks/endpoint_secret.html",
            title=title,
            endpoint=endpoint,
            secret=secret,
        )

    def change_view(
        self, request: HttpRequest, object_id, form_url="", extra_context=None
    ):
        endpoint = self.get_object(request, object_id)
        deliveries = list(endpoint.deliveries.order_by("-id")[:DELIVERIES_SHOWN])
        return self._page(
            request,
            "hooks/endpoint_detail.html",
            title=str(endpoint),
            endpoint=endpoint,
            state_badge=self.state_badge(endpoint),
            deliveries=[
                (
                    delivery,
                    outcome_badge(
                        succeeded=delivery.succeeded,
                        status=delivery.response_status,
                        error=delivery.error,
                    ),
                )
                for delivery in deliveries
            ],
            waiting=endpoint.outbox.filter(delivery__isnull=True).count(),
            can_manage=endpoint.account_id in self._owned(request),
            replay_form=HookReplayForm(),
        )

    def act_view(self, request: HttpRequest, object_id: str):
        """The endpoint page's buttons: test, rotate, disable, resume, replay (owners only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self.get_object(request, object_id)
        if endpoint.account_id not in self._owned(request):
            self.message_user(
                request,
                "Only the account's owners manage webhook endpoints.",
                messages.ERROR,
            )
            return self._back(endpoint)
        action, actor = request.POST.get("action"), request.user
        if action == "rotate":
            secret = hook_endpoint_rotate_secret(endpoint_id=endpoint.pk, actor=actor)
            return self._secret_page(request, endpoint, secret, "Secret rotated")
        if action == "test":
            hook_endpoint_test(endpoint_id=endpoint.pk, actor=actor)
            said = "A test event is on its way; its delivery shows below."
        elif action == "disable":
            hook_endpoint_disable(endpoint_id=endpoint.pk, actor=actor)
            said = "Disabled: nothing is sent, and no new events are kept for it."
        elif action == "resume":
            hook_endpoint_resume(endpoint_id=endpoint.pk, actor=actor)
            said = "Resumed: what was waiting is being sent now."
        elif action == "replay":
            delivery = get_object_or_404(
                endpoint.deliveries, pk=request.POST.get("delivery"), succeeded=True
            )
            n = hook_events_replay(
                endpoint_id=endpoint.pk, actor=actor, delivery_id=delivery.pk
            )
            said = f"{n} events of delivery {delivery.pk} are being sent again."
        elif action == "replay_since":
            form = HookReplayForm(request.POST)
            if not form.is_valid():
                self.message_user(
                    request, "Give a date and time to send again from.", messages.ERROR
                )
                return self._back(endpoint)
            since = form.cleaned_data["since"]
            n = hook_events_replay(endpoint_id=endpoint.pk, actor=actor, since=since)
            said = f"{n} events since {_when(since)} are being sent again."
        else:
            return HttpResponseNotAllowed(["POST"])
        self.message_user(request, said, messages.SUCCESS)
        return self._back(endpoint)

    def _back(self, endpoint: HookEndpoint) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse(
                f"{self.admin_site.name}:hooks_hookendpoint_change", args=[endpoint.pk]
            )
        )


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
