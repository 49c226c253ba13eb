"""Messaging API: messages and their events, the error catalog, opt-outs, CSV export."""

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.api.filters import ErrorCodeFilterSet, MessageFilterSet, OptOutFilterSet
from messaging.api.serializers import (
    ErrorCodeOutputSerializer,
    MessageEventOutputSerializer,
    MessageOutputSerializer,
    OptOutCreateInputSerializer,
    OptOutOutputSerializer,
)
from messaging.exports import message_export_csv
from messaging.models import ErrorCode, Message, MessageEvent, OptOut, OptOutEvent
from messaging.optouts import opt_in_record, opt_out_record
from portal.api import AccountScopedMixin, DomainError, NewestFirstCursorPagination
from portal.api_auth import request_actor
from portal.phones import phone_parse


def message_list(*, account_id: int):
    """The account's messages shaped for the API (one query per page)."""
    return Message.objects.filter(account_id=account_id).select_related("lead", "error")


def csv_download(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class MessageListApi(AccountScopedMixin, generics.ListAPIView):
    """Messages, newest first; poll with updated_after to follow a campaign."""

    serializer_class = MessageOutputSerializer
    filterset_class = MessageFilterSet
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        return message_list(account_id=self.account.pk)


class MessageDetailApi(AccountScopedMixin, generics.RetrieveAPIView):
    serializer_class = MessageOutputSerializer

    def get_queryset(self):
        return message_list(account_id=self.account.pk)


class MessageEventListApi(AccountScopedMixin, generics.ListAPIView):
    """Every status change offered to one message, applied or ignored."""

    serializer_class = MessageEventOutputSerializer
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        message = get_object_or_404(
            Message.objects.filter(account=self.account), pk=self.kwargs["pk"]
        )
        return MessageEvent.objects.filter(message=message).select_related("error")


class MessageExportApi(AccountScopedMixin, APIView):
    """The filtered messages as CSV (same filters as the list), streamed."""

    @extend_schema(
        parameters=[MessageFilterSet],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        filterset = MessageFilterSet(
            request.query_params,
            queryset=Message.objects.filter(account=self.account),
            request=request,
        )
        if not filterset.is_valid():
            raise DomainError(
                "Invalid filters.", code="invalid", fields=filterset.errors
            )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return csv_download(message_export_csv(filterset.qs), f"messages-{stamp}.csv")


class ErrorCodeListApi(generics.ListAPIView):
    """The error catalog: what each provider code means and what to do."""

    serializer_class = ErrorCodeOutputSerializer
    filterset_class = ErrorCodeFilterSet
    queryset = ErrorCode.objects.order_by("provider", "code")


class ErrorCodeDetailApi(generics.RetrieveAPIView):
    serializer_class = ErrorCodeOutputSerializer
    queryset = ErrorCode.objects.all()


class OptOutListCreateApi(AccountScopedMixin, generics.ListAPIView):
    """Numbers that must not be texted; POST opts one out (audited, source "api")."""

    serializer_class = OptOutOutputSerializer
    filterset_class = OptOutFilterSet

    def get_queryset(self):
        return OptOut.objects.filter(account=self.account).order_by(
            "-created_at", "-pk"
        )

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
