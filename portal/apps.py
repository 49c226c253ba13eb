from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # The project's Celery app becomes the current one, so that shared
        # tasks queued by web processes and commands go to the configured broker.
        import portal.celery  # noqa: F401
