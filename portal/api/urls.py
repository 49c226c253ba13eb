"""Root API URLconf (/api/v1/): the schema, its docs, and each app's API urls."""

from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from portal.api import views

app_name = "api"

# GET /api/v1/ names each resource's list (and the schema and its docs).
RESOURCES = {
    "account": "account",
    "credit": "credit-list",
    "senders": "sender-list",
    "leads": "lead-list",
    "lead_imports": "lead-import-list",
    "lists": "leadlist-list",
    "campaigns": "campaign-list",
    "messages": "message-list",
    "exports": "export-list",
    "errors": "error-list",
    "opt_outs": "optout-list",
    "schema": "schema",
    "docs": "docs",
}

urlpatterns = [
    path("", views.ApiRootApi.as_view(api_root_dict=RESOURCES), name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("account/", views.AccountApi.as_view(), name="account"),
    path("account/credit/", views.CreditEntryListApi.as_view(), name="credit-list"),
    path("", include("messaging.api.urls")),
    path("", include("campaigns.api.urls")),
    # Last: any other URL under /api/v1/ answers a JSON 404, not the portal's login page.
    re_path(r"", views.not_found),
]
