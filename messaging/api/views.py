"""Messaging API: messages (list, send, events), senders, the error catalog, opt-outs, exports."""

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.api.filters import ErrorCodeFilterSet, MessageFilterSet, OptOutFilterSet
from messaging.api.serializers import (
    ErrorCodeOutputSerializer,
    MessageEventOutputSerializer,
    MessageExportOutputSerializer,
    MessageOutputSerializer,
    MessageSendInputSerializer,
    OptOutCreateInputSerializer,
    OptOutOutputSerializer,
    SenderOutputSerializer,
)
from messaging.export_jobs import (
    ExportFiltersInvalid,
    ExportNotReady,
    message_export_create,
    message_export_file_response,
    message_list_filtered,
)
from messaging.exports import message_export_response
from messaging.models import (
    ErrorCode,
    Message,
    MessageEvent,
    MessageExport,
    OptOut,
    OptOutEvent,
    Sender,
)
from messaging.optouts import opt_in_record, opt_out_record
from messaging.outbound import SendRefused, message_send
from messaging.selectors import (
    error_code_list_for_api,
    message_event_list_for_api,
    message_export_list_for_api,
    message_list_for_api,
    optout_list_for_api,
    sender_list_for_api,
)
from portal.api.auth import request_actor
from portal.api.errors import DomainError, ErrorOutputSerializer
from portal.api.feed import ChangeFeedPagination, NewestFirstFeedPagination
from portal.api.idempotency import idempotent, idempotent_answer_save
from portal.api.lists import NewestFirstCursorPagination
from portal.api.schema import IDEMPOTENCY_PARAMETER
from portal.api.views import AccountScopedMixin
from portal.models import Account
from portal.phones import phone_parse

# Refusals about the state of things (409); the others are about the input (400).
SEND_CONFLICTS = {"opted_out", "suppressed", "sender_inactive"}
CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)}
ATTEMPTS_PARAMETER = OpenApiParameter(
    "attempts",
    OpenApiTypes.STR,
    enum=["current", "all"],
    description="current (the default): the latest attempt of each message; "
    "all: superseded attempts too.",
)


def message_filters(request) -> dict[str, list[str]]:
    """The message list's filters in a request's query string, by their API names."""
    known = MessageFilterSet.base_filters
    return {
        name: request.query_params.getlist(name)
        for name in request.query_params
        if name in known
    }


def message_rows(request, *, account: Account, **fixed: list[str]) -> QuerySet:
    """The account's messages the list's filters in the query string select (400 if invalid)."""
    try:
        return message_list_filtered(
            account=account, filters={**message_filters(request), **fixed}
        )
    except ExportFiltersInvalid as exc:
        raise translate_validation(exc.errors) from None


def export_start(
    request, *, account: Account, filters: dict[str, list[str]]
) -> Response:
    """Start an export with these message filters and answer 202 with it."""
    try:
        export = message_export_create(
            account=account, filters=filters, created_by=request_actor(request)
        )
    except ExportFiltersInvalid as exc:
        raise translate_validation(exc.errors) from None
    serializer = MessageExportOutputSerializer(export, context={"request": request})
    return Response(serializer.data, status=status.HTTP_202_ACCEPTED)


class MessageListCreateApi(AccountScopedMixin, generics.ListAPIView):
    """Messages, newest first: the current attempt of each (attempts=all for history).
    With updated_after, a change feed: oldest change first, resumed with its cursor.

    POST sends one message to a number or a lead from one of the account's
    senders. Send it with an Idempotency-Key header: a retry with the same key
    answers the same and sends nothing more.
    """

    search_fields = ["phone", "lead__first_name", "lead__last_name"]
    queryset = Message.objects.none()  # names the model for the schema
    serializer_class = MessageOutputSerializer
    filterset_class = MessageFilterSet
    pagination_class = NewestFirstFeedPagination

    def get_queryset(self):
        return message_list_for_api(account_id=self.account.pk)

    @extend_schema(
        request=MessageSendInputSerializer,
        responses={201: MessageOutputSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent("message-send")
    def post(self, request):
        data = MessageSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            # The answer commits with the message: a retry returns that message.
            with transaction.atomic():
                message = message_send(
                    account=self.account,
                    sender_id=data.validated_data["sender"],
                    body=data.validated_data["body"],
                    phone=data.validated_data.get("phone", ""),
                    lead_id=data.validated_data.get("lead"),
                )
                answer = MessageOutputSerializer(
                    self.get_queryset().get(pk=message.pk)
                ).data
                idempotent_answer_save(request, status_code=201, data=answer)
        except SendRefused as exc:
            raise DomainError(
                exc.detail,
                code=exc.code,
                status_code=409 if exc.code in SEND_CONFLICTS else 400,
            ) from None
        return Response(answer, status=status.HTTP_201_CREATED)


class MessageDetailApi(AccountScopedMixin, generics.RetrieveAPIView):
    queryset = Message.objects.none()
    serializer_class = MessageOutputSerializer

    def get_queryset(self):
        return message_list_for_api(account_id=self.account.pk)


class MessageEventListApi(AccountScopedMixin, generics.ListAPIView):
    """Every status change offered to one message, applied or ignored."""

    queryset = MessageEvent.objects.none()
    serializer_class = MessageEventOutputSerializer
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        message = get_object_or_404(
            Message.objects.filter(account=self.account), pk=self.kwargs["pk"]
        )
        return message_event_list_for_api(message=message)


class MessageFilteredApi(AccountScopedMixin, generics.GenericAPIView):
    """Views that act on the messages selected by the message list's filters."""

    queryset = Message.objects.none()
    filterset_class = MessageFilterSet
    pagination_class = None

    def get_queryset(self):
        return Message.objects.filter(account=self.account)


class MessageExportApi(MessageFilteredApi):
    """The filtered messages as CSV (same filters as the list), streamed."""

    @extend_schema(filters=True, responses=CSV_RESPONSE)
    def get(self, request):
        rows = self.filter_queryset(self.get_queryset())
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return message_export_response(rows, filename=f"messages-{stamp}.csv")


class MessageExportCreateApi(MessageFilteredApi):
    """Start an export of the messages the list shows with the same filters (in the
    query string) to a CSV file; poll the export for its progress, then download it."""

    serializer_class = MessageExportOutputSerializer  # for OPTIONS

    @extend_schema(
        filters=True, request=None, responses={202: MessageExportOutputSerializer}
    )
    def post(self, request):
        return export_start(
            request, account=self.account, filters=message_filters(request)
        )


class ExportScopedMixin(AccountScopedMixin):
    queryset = MessageExport.objects.none()
    serializer_class = MessageExportOutputSerializer

    def get_queryset(self):
        return message_export_list_for_api(account_id=self.account.pk)


class ExportListApi(ExportScopedMixin, generics.ListAPIView):
    """Exports of messages, newest first, with their progress."""


class ExportDetailApi(ExportScopedMixin, generics.RetrieveAPIView):
    """One export: status, rows_done of rows_total, the failure reason or download_url."""


class ExportDownloadApi(AccountScopedMixin, APIView):
    """The CSV file of a done export (409 export_not_ready before that)."""

    @extend_schema(
        responses={
            **CSV_RESPONSE,
            409: OpenApiResponse(
                ErrorOutputSerializer,
                description="export_not_ready: the export is still running or failed.",
            ),
        }
    )
    def get(self, request, pk: int):
        export = get_object_or_404(
            MessageExport.objects.filter(account=self.account), pk=pk
        )
        try:
            return message_export_file_response(export=export)
        except ExportNotReady as exc:
            raise DomainError(
                exc.detail,
                code=exc.code,
                status_code=404 if exc.code == "export_file_missing" else 409,
                status=export.status,
            ) from None


class SenderListApi(AccountScopedMixin, generics.ListAPIView):
    """The account's senders: give one's id to a campaign or a message."""

    search_fields = ["name", "phone_number"]
    queryset = Sender.objects.none()
    serializer_class = SenderOutputSerializer

    def get_queryset(self):
        return sender_list_for_api(account_id=self.account.pk)


class ErrorCodeListApi(generics.ListAPIView):
    """The error catalog: what each provider code means and what to do."""

    serializer_class = ErrorCodeOutputSerializer
    filterset_class = ErrorCodeFilterSet
    search_fields = ["code", "title", "aliases"]
    queryset = error_code_list_for_api()


class ErrorCodeDetailApi(generics.RetrieveAPIView):
    serializer_class = ErrorCodeOutputSerializer
    queryset = ErrorCode.objects.all()


class OptOutListCreateApi(AccountScopedMixin, generics.ListAPIView):
    """Numbers that must not be texted; POST opts one out (audited, source "api")."""

    search_fields = ["phone", "detail"]
    queryset = OptOut.objects.none()
    serializer_class = OptOutOutputSerializer
    filterset_class = OptOutFilterSet
    pagination_class = ChangeFeedPagination

    def get_queryset(self):
        return optout_list_for_api(account_id=self.account.pk)

    @extend_schema(
        request=OptOutCreateInputSerializer,
        responses={201: OptOutOutputSerializer, 200: OptOutOutputSerializer},
    )
    def post(self, request):
        data = OptOutCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parsed = phone_parse(
            data.validated_data["phone"], region=self.account.default_country
        )
        if parsed.e164 is None:
            raise DomainError(parsed.reason, code="invalid_number")
        created = opt_out_record(
            account_id=self.account.pk,
            phone=parsed.e164,
            source=OptOutEvent.Source.API,
            detail=data.validated_data["detail"],
            actor=request_actor(request),
        )
        opt_out = OptOut.objects.get(account=self.account, phone=parsed.e164)
        return Response(
            OptOutOutputSerializer(opt_out).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OptOutDetailApi(AccountScopedMixin, generics.RetrieveAPIView):
    """One opt-out; DELETE opts the number back in (audited, source "api")."""

    queryset = OptOut.objects.none()
    serializer_class = OptOutOutputSerializer

    def get_queryset(self):
        return OptOut.objects.filter(account=self.account)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        opt_out = self.get_object()
        opt_in_record(
            account_id=self.account.pk,
            phone=opt_out.phone,
            source=OptOutEvent.Source.API,
            detail="Opted back in through the API",
            actor=request_actor(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
