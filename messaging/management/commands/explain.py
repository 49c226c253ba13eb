"""manage.py explain TERM: what a status word, error code or error title means."""

import json

from django.core.management.base import BaseCommand

from messaging.explain import PROVIDERS, explain


class Command(BaseCommand):
    help = (
        "Explain a message status word, an error code or an error title in plain words "
        "(case-insensitive; aliases included). Example: explain 30007 --provider twilio"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "term", help='A status word ("Outbox"), code (30007) or title.'
        )
        parser.add_argument(
            "--provider", choices=PROVIDERS, help="Whose code or word it is."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object."
        )

    def handle(self, *args, term: str, provider: str | None, **options) -> None:
        explanation = explain(term, provider=provider)
        if options["json"]:
            self.stdout.write(
                json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False)
            )
        else:
            self.stdout.write(explanation.as_text())
