"""Campaigns API: pause and resume (campaigns/pausing.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import serializers as s
from campaigns.api.campaign_views import CampaignActionMixin
from campaigns.pausing import CampaignStateRefused, campaign_pause, campaign_resume
from portal.api.auth import request_actor


class CampaignPauseApi(CampaignActionMixin, APIView):
    """Pause a campaign being processed or in progress: its queued messages are held
    (not sent) until it is resumed. Their validity keeps running meanwhile.
    Returns how many messages are held."""

    @extend_schema(request=None, responses=s.CountOutputSerializer)
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        try:
            count = campaign_pause(
                campaign_id=campaign.pk, actor=request_actor(request)
            )
        except CampaignStateRefused:
            campaign.refresh_from_db()
            raise self.state_error(campaign, "paused") from None
        return Response({"count": count})


class CampaignResumeApi(CampaignActionMixin, APIView):
    """Resume a paused campaign: its held messages are sent. Returns how many."""

    @extend_schema(request=None, responses=s.CountOutputSerializer)
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        try:
            count = campaign_resume(
                campaign_id=campaign.pk, actor=request_actor(request)
            )
        except CampaignStateRefused:
            campaign.refresh_from_db()
            raise self.state_error(campaign, "resumed") from None
        return Response({"count": count})
