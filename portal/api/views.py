"""API views over portal data (the account and its credit), and every API view's account scope."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, permissions, routers, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.auth import request_account
from portal.models import Account, CreditEntry
from portal.selectors import credit_entry_list_for_api


class AccountScopedMixin:
    """Views whose every queryset is filtered to the request's account."""

    @property
    def account(self) -> Account:
        account = request_account(self.request)
        if account is None:  # HasAccount already refused such requests
            raise exceptions.NotAuthenticated()
        return account


class AccountOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    default_country = serializers.CharField()
    credit_balance = serializers.IntegerField(help_text="Segments left to send.")


class CreditEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    delta = serializers.IntegerField()
    reason = serializers.CharField()
    note = serializers.CharField()


class ApiRootApi(routers.APIRootView):
    """The API's resources by name: each list's URL, the schema and its docs."""

    permission_classes = [permissions.AllowAny]


class AccountApi(AccountScopedMixin, APIView):
    """The token's account and its credit balance (in SMS segments)."""

    @extend_schema(responses=AccountOutputSerializer)
    def get(self, request):
        return Response(AccountOutputSerializer(self.account).data)


class CreditEntryListApi(AccountScopedMixin, generics.ListAPIView):
    """The credit ledger: every charge, refund and adjustment, newest first."""

    queryset = CreditEntry.objects.none()  # names the model for the schema
    serializer_class = CreditEntryOutputSerializer
    search_fields = ["note"]

    def get_queryset(self):
        return credit_entry_list_for_api(account_id=self.account.pk)


@csrf_exempt  # answers every method alike; it changes nothing
def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown API URLs answer in the API's error shape."""
    return JsonResponse(
        {"code": "not_found", "detail": "No such API endpoint."}, status=404
    )
