"""manage.py import_leads ACCOUNT FILE [--list NAME]: import a CSV of leads with a progress bar."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns.imports import lead_import_create, lead_import_run
from portal.models import Account

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Import leads from a CSV file into an account (and optionally a list)."

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's slug.")
        parser.add_argument("file", type=Path)
        parser.add_argument("--list", dest="list_name", default="")

    def handle(self, *args, account, file, list_name, **options):
        try:
            account = Account.objects.get(slug=account)
        except Account.DoesNotExist as exc:
            raise CommandError(f"No account with slug {account!r}.") from exc
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        imp = lead_import_create(
            account_id=account.pk,
            source_path=str(file.resolve()),
            filename=file.name,
            list_name=list_name,
        )
        imp = lead_import_run(import_id=imp.pk, progress=self.progress)
        if imp.status == imp.Status.FAILED:
            raise CommandError(imp.failure_reason)
        self.stderr.write("")
        self.stdout.write(imp.summary)
        for error in imp.errors[:50]:
            self.stdout.write(
                f"  row {error['row']}: {error['value']!r}: {error['reason']}"
            )
        if imp.rows_failed > 50:
            self.stdout.write(f"  ... and {imp.rows_failed - 50} more.")

    def progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stderr.write(f"\r[{bar}] {done}/{total} rows", ending="")
