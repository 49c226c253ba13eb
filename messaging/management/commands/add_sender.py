"""manage.py add_sender ACCOUNT PROVIDER NUMBER --credential KEY=VALUE ... [--json]"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.senders import (
    credentials_help,
    credentials_parse,
    sender_create,
    sender_webhook_url,
)
from portal.models import Account


class Command(BaseCommand):
    help = "Create a sender with encrypted credentials and print its webhook URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account", help="The account's slug.")
        parser.add_argument("provider", help="twilio, telnyx, bandwidth or simulator.")
        parser.add_argument("number", help="The sender's number, E.164 preferred.")
        parser.add_argument(
            "--credential",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="One provider credential; repeat for each key ("
            + credentials_help()
            + ").",
        )
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object."
        )

    def handle(self, *args, **options) -> None:
        slug = options["account"]
        try:
            account = Account.objects.get(slug=slug)
        except Account.DoesNotExist as exc:
            raise CommandError(f"No account with slug {slug!r}") from exc
        try:
            credentials = credentials_parse(options["credential"])
            sender = sender_create(
                account=account,
                provider=options["provider"],
                phone_number=options["number"],
                credentials=credentials,
                name=options["name"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        url = sender_webhook_url(sender)
        if options["json"]:
            summary = {
                "uuid": str(sender.uuid),
                "webhook_url": url,
                "account": account.slug,
                "provider": sender.provider,
                "phone_number": sender.phone_number,
                "credential_keys": sorted(credentials),
            }
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(f"Created sender {sender.uuid} ({sender}).")
            self.stdout.write(f"Webhook URL (paste into the provider's console): {url}")
