"""manage.py create_token ACCOUNT [--name NAME] [--json]: print a new API key once."""

import json

from django.core.management.base import BaseCommand, CommandError

from portal.api.auth import api_token_create
from portal.models import Account


class Command(BaseCommand):
    help = "Create an API token for an account; the key is shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's slug.")
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, account, name, as_json, **options):
        try:
            account = Account.objects.get(slug=account)
        except Account.DoesNotExist as exc:
            raise CommandError(f"No account with slug {account!r}.") from exc
        token, key = api_token_create(account=account, name=name)
        if as_json:
            payload = {
                "id": token.pk,
                "account": account.slug,
                "name": token.name,
                "prefix": token.prefix,
                "token": key,
            }
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(key)
            self.stderr.write(
                f"Token {token.prefix} for {account.slug}: store it now, it is not shown again."
            )
