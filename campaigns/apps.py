from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # Importing portal_admin registers the campaign screens on the portal site.
        from campaigns import (  # noqa: F401
            monitor_widget,
            portal_admin,
            portal_inbox,
            widgets,
        )

        widgets.register()
        monitor_widget.register()
