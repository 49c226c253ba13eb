"""Campaigns API: leads, lead lists and lead imports."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import leads as lead_services
from campaigns.api import serializers as s
from campaigns.api.filters import LeadFilterSet
from campaigns.imports import lead_import_upload
from campaigns.models import Lead, LeadImport, LeadList
from campaigns.selectors import (
    lead_import_list_for_api,
    lead_list_for_api,
    leadlist_list_for_api,
)
from portal.api.auth import request_actor
from portal.api.errors import DomainError
from portal.api.feed import FEED_PARAMETER, ChangeFeedPagination
from portal.api.views import AccountScopedMixin
from portal.phones import phone_parse

# Uploads up to this size are imported during the request; larger ones by a worker.
IMPORT_SYNC_MAX_BYTES = 512 * 1024


def account_lists(account, list_ids: list[int]) -> list[LeadList]:
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
            data["lists"] = account_lists(self.account, data["lists"])
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
        return lead_import_list_for_api(account_id=self.account.pk)


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
        return leadlist_list_for_api(account_id=self.account.pk)

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
        return leadlist_list_for_api(account_id=self.account.pk)
