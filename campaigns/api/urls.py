"""Campaigns API routes (included under /api/v1/ in the "api" namespace)."""

from django.urls import path

from campaigns.api import campaign_views, lead_views

urlpatterns = [
    path("leads/", lead_views.LeadListCreateApi.as_view(), name="lead-list"),
    path("leads/import/", lead_views.LeadImportApi.as_view(), name="lead-import"),
    path(
        "leads/imports/",
        lead_views.LeadImportListApi.as_view(),
        name="lead-import-list",
    ),
    path(
        "leads/imports/<int:pk>/",
        lead_views.LeadImportDetailApi.as_view(),
        name="lead-import-detail",
    ),
    path("leads/<int:pk>/", lead_views.LeadDetailApi.as_view(), name="lead-detail"),
    path("lists/", lead_views.LeadListListCreateApi.as_view(), name="leadlist-list"),
    path(
        "lists/<int:pk>/",
        lead_views.LeadListDetailApi.as_view(),
        name="leadlist-detail",
    ),
    path(
        "campaigns/",
        campaign_views.CampaignListCreateApi.as_view(),
        name="campaign-list",
    ),
    path(
        "campaigns/<int:pk>/",
        campaign_views.CampaignDetailApi.as_view(),
        name="campaign-detail",
    ),
    path(
        "campaigns/<int:pk>/preview/",
        campaign_views.CampaignPreviewApi.as_view(),
        name="campaign-preview",
    ),
    path(
        "campaigns/<int:pk>/launch/",
        campaign_views.CampaignLaunchApi.as_view(),
        name="campaign-launch",
    ),
    path(
        "campaigns/<int:pk>/cancel/",
        campaign_views.CampaignCancelApi.as_view(),
        name="campaign-cancel",
    ),
    path(
        "campaigns/<int:pk>/resend-failed/",
        campaign_views.CampaignResendFailedApi.as_view(),
        name="campaign-resend-failed",
    ),
    path(
        "campaigns/<int:pk>/stats/",
        campaign_views.CampaignStatsApi.as_view(),
        name="campaign-stats",
    ),
    path(
        "campaigns/<int:pk>/export.csv",
        campaign_views.CampaignExportApi.as_view(),
        name="campaign-export",
    ),
    path(
        "campaigns/<int:pk>/exports/",
        campaign_views.CampaignExportCreateApi.as_view(),
        name="campaign-export-create",
    ),
]
