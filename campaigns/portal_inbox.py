"""Portal site: the Inbox, leads whose last text waits for an answer (campaigns.replies)."""

from django.contrib import admin

from campaigns import lead_views
from campaigns.models import InboxLead
from campaigns.portal_admin import PortalModelAdmin
from portal.sites import portal_site


@admin.register(InboxLead, site=portal_site)
class InboxPortalAdmin(PortalModelAdmin):
    """Listed in the sidebar as Inbox; each row opens the lead's conversation."""

    def changelist_view(self, request, extra_context=None):
        return lead_views.inbox(request, model_admin=self)
