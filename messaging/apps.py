from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Importing portal_admin registers the SMS log on the portal site.
        from messaging import portal_admin, widgets  # noqa: F401
        from messaging.catalog import catalog_sync_after_migrate

        # The catalog is data shipped with the code: every migrate brings the
        # table in line with messaging/catalog/errors.csv.
        post_migrate.connect(catalog_sync_after_migrate, sender=self)
        widgets.register()
