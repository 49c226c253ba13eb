"""Root URLconf."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("support/", admin.site.urls),
    path("", RedirectView.as_view(url="/support/", permanent=False)),
]
