"""Campaigns API routes (included under /api/v1/ in the "api" namespace)."""

from django.urls import path

from campaigns.api import pause_views, views

urlpatterns = [
    path("leads/", views.LeadListCreateApi.as_view(), name="lead-list"),
    path("leads/import/", views.LeadImportApi.as_view(), name="lead-import"),
    path("leads/imports/", views.LeadImportListApi.as_view(), name="lead-import-list"),
    path(
        "leads/imports/<int:pk>/",
        views.LeadImportDetailApi.as_view(),
        name="lead-import-detail",
    ),
    path("leads/<int:pk>/", views.LeadDetailApi.as_view(), name="lead-detail"),
    path("lists/", views.LeadListListCreateApi.as_view(), name="leadlist-list"),
    path("lists/<int:pk>/", views.LeadListDetailApi.as_view(), name="leadlist-detail"),
    path("campaigns/", views.CampaignListCreateApi.as_view(), name="campaign-list"),
    path(
        "campaigns/<int:pk>/", views.CampaignDetailApi.as_view(), name="campaign-detail"
    ),
    path(
        "campaigns/<int:pk>/preview/",
        views.CampaignPreviewApi.as_view(),
        name="campaign-preview",
    ),
    path(
        "campaigns/<int:pk>/launch/",
        views.CampaignLaunchApi.as_view(),
        name="campaign-launch",
    ),
    path(
        "campaigns/<int:pk>/cancel/",
        views.CampaignCancelApi.as_view(),
        name="campaign-cancel",
    ),
    path(
        "campaigns/<int:pk>/pause/",
        pause_views.CampaignPauseApi.as_view(),
        name="campaign-pause",
    ),
    path(
        "campaigns/<int:pk>/resume/",
        pause_views.CampaignResumeApi.as_view(),
        name="campaign-resume",
    ),
    path(
        "campaigns/<int:pk>/resend-failed/",
        views.CampaignResendFailedApi.as_view(),
        name="campaign-resend-failed",
    ),
    path(
        "campaigns/<int:pk>/stats/",
        views.CampaignStatsApi.as_view(),
        name="campaign-stats",
    ),
    path(
        "campaigns/<int:pk>/export.csv",
        views.CampaignExportApi.as_view(),
        name="campaign-export",
    ),
    path(
        "campaigns/<int:pk>/exports/",
        views.CampaignExportCreateApi.as_view(),
        name="campaign-export-create",
    ),
]
