from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "messaging.hooks"
    label = "hooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        # Importing portal_admin registers the endpoint pages on the portal site.
        from messaging.hooks import portal_admin  # noqa: F401
