"""manage.py seed_demo: the demo account, user demo / demo, leads and a simulated sender."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.management.demo_seed import demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo account (slug 'demo') and user demo / demo. Safe to run twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even though DEBUG is off."
        )

    def handle(self, *args, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create a demo user with a known password while DEBUG is "
                "off. Set DJANGO_DEBUG=1, or pass --force if you really mean it."
            )
        account = demo_seed()
        self.stdout.write(
            f"Demo account '{account.slug}' ready: log in as demo / demo "
            f"({account.leads.count()} leads)."
        )
