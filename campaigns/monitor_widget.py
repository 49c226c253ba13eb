"""The Delivery monitor dashboard widget: open alerts, and each account's and sender's figures."""

from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.models import Alert
from campaigns.monitor_views import monitor_row
from messaging.models import Sender
from messaging.monitor import monitor_figures
from portal.dashboard import Widget, widget_register
from portal.models import Account

ALERTS_SHOWN = 10
SENDERS_SHOWN = 10


def delivery_monitor_context(request: HttpRequest, accounts: QuerySet[Account]) -> dict:
    """At most four queries however many messages, campaigns or senders there are."""
    alerts = list(
        Alert.objects.filter(account__in=accounts, cleared_at__isnull=True)
        .select_related("campaign")
        .order_by("-raised_at", "-pk")[:ALERTS_SHOWN]
    )
    figures = monitor_figures(account_ids=accounts)
    hour, day, errors = figures["hour"], figures["day"], figures["titles"]
    # Account names only name the rows when there are several.
    several = len(day["account"]) > 1
    names = dict(accounts.values_list("pk", "name")) if several else {}
    account_rows = [
        {
            "name": names.get(account_id, ""),
            "windows": [
                monitor_row("Last hour", hour["account"].get(account_id), errors),
                monitor_row("Last day", day["account"].get(account_id), errors),
            ],
        }
        for account_id in sorted(day["account"], key=lambda pk: names.get(pk, ""))
    ]
    busiest = sorted(day["sender"], key=lambda pk: -day["sender"][pk].answered)
    senders = Sender.objects.in_bulk(busiest[:SENDERS_SHOWN])
    sender_rows = [
        {
            "sender": senders[pk],
            "hour": monitor_row("Last hour", hour["sender"].get(pk), errors),
            "day": monitor_row("Last day", day["sender"][pk], errors),
        }
        for pk in busiest[:SENDERS_SHOWN]
        if pk in senders
    ]
    return {
        "alerts": alerts,
        "account_rows": account_rows,
        "sender_rows": sender_rows,
        "several_accounts": several,
    }


def register() -> None:
    widget_register(
        Widget(
            id="delivery_monitor",
            title="Delivery monitor",
            template="campaigns/widgets/delivery_monitor.html",
            order=12,
            context=delivery_monitor_context,
            help_template="campaigns/widgets/delivery_monitor_help.html",
        )
    )
