"""Webhook routes, mounted under /webhooks/ by the root URLconf."""

from django.urls import path

from messaging.webhooks import provider_webhook

app_name = "messaging"
urlpatterns = [
    path("<str:provider>/<uuid:sender_uuid>/", provider_webhook, name="webhook"),
]
