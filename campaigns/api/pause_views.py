"""Campaigns API: pause and resume (campaigns/pausing.py)."""

from collections.abc import Callable

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import serializers as s
from campaigns.api.campaign_views import CampaignActionMixin
from campaigns.pausing import CampaignStateRefused, campaign_pause, campaign_resume
from portal.api.auth import request_actor


class _PauseOrResumeApi(CampaignActionMixin, APIView):
    """One state change of pausing.py; a refusal names the campaign's state (409)."""

    change: Callable[..., int]
    done_word: str

    @extend_schema(request=None, responses=s.CountOutputSerializer)
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        try:
            count = type(self).change(
                campaign_id=campaign.pk, actor=request_actor(request)
            )
        except CampaignStateRefused:
            campaign.refresh_from_db()
            raise self.state_error(campaign, self.done_word) from None
        return Response({"count": count})


class CampaignPauseApi(_PauseOrResumeApi):
    """Pause a campaign being processed or in progress: its queued messages are held
    (not sent) until it is resumed. Their validity keeps running meanwhile.
    Returns how many messages are held."""

    change = campaign_pause
    done_word = "paused"


class CampaignResumeApi(_PauseOrResumeApi):
    """Resume a paused campaign: its held messages are sent. Returns how many."""

    change = campaign_resume
    done_word = "resumed"
