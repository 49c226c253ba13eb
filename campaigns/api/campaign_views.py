"""Campaigns API: campaigns (draft edits, preview, launch, cancel, resend), stats, exports."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import serializers as s
from campaigns.api.filters import CampaignFilterSet
from campaigns.api.lead_views import account_lists
from campaigns.launch import (
    QUEUE_DOWN_AFTER_LAUNCH,
    LaunchRefused,
    campaign_launch,
    campaign_preview,
)
from campaigns.models import Campaign
from campaigns.selectors import (
    campaign_bucket_counts,
    campaign_error_counts,
    campaign_list_for_api,
)
from campaigns.services import (
    CampaignNotCancelable,
    CampaignNotDraft,
    campaign_cancel,
    campaign_create,
    campaign_resend_failed,
    campaign_update,
)
from messaging.api.serializers import MessageExportOutputSerializer
from messaging.api.views import (
    ATTEMPTS_PARAMETER,
    CSV_RESPONSE,
    export_start,
    message_rows,
)
from messaging.exports import message_export_response
from messaging.models import Sender
from portal.api.auth import request_actor
from portal.api.errors import DomainError, ErrorOutputSerializer
from portal.api.feed import ChangeFeedPagination
from portal.api.idempotency import idempotent
from portal.api.schema import IDEMPOTENCY_PARAMETER
from portal.api.views import AccountScopedMixin
from portal.publishing import QueueUnavailable


def campaign_response(*, account_id: int, campaign_id: int, code: int) -> Response:
    campaign = campaign_list_for_api(account_id=account_id).get(pk=campaign_id)
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk])
    data = s.CampaignOutputSerializer(campaign, context={"counts": counts}).data
    return Response(data, status=code)


class CampaignApiMixin(AccountScopedMixin):
    queryset = Campaign.objects.none()
    serializer_class = s.CampaignOutputSerializer

    def get_queryset(self):
        return campaign_list_for_api(account_id=self.account.pk)

    def get_serializer(self, *args, **kwargs):
        if args:
            rows = args[0] if isinstance(args[0], list) else [args[0]]
            kwargs["context"] = {
                **self.get_serializer_context(),
                "counts": campaign_bucket_counts(campaign_ids=[c.pk for c in rows]),
            }
        return self.serializer_class(*args, **kwargs)

    def _campaign_data(self, data: dict) -> dict:
        if data.get("sender") is not None:
            if not Sender.objects.filter(
                account=self.account, pk=data["sender"]
            ).exists():
                raise DomainError("Unknown sender.", code="unknown_sender")
        if "sender" in data:
            data["sender_id"] = data.pop("sender")
        if "lists" in data:
            data["lists"] = account_lists(self.account, data["lists"])
        if "steps" in data:
            data["steps"] = [dict(step) for step in data["steps"]]
        return data


class CampaignListCreateApi(CampaignApiMixin, generics.ListAPIView):
    """Campaigns with their counts per bucket; POST creates a draft."""

    filterset_class = CampaignFilterSet
    search_fields = ["name"]
    pagination_class = ChangeFeedPagination

    @extend_schema(
        request=s.CampaignInputSerializer, responses={201: s.CampaignOutputSerializer}
    )
    def post(self, request):
        data = s.CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaign_create(
            account_id=self.account.pk, **self._campaign_data(dict(data.validated_data))
        )
        return campaign_response(
            account_id=self.account.pk, campaign_id=campaign.pk, code=201
        )


class CampaignDetailApi(CampaignApiMixin, generics.RetrieveAPIView):
    """One campaign; PATCH changes it while it is a draft (409 otherwise)."""

    @extend_schema(
        request=s.CampaignInputSerializer, responses=s.CampaignOutputSerializer
    )
    def patch(self, request, pk: int):
        campaign = self.get_object()
        data = s.CampaignInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            campaign_update(
                campaign_id=campaign.pk,
                **self._campaign_data(dict(data.validated_data)),
            )
        except CampaignNotDraft:
            raise DomainError(
                "Only a draft campaign can be changed.",
                code="campaign_state",
                status_code=409,
            ) from None
        return campaign_response(
            account_id=self.account.pk, campaign_id=campaign.pk, code=200
        )


class CampaignActionMixin(AccountScopedMixin):
    def campaign(self, pk: int) -> Campaign:
        return get_object_or_404(Campaign.objects.filter(account=self.account), pk=pk)

    def state_error(self, campaign: Campaign, action: str) -> DomainError:
        return DomainError(
            f"A campaign that is {campaign.get_state_display().lower()} cannot be {action}.",
            code="campaign_state",
            status_code=409,
            state=campaign.state,
        )


class CampaignPreviewApi(CampaignActionMixin, APIView):
    """What a launch would do: problems (blocking), warnings, leads, segments, credit."""

    @extend_schema(responses=s.LaunchPreviewOutputSerializer)
    def get(self, request, pk: int):
        preview = campaign_preview(campaign_id=self.campaign(pk).pk)
        return Response(s.LaunchPreviewOutputSerializer(preview).data)


class CampaignLaunchApi(CampaignActionMixin, APIView):
    """Launch a draft. Problems give 400 launch_invalid; warnings not confirmed give 409
    confirm_warnings (send again with confirm_warnings=true). A task queue that
    cannot be reached gives 503 queue_unavailable: the launch stands and starts
    by itself once the queue is back. Honors Idempotency-Key."""

    @extend_schema(
        request=s.CampaignLaunchInputSerializer,
        responses={
            202: s.CampaignOutputSerializer,
            503: OpenApiResponse(
                ErrorOutputSerializer,
                description="queue_unavailable: the launch stands and starts "
                "sending by itself once the task queue is back.",
            ),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent("campaign-launch")
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        data = s.CampaignLaunchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not campaign.can_launch():
            raise self.state_error(campaign, "launched")
        try:
            campaign_launch(
                campaign_id=campaign.pk,
                launched_by=request_actor(request),
                confirm_warnings=data.validated_data["confirm_warnings"],
            )
        except LaunchRefused as exc:
            if exc.problems:
                raise DomainError(
                    "The campaign cannot be launched: " + "; ".join(exc.problems),
                    code="launch_invalid",
                    problems=exc.problems,
                    warnings=exc.warnings,
                ) from None
            if exc.warnings:
                raise DomainError(
                    "Confirm these warnings to launch: " + "; ".join(exc.warnings),
                    code="confirm_warnings",
                    status_code=409,
                    problems=[],
                    warnings=exc.warnings,
                ) from None
            campaign.refresh_from_db()
            raise self.state_error(campaign, "launched") from None
        except QueueUnavailable:
            raise DomainError(
                QUEUE_DOWN_AFTER_LAUNCH, code="queue_unavailable", status_code=503
            ) from None
        return campaign_response(
            account_id=self.account.pk, campaign_id=campaign.pk, code=202
        )


class CampaignCancelApi(CampaignActionMixin, APIView):
    """Cancel: queued messages become canceled; sent ones keep their status."""

    @extend_schema(request=None, responses=s.CountOutputSerializer)
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        try:
            count = campaign_cancel(
                campaign_id=campaign.pk, actor=request_actor(request)
            )
        except CampaignNotCancelable:
            campaign.refresh_from_db()
            raise self.state_error(campaign, "canceled") from None
        return Response({"count": count})


class CampaignResendFailedApi(CampaignActionMixin, APIView):
    """Send again the messages whose error is temporary; returns how many."""

    @extend_schema(request=None, responses=s.CountOutputSerializer)
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        count = campaign_resend_failed(
            campaign_id=campaign.pk, actor=request_actor(request)
        )
        return Response({"count": count})


class CampaignStatsApi(CampaignActionMixin, APIView):
    """Counts per bucket with their meaning, and errors by title, most frequent first."""

    @extend_schema(responses=s.CampaignStatsOutputSerializer)
    def get(self, request, pk: int):
        campaign = self.campaign(pk)
        counts = campaign_bucket_counts(campaign_ids=[campaign.pk])[campaign.pk]
        errors = campaign_error_counts(campaign_ids=[campaign.pk]).get(campaign.pk, [])
        stats = {
            "campaign": campaign.pk,
            "state": campaign.state,
            "result": campaign.result,
            "total": sum(
                n for bucket, n in counts.items() if bucket != "deleted_leads"
            ),
            "buckets": s.bucket_rows(counts),
            "errors": errors,
        }
        return Response(s.CampaignStatsOutputSerializer(stats).data)


class CampaignExportApi(CampaignActionMixin, APIView):
    """The campaign's messages as CSV, streamed: current attempts unless attempts=all,
    and the message list's other filters."""

    @extend_schema(responses=CSV_RESPONSE, parameters=[ATTEMPTS_PARAMETER])
    def get(self, request, pk: int):
        campaign = self.campaign(pk)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        rows = message_rows(request, account=self.account, campaign=[str(campaign.pk)])
        return message_export_response(
            rows, filename=f"campaign-{campaign.pk}-{stamp}.csv"
        )


class CampaignExportCreateApi(CampaignActionMixin, APIView):
    """Start an export of the campaign's messages to a CSV file; poll the export
    for its progress, then GET its download_url."""

    @extend_schema(request=None, responses={202: MessageExportOutputSerializer})
    def post(self, request, pk: int):
        campaign = self.campaign(pk)
        return export_start(
            request, account=self.account, filters={"campaign": [str(campaign.pk)]}
        )
