"""Creating senders: credential keys checked, stored encrypted, webhook URL printed."""

import json
from io import StringIO

import pytest

from django.core.management import CommandError, call_command

from messaging.credentials import credentials_get
from messaging.models import Sender
from tests.messaging.providers.signing import CREDENTIALS

pytestmark = pytest.mark.django_db


def add_sender(*args: str) -> str:
    out = StringIO()
    call_command("add_sender", *args, stdout=out)
    return out.getvalue()


def credential_args(provider: str, **changes: str | None) -> list[str]:
    credentials = CREDENTIALS[provider] | changes
    return [
        f"--credential={key}={value}"
        for key, value in credentials.items()
        if value is not None
    ]


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "bandwidth"])
def test_add_sender_json(account, provider, settings):
    settings.PORTAL_PUBLIC_URL = "https://sms.example.org"
    output = add_sender(
        account.slug, provider, "(312) 555-0199", *credential_args(provider), "--json"
    )
    created = json.loads(output)
    sender = Sender.objects.get(uuid=created["uuid"])
    assert created["webhook_url"] == (
        f"https://sms.example.org/webhooks/{provider}/{sender.uuid}/"
    )
    assert sender.phone_number == "+13125550199"
    assert credentials_get(sender) == CREDENTIALS[provider]
    for secret in CREDENTIALS[provider].values():
        assert secret not in output
        assert secret not in sender.credentials_encrypted


def test_add_sender_prints_webhook_url(account):
    output = add_sender(
        account.slug, "twilio", "+13125550199", *credential_args("twilio")
    )
    sender = Sender.objects.get()
    assert f"/webhooks/twilio/{sender.uuid}/" in output
    assert "twilio-token" not in output


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"auth_token": None}, "missing credential 'auth_token'"),
        ({"api_key": "x"}, "unknown credential 'api_key' for twilio"),
    ],
)
def test_add_sender_names_the_wrong_key(account, changes, named):
    with pytest.raises(CommandError, match=named):
        add_sender(
            account.slug,
            "twilio",
            "+13125550199",
            *credential_args("twilio", **changes),
        )
    assert not Sender.objects.exists()


def test_add_sender_refuses_unknown_provider_and_account(account):
    with pytest.raises(CommandError, match="Unknown provider 'nexmo'"):
        add_sender(account.slug, "nexmo", "+13125550199")
    with pytest.raises(CommandError, match="No account with slug 'nope'"):
        add_sender("nope", "twilio", "+13125550199", *credential_args("twilio"))


def sender_form(account, **changes) -> dict:
    form = {
        "account": account.pk,
        "name": "",
        "provider": "twilio",
        "phone_number": "(312) 555-0199",
        "throughput_per_second": 10,
        "reply_share_percent": 10,
        "is_active": "on",
        "credentials": "account_sid=AC123\nauth_token=twilio-token\n",
    }
    return form | changes


def test_support_adds_sender_with_write_only_credentials(admin_client, account):
    response = admin_client.post("/support/messaging/sender/add/", sender_form(account))
    assert response.status_code == 302
    sender = Sender.objects.get()
    assert sender.phone_number == "+13125550199"
    assert credentials_get(sender) == CREDENTIALS["twilio"]
    page = admin_client.get(f"/support/messaging/sender/{sender.pk}/change/")
    assert f"/webhooks/twilio/{sender.uuid}/" in page.content.decode()
    assert "twilio-token" not in page.content.decode()


def test_support_keeps_credentials_when_left_blank(admin_client, account):
    admin_client.post("/support/messaging/sender/add/", sender_form(account))
    sender = Sender.objects.get()
    response = admin_client.post(
        f"/support/messaging/sender/{sender.pk}/change/",
        sender_form(account, name="Main line", credentials=""),
    )
    assert response.status_code == 302
    sender.refresh_from_db()
    assert (sender.name, credentials_get(sender)) == (
        "Main line",
        CREDENTIALS["twilio"],
    )


def test_support_form_names_the_missing_key(admin_client, account):
    response = admin_client.post(
        "/support/messaging/sender/add/",
        sender_form(account, credentials="account_sid=AC123"),
    )
    assert response.status_code == 200
    assert "missing credential &#x27;auth_token&#x27;" in response.content.decode()
    assert not Sender.objects.exists()


def test_add_sender_refuses_a_duplicate_number(account):
    add_sender(account.slug, "twilio", "+13125550199", *credential_args("twilio"))
    with pytest.raises(CommandError, match="already has a twilio sender"):
        add_sender(account.slug, "twilio", "3125550199", *credential_args("twilio"))
