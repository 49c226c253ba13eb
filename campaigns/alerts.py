"""Delivery alerts: a sweep compares every campaign's last window with its account's rules.

Set-based: one grouped read of the outcome count rows per rule window, one
read of the rules, one of the open alerts, one UPDATE clearing the ended
ones. An alert is raised once per episode (a partial unique index keeps one
open per campaign and condition) and cleared when the condition ends; raising
one emails the account's owners and, if the account asks, pauses the campaign.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Alert, AlertRule, Campaign
from campaigns.pausing import campaign_pause
from messaging.hooks.models import HookEvent
from messaging.hooks.outbox import hook_event_emit
from messaging.models import ErrorCode
from messaging.monitor import Figures, band_words, window_figures
from portal.models import Account, Membership

DEFAULT_RULES_FILE = Path(__file__).with_name("alert_rules.json")
# The audit trail's actor for what the monitor does on its own.
MONITOR_USERNAME = "delivery-monitor"


@dataclass(frozen=True)
class Verdict:
    """One rule over one campaign's window: how many counted, how many matched."""

    counted: int
    matching: int

    def share(self) -> float:
        return 100 * self.matching / self.counted if self.counted else 0.0


@cache
def default_rules() -> dict[str, AlertRule]:
    """The default rule per kind, from campaigns/alert_rules.json (unsaved rules)."""
    data = json.loads(DEFAULT_RULES_FILE.read_text())
    return {rule["kind"]: AlertRule(**rule) for rule in data["rules"]}


def rules_by_account() -> tuple[dict[str, AlertRule], dict[int, dict[str, AlertRule]]]:
    """The default rule per kind, and each account's own rules per kind: one query."""
    own: dict[int, dict[str, AlertRule]] = {}
    for rule in AlertRule.objects.all():
        own.setdefault(rule.account_id, {})[rule.kind] = rule
    return default_rules(), own


def rule_verdict(
    rule: AlertRule, figures: Figures, errors: dict[int, ErrorCode]
) -> Verdict:
    """What the rule counts and matches in a window's figures."""
    if rule.kind == AlertRule.Kind.SLOW_RECEIPTS:
        return Verdict(
            counted=sum(figures.receipts.values()),
            matching=figures.slower_than(rule.slow_after_seconds),
        )
    if rule.kind == AlertRule.Kind.CARRIER_FILTERING:
        codes = set(rule.error_codes)
        categories = set(rule.error_categories)
        matching = sum(
            n
            for error_id, n in figures.by_error.items()
            if (error := errors.get(error_id))
            and (
                error.category in categories
                or f"{error.provider}:{error.code}" in codes
            )
        )
        return Verdict(counted=figures.answered, matching=matching)
    return Verdict(counted=figures.answered, matching=figures.errors)


def rule_fires(rule: AlertRule, verdict: Verdict) -> bool:
    """The rule's condition: enough counted, enough matching, a share over the threshold."""
    return (
        rule.enabled
        and verdict.counted >= max(rule.min_messages, 1)
        and verdict.matching >= max(rule.min_matching, 1)
        and verdict.share() > rule.threshold_percent
    )


def alert_summary(rule: AlertRule, verdict: Verdict) -> str:
    """The condition in words, for the dashboard, the campaign page and the email."""
    window = f"in the last {rule.window_minutes} minutes"
    share = f"{verdict.share():.1f}%"
    if rule.kind == AlertRule.Kind.SLOW_RECEIPTS:
        return (
            f"{share} of receipts ({verdict.matching} of {verdict.counted}) came "
            f"later than {band_words(rule.slow_after_seconds)} after sending {window} "
            f"(alert over {rule.threshold_percent:g}%)."
        )
    if rule.kind == AlertRule.Kind.CARRIER_FILTERING:
        return (
            f"{verdict.matching} messages blocked as spam or from an unregistered "
            f"sender {window} ({share} of {verdict.counted} answered)."
        )
    return (
        f"Error rate {share} ({verdict.matching} of {verdict.counted} messages) "
        f"{window} (alert over {rule.threshold_percent:g}%)."
    )


def alerts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Raise the alerts whose condition holds and clear those whose condition ended."""
    now = now or timezone.now()
    defaults, own = rules_by_account()
    windows = {r.window_minutes for r in defaults.values()} | {
        r.window_minutes for rules in own.values() for r in rules.values()
    }
    by_window = {
        minutes: window_figures(since=now - timedelta(minutes=minutes))
        for minutes in windows
    }
    error_ids = {
        error_id
        for figures in by_window.values()
        for _, f in figures.values()
        for error_id in f.by_error
    }
    errors = ErrorCode.objects.in_bulk(error_ids)
    accounts = {
        campaign_id: account_id
        for figures in by_window.values()
        for campaign_id, (account_id, _) in figures.items()
    }
    firing: dict[tuple[int, str], tuple[int, str]] = {}
    for campaign_id, account_id in accounts.items():
        for kind, rule in (defaults | own.get(account_id, {})).items():
            found = by_window[rule.window_minutes].get(campaign_id)
            if found is None:
                continue
            verdict = rule_verdict(rule, found[1], errors)
            if rule_fires(rule, verdict):
                firing[(campaign_id, kind)] = (account_id, alert_summary(rule, verdict))
    open_alerts = {
        (campaign_id, kind): pk
        for pk, campaign_id, kind in Alert.objects.filter(
            cleared_at__isnull=True
        ).values_list("pk", "campaign_id", "kind")
    }
    ended = [pk for key, pk in open_alerts.items() if key not in firing]
    cleared = Alert.objects.filter(pk__in=ended, cleared_at__isnull=True).update(
        cleared_at=now
    )
    raised = 0
    for (campaign_id, kind), (account_id, summary) in firing.items():
        if (campaign_id, kind) not in open_alerts:
            raised += (
                alert_raise(
                    account_id=account_id,
                    campaign_id=campaign_id,
                    kind=kind,
                    summary=summary,
                    now=now,
                )
                is not None
            )
    return {"raised": raised, "cleared": cleared}


@transaction.atomic
def alert_raise(
    *, account_id: int, campaign_id: int, kind: str, summary: str, now: datetime
) -> Alert | None:
    """Open an alert episode: record it, pause if the account asks, tell its
    webhooks (alert.raised) and email its owners.

    The one place an alert is raised, in one transaction: the alert, the
    pause and the webhook event commit together. Returns None when the
    episode is already open (a second sweep got there first).
    """
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                account_id=account_id,
                campaign_id=campaign_id,
                kind=kind,
                summary=summary,
                raised_at=now,
            )
    except IntegrityError:
        return None
    account = Account.objects.get(pk=account_id)
    campaign = Campaign.objects.get(pk=campaign_id)
    if account.pause_on_alert and campaign.can_pause():
        campaign_pause(
            campaign_id=campaign_id,
            actor=monitor_user(),
            reason=f"delivery monitor: {alert.get_kind_display().lower()}",
        )
        Alert.objects.filter(pk=alert.pk).update(paused_campaign=True)
        alert.paused_campaign = True
    hook_event_emit(
        account_id=account_id,
        event=HookEvent.Type.ALERT,
        data={
            "id": alert.pk,
            "kind": kind,
            "title": alert.get_kind_display(),
            "summary": summary,
            "campaign": {"id": campaign.pk, "name": campaign.name},
            "raised_at": now.isoformat(),
            "paused_campaign": alert.paused_campaign,
        },
    )
    transaction.on_commit(lambda: alert_email(alert=alert, campaign=campaign))
    return alert


def alert_email(*, alert: Alert, campaign: Campaign) -> int:
    """Email the account's owners about a raised alert; returns how many got it."""
    owners = list(
        Membership.objects.filter(
            account_id=alert.account_id,
            role=Membership.Role.OWNER,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not owners:
        return 0
    link = settings.PORTAL_PUBLIC_URL.rstrip("/") + reverse(
        "portal:campaigns_campaign_change", args=[campaign.pk]
    )
    paused = (
        "\n\nThe campaign was paused automatically: its queued messages wait "
        "until someone resumes it from its page."
        if alert.paused_campaign
        else ""
    )
    return send_mail(
        subject=f"Delivery alert: {alert.get_kind_display()} on {campaign}",
        message=f"{alert.summary}{paused}\n\nSee the campaign: {link}",
        from_email=None,
        recipient_list=owners,
    )


def monitor_user():
    """The user the audit trail names for the monitor's own actions; it cannot log in."""
    user, created = get_user_model().objects.get_or_create(
        username=MONITOR_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
