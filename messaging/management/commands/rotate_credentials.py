"""manage.py rotate_credentials: re-encrypt sender credentials with PORTAL_CREDENTIALS_KEY."""

from django.core.management.base import BaseCommand, CommandError

from messaging.credentials import credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every sender's credentials with PORTAL_CREDENTIALS_KEY, reading "
        "them with it or any of PORTAL_CREDENTIALS_KEY_FALLBACKS. Run it after "
        "putting a new key in place; then drop the old key from the fallbacks."
    )

    def handle(self, *args, **options) -> None:
        rotation = credentials_rotate()
        self.stdout.write(
            f"Re-encrypted the credentials of {rotation.rotated} senders "
            "with the current key."
        )
        if rotation.unreadable_sender_ids:
            ids = ", ".join(str(pk) for pk in rotation.unreadable_sender_ids)
            raise CommandError(
                f"No configured key opens the credentials of senders {ids}: add the "
                "key they were encrypted with to PORTAL_CREDENTIALS_KEY_FALLBACKS "
                "and run this again, or set their credentials anew."
            )
