"""Root URLconf: the support site at /support/ and the tenant-scoped portal at /."""

from django.urls import include, path

from portal.sites import portal_site, support_site

urlpatterns = [
    path("support/", support_site.urls),
    path("webhooks/", include("messaging.urls")),
    path("api/v1/", include("portal.api.urls")),
    # Last, so that "admin:..." names (LOGIN_URL) resolve to the portal site.
    path("", portal_site.urls),
]
