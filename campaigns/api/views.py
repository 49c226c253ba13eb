"""Campaigns API: leads, lists, imports, campaigns (draft edits, launch, cancel, resend), stats."""

from django.db.models import Exists, OuterRef, Prefetch, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import leads as lead_services
from campaigns.api import serializers as s
from campaigns.api.filters import CampaignFilterSet, LeadFilterSet
from campaigns.imports import lead_import_upload
from campaigns.launch import QUEUE_DOWN_AFTER_LAUNCH
from campaigns.models import Campaign, Lead, LeadImport, LeadList
from campaigns.selectors import campaign_bucket_counts, campaign_error_counts
from messaging.api.serializers import MessageExportOutputSerializer
from messaging.api.views import (
    ATTEMPTS_PARAMETER,
    CSV_RESPONSE,
    export_start,
    message_rows,
)
from messaging.exports import message_export_response
from messaging.models import Message, OptOut, Sender
from portal.api import (
    AccountScopedMixin,
    DomainError,
    ErrorOutputSerializer,
    idempotent,
)
from portal.api_auth import request_actor
from portal.api_feed import FEED_PARAMETER, ChangeFeedPagination
from portal.api_schema import IDEMPOTENCY_PARAMETER
from portal.phones import phone_parse
from portal.publishing import QueueUnavailable

# Uploads up to this size are imported during the request; larger ones by a worker.
IMPORT_SYNC_MAX_BYTES = 512 * 1024


def lead_list_for_api(*, account_id: int, deleted: bool = False):
    """Live leads (deleted ones too if asked) with opt-out state and the advice of
    their latest error, lists prefetched."""
    latest_error = (
        Message.objects.filter(lead=OuterRef("pk"), error__isnull=False)
        .order_by("-created_at", "-pk")
        .values("error__number_advice")[:1]
    )
    leads = Lead.objects.filter(account_id=account_id)
    if not deleted:
        leads = leads.filter(deleted_at__isnull=True)
    return (
        leads.annotate(
            opted_out=Exists(
                OptOut.objects.filter(account_id=account_id, phone=OuterRef("phone"))
            ),
            number_advice=Subquery(latest_error),
        )
        .prefetch_related(Prefetch("lists", queryset=LeadList.objects.only("pk")))
        .order_by("-created_at", "-pk")
    )


def _account_lists(account, list_ids: list[int]) -> list[LeadList]:
    """The account's lists with these ids; an id of another account is an error."""
    lists = list(LeadList.objects.filter(account=account, pk__in=list_ids))
    if len(lists) != len(set(list_ids)):
        raise DomainError("Unknown list.", code="unknown_list")
    return lists


class LeadApiMixin(AccountScopedMixin):
    queryset = Lead.objects.none()  # names the model for the schema
    serializer_class = s.LeadOutputSerializer

    def get_queryset(self):
        return lead_list_for_api(account_id=self.account.pk)

    def _lead_data(self, data: dict) -> dict:
        if "phone" in data:
            parsed = phone_parse(data["phone"], region=self.account.default_country)
            if parsed.reason:
                raise DomainError(parsed.reason, code="invalid_number")
            data["phone"] = parsed.e164
        if "lists" in data:
            data["lists"] = _account_lists(self.account, data["lists"])
        if "steps" in data:
            data["steps"] = [dict(step) for step in data["steps"]]
        return data

    def _render(self, lead_id: int, code: int) -> Response:
        lead = self.get_queryset().get(pk=lead_id)
        return Response(s.LeadOutputSerializer(lead).data, status=code)


LEAD_EXISTS = "A lead with this number exists."


class LeadListCreateApi(LeadApiMixin, generics.ListAPIView):
    """Leads (filter by list, opt-out state, number advice); POST adds one."""

    filterset_class = LeadFilterSet
    search_fields = ["first_name", "last_name", "phone"]
    pagination_class = ChangeFeedPagination

    def get_queryset(self):
        # A feed shows deletions too, so that a copy of the leads can drop them.
        return lead_list_for_api(
            account_id=self.account.pk,
            deleted=FEED_PARAMETER in self.request.query_params,
        )

    @extend_schema(
        request=s.LeadInputSerializer, responses={201: s.LeadOutputSerializer}
    )
    def post(self, request):
        data = s.LeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lead = lead_services.lead_create(
                account_id=self.account.pk, **self._lead_data(dict(data.validated_data))
            )
        except lead_services.LeadExists:
            raise DomainError(
                LEAD_EXISTS, code="lead_exists", status_code=409
            ) from None
        return self._render(lead.pk, status.HTTP_201_CREATED)


class LeadDetailApi(LeadApiMixin, generics.RetrieveAPIView):
    """One lead; PATCH changes it, DELETE soft-deletes it."""

    @extend_schema(request=s.LeadInputSerializer, responses=s.LeadOutputSerializer)
    def patch(self, request, pk: int):
        lead = self.get_object()
        data = s.LeadInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            lead_services.lead_update(
                lead=lead, **self._lead_data(dict(data.validated_data))
            )
        except lead_services.LeadExists:
            raise DomainError(
                LEAD_EXISTS, code="lead_exists", status_code=409
            ) from None
        return self._render(lead.pk, status.HTTP_200_OK)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        lead_services.lead_delete(lead=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadImportApi(AccountScopedMixin, APIView):
    """Upload a CSV of leads (multipart, field "file"). Small files are imported at
    once (201), large ones by a worker (202): poll the import for rows_done of
    rows_total. Bad rows are listed in errors; a file that cannot be read at all
    answers 400 import_failed with the reason."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request=s.LeadImportInputSerializer,
        responses={
            201: s.LeadImportOutputSerializer,
            202: s.LeadImportOutputSerializer,
        },
    )
    def post(self, request):
        data = s.LeadImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        imp = lead_import_upload(
            account_id=self.account.pk,
            upload=upload,
            list_name=data.validated_data.get("list", ""),
            created_by=request_actor(request),
            in_background=upload.size > IMPORT_SYNC_MAX_BYTES,
        )
        if imp.status == LeadImport.Status.FAILED:
            raise DomainError(
                imp.failure_reason, code="import_failed", import_id=imp.pk
            )
        code = 201 if imp.status == LeadImport.Status.DONE else 202
        return Response(s.LeadImportOutputSerializer(imp).data, status=code)


class LeadImportScopedMixin(AccountScopedMixin):
    queryset = LeadImport.objects.none()
    serializer_class = s.LeadImportOutputSerializer

    def get_queryset(self):
        return LeadImport.objects.filter(account=self.account)


class LeadImportListApi(LeadImportScopedMixin, generics.ListAPIView):
    """Lead imports, newest first, with their progress."""

    search_fields = ["filename"]


class LeadImportDetailApi(LeadImportScopedMixin, generics.RetrieveAPIView):
    """One import: status, rows_done of rows_total, counts and the bad rows."""


class LeadListListCreateApi(AccountScopedMixin, generics.ListAPIView):
    queryset = LeadList.objects.none()
    search_fields = ["name"]
    serializer_class = s.LeadListOutputSerializer

    def get_queryset(self):
        return LeadList.objects.filter(account=self.account)

    @extend_schema(
        request=s.LeadListCreateInputSerializer,
        responses={201: s.LeadListOutputSerializer},
    )
    def post(self, request):
        data = s.LeadListCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["name"].strip()
        if LeadList.objects.filter(account=self.account, name=name).exists():
            raise DomainError(
                "A list with this name exists.", code="list_exists", status_code=409
            )
        lead_list = lead_services.lead_list_create(
            account_id=self.account.pk, name=name
        )
        return Response(s.LeadListOutputSerializer(lead_list).data, status=201)


class LeadListDetailApi(AccountScopedMixin, generics.RetrieveAPIView):
    queryset = LeadList.objects.none()
    serializer_class = s.LeadListOutputSerializer

    def get_queryset(self):
        return LeadList.objects.filter(account=self.account)


def campaign_list_for_api(*, account_id: int):
    """The account's campaigns with their lists prefetched, newest first."""
    return (
        Campaign.objects.filter(account_id=account_id)
        .prefetch_related(
            Prefetch("lists", queryset=LeadList.objects.only("pk")), "steps"
        )
        .order_by("-created_at", "-pk")
    )


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
            data["lists"] = _account_lists(self.account, data["lists"])
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
        campaign = lead_services.campaign_create(
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
            lead_services.campaign_update(
                campaign_id=campaign.pk,
                **self._campaign_data(dict(data.validated_data)),
            )
        except lead_services.CampaignNotDraft:
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
        from campaigns.services import campaign_preview

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
        from campaigns import services

        campaign = self.campaign(pk)
        data = s.CampaignLaunchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not campaign.can_launch():
            raise self.state_error(campaign, "launched")
        try:
            services.campaign_launch(
                campaign_id=campaign.pk,
                launched_by=request_actor(request),
                confirm_warnings=data.validated_data["confirm_warnings"],
            )
        except services.LaunchRefused as exc:
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
        from campaigns.services import CampaignNotCancelable, campaign_cancel

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
        from campaigns.services import campaign_resend_failed

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
