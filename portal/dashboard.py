"""The dashboard's widget registry: apps register widgets in AppConfig.ready().

Shaped like Wagtail's homepage panels: a widget is an id, a title, a template,
an order and a context function called with the request and the user's
accounts. The registry itself knows nothing of campaigns or messages.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone

from portal.models import Account, CreditEntry, DashboardPreference

ContextFunction = Callable[[HttpRequest, QuerySet[Account]], dict[str, Any]]


@dataclass(frozen=True)
class Widget:
    id: str
    title: str
    template: str
    order: int
    context: ContextFunction
    # Optional permission check; None means every portal user may see it.
    permission: Callable[[HttpRequest], bool] | None = None
    # What its states, columns and numbers mean: shown under the dashboard's "?".
    # Its context may also say "refresh": N to reload the widget every N seconds.
    help_template: str = ""


_REGISTRY: dict[str, Widget] = {}


def widget_register(widget: Widget) -> Widget:
    """Add a widget, replacing one with the same id (ready() may run twice in tests)."""
    _REGISTRY[widget.id] = widget
    return widget


def widget_list(*, request: HttpRequest) -> list[Widget]:
    """Return the widgets the user may see, in display order."""
    return sorted(
        (
            w
            for w in _REGISTRY.values()
            if w.permission is None or w.permission(request)
        ),
        key=lambda w: (w.order, w.id),
    )


def hidden_widgets_for(*, user) -> list[str]:
    """Return the ids of the widgets the user turned off in the gear menu."""
    preference = DashboardPreference.objects.filter(user=user).first()
    return list(preference.hidden_widgets) if preference else []


def hidden_widgets_set(*, user, hidden: list[str]) -> None:
    """Save which widgets the user turned off; unknown ids are dropped."""
    hidden = sorted(set(hidden) & set(_REGISTRY))
    DashboardPreference.objects.update_or_create(
        user=user, defaults={"hidden_widgets": hidden}
    )


def dashboard_context(*, request: HttpRequest, accounts: QuerySet[Account]) -> dict:
    """Build every visible widget's context; hidden widgets run no queries."""
    hidden = set(hidden_widgets_for(user=request.user))
    widgets = widget_list(request=request)
    shown = []
    for widget in widgets:
        if widget.id in hidden:
            continue
        shown.append({"widget": widget, **widget.context(request, accounts)})
    return {
        "widgets": shown,
        "widget_help": [w for w in widgets if w.help_template],
        "widget_choices": [
            {"id": w.id, "title": w.title, "on": w.id not in hidden} for w in widgets
        ],
    }


# Credit lives in portal, so its widget is registered here.
CREDIT_WINDOW_DAYS = 30  # "spend" on the widget means the last 30 days


def credit_widget_context(request: HttpRequest, accounts: QuerySet[Account]) -> dict:
    since = timezone.now() - timedelta(days=CREDIT_WINDOW_DAYS)
    rows = list(
        accounts.annotate(
            spent=Sum(
                "credit_entries__delta",
                filter=Q(
                    credit_entries__created_at__gte=since,
                    credit_entries__reason=CreditEntry.Reason.CHARGE,
                ),
            )
        ).values_list("name", "credit_balance", "spent")
    )
    return {
        "credit_rows": [
            {"name": name, "balance": balance, "spent": -(spent or 0)}
            for name, balance, spent in rows
        ],
        "credit_window_days": CREDIT_WINDOW_DAYS,
    }


widget_register(
    Widget(
        id="credit",
        title="Credit",
        template="portal/widgets/credit.html",
        order=90,
        context=credit_widget_context,
    )
)
