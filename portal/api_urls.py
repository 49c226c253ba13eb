"""Root API URLconf (/api/v1/): the schema, its docs, and each app's API urls."""

from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from portal import api_views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("account/", api_views.AccountApi.as_view(), name="account"),
    path("account/credit/", api_views.CreditEntryListApi.as_view(), name="credit-list"),
    path("", include("messaging.api.urls")),
    path("", include("campaigns.api.urls")),
    # Last: any other URL under /api/v1/ answers a JSON 404, not the portal's login page.
    re_path(r"", api_views.not_found),
]
