"""Campaign state changes told to the account's outbound webhooks (campaign.state_changed)."""

from django.db.models import QuerySet

from campaigns.models import Campaign
from messaging.hooks.models import HookEvent
from messaging.hooks.outbox import hook_events_emit, hook_subscribers


def campaign_states_emit(*, campaigns: QuerySet[Campaign]) -> None:
    """Emit each campaign's state as it now is; call it in the transaction that changed it.

    Reads the campaigns only when some account has an endpoint for the event.
    """
    subscribed = hook_subscribers(HookEvent.Type.CAMPAIGN_STATE)
    if not subscribed:
        return
    rows = campaigns.filter(account_id__in=subscribed).order_by("pk")
    hook_events_emit(
        event=HookEvent.Type.CAMPAIGN_STATE,
        items=[
            (
                account_id,
                {
                    "campaign": {"id": pk, "name": name},
                    "state": state,
                    "result": result,
                },
            )
            for account_id, pk, name, state, result in rows.values_list(
                "account_id", "pk", "name", "state", "result"
            )
        ],
    )
