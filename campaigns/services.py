"""Campaign lifecycle services."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from campaigns.models import Campaign
from messaging.models import Message
from messaging.statuses import FINAL, Status


def campaign_result(*, delivered: int, total: int) -> str:
    """All delivered, all failed, or a mix (smsmode's "Partially received")."""
    if total and delivered == total:
        return Campaign.Result.DELIVERED
    if delivered == 0:
        return Campaign.Result.FAILED
    return Campaign.Result.PARTIAL


def campaigns_close(*, now: datetime | None = None) -> int:
    """Mark done the campaigns whose messages are all final, or silent past the close window.

    Reads the messages with one grouped query over the open campaigns; safe to
    run twice at once (the state guard in the UPDATE wins once).
    """
    now = now or timezone.now()
    window = timedelta(hours=settings.PORTAL_CLOSE_WINDOW_HOURS)
    open_ids = Campaign.objects.filter(
        state__in=[Campaign.State.PROCESSING, Campaign.State.IN_PROGRESS],
        fanned_out_at__isnull=False,
    ).values("pk")
    stats = (
        Message.objects.filter(campaign__in=open_ids, superseded=False)
        .values("campaign")
        .annotate(
            total=Count("pk"),
            still_open=Count("pk", filter=~Q(status__in=FINAL)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            last_sent=Max("sent_at"),
        )
    )
    closing: dict[str, list[int]] = {}
    for row in stats:
        quiet = row["last_sent"] is not None and row["last_sent"] < now - window
        if row["still_open"] == 0 or quiet:
            result = campaign_result(delivered=row["delivered"], total=row["total"])
            closing.setdefault(result, []).append(row["campaign"])
    closed = 0
    for result, ids in closing.items():
        closed += Campaign.objects.filter(
            pk__in=ids,
            state__in=[Campaign.State.PROCESSING, Campaign.State.IN_PROGRESS],
        ).update(state=Campaign.State.DONE, result=result, done_at=now, updated_at=now)
    return closed
