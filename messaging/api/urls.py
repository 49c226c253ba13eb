"""Messaging API routes (included under /api/v1/ in the "api" namespace)."""

from django.urls import path

from messaging.api import views

urlpatterns = [
    path("messages/", views.MessageListCreateApi.as_view(), name="message-list"),
    path(
        "messages/export.csv", views.MessageExportApi.as_view(), name="message-export"
    ),
    path(
        "messages/exports/",
        views.MessageExportCreateApi.as_view(),
        name="message-export-create",
    ),
    path("messages/<int:pk>/", views.MessageDetailApi.as_view(), name="message-detail"),
    path(
        "messages/<int:pk>/events/",
        views.MessageEventListApi.as_view(),
        name="message-event-list",
    ),
    path("exports/", views.ExportListApi.as_view(), name="export-list"),
    path("exports/<int:pk>/", views.ExportDetailApi.as_view(), name="export-detail"),
    path(
        "exports/<int:pk>/download/",
        views.ExportDownloadApi.as_view(),
        name="export-download",
    ),
    path("senders/", views.SenderListApi.as_view(), name="sender-list"),
    path("errors/", views.ErrorCodeListApi.as_view(), name="error-list"),
    path("errors/<int:pk>/", views.ErrorCodeDetailApi.as_view(), name="error-detail"),
    path("opt-outs/", views.OptOutListCreateApi.as_view(), name="optout-list"),
    path("opt-outs/<int:pk>/", views.OptOutDetailApi.as_view(), name="optout-detail"),
]
