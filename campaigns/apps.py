from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # Importing portal_admin registers the campaign screens on the portal site.
        from campaigns import portal_admin, portal_inbox, widgets  # noqa: F401

        widgets.register()
