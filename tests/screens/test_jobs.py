"""Portal and support screens for API tokens, lead imports and export files."""

import csv
import io

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns.imports import lead_import_create, lead_import_run
from campaigns.models import Lead, LeadImport
from messaging.exports import COLUMNS
from messaging.models import MessageExport
from messaging.statuses import Status
from portal.api.auth import api_token_create, token_hash
from portal.models import ApiToken, Membership
from tests import factories

pytestmark = pytest.mark.django_db

LEADS_CSV = b"Phone,First name\n2025550101,Ann\n555-12,Bad\n2025550102,Bob\n"


@pytest.fixture
def support_client(db):
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    staff.save()
    client = Client()  # its own: tests use it beside portal_client
    client.force_login(staff)
    return client


@pytest.fixture
def other_account(db):
    return factories.AccountFactory()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


# API tokens


@pytest.fixture
def owner(member):
    """The portal member owns the account: only owners create and revoke tokens."""
    Membership.objects.filter(user=member).update(role=Membership.Role.OWNER)
    return member


@pytest.mark.parametrize("site", ["portal", "support"])
def test_creating_a_token_shows_its_key_once(
    site, portal_client, support_client, account, owner
):
    # given
    client = portal_client if site == "portal" else support_client
    # when
    response = client.post(
        reverse(f"{site}:portal_apitoken_add"), {"account": account.pk, "name": "crm"}
    )
    # then the page shows the key, and only its hash is stored
    assert response.status_code == 200
    key = response.context["key"]
    token = ApiToken.objects.get()
    assert token.key_hash == token_hash(key) and key.startswith(token.prefix)
    assert token.account == account and token.name == "crm"
    assert key in response.content.decode()
    # and the token's own page never shows it again
    page = client.get(reverse(f"{site}:portal_apitoken_change", args=[token.pk]))
    assert page.status_code == 200 and key not in page.content.decode()


def test_portal_token_list_is_scoped_and_searchable_by_prefix(
    portal_client, owner, account, other_account
):
    mine, _ = api_token_create(account=account, name="mine")
    theirs, _ = api_token_create(account=other_account, name="theirs")
    url = reverse("portal:portal_apitoken_changelist")
    html = portal_client.get(url).content.decode()
    assert mine.prefix in html and theirs.prefix not in html
    found = portal_client.get(url, {"q": mine.prefix}).context["cl"].result_list
    assert list(found) == [mine]
    other = reverse("portal:portal_apitoken_change", args=[theirs.pk])
    assert portal_client.get(other).status_code == 404
    # another account cannot be chosen for a new token
    response = portal_client.post(
        reverse("portal:portal_apitoken_add"), {"account": other_account.pk}
    )
    assert response.status_code == 200 and not response.context.get("key")
    assert ApiToken.objects.count() == 2


def test_revoking_tokens_goes_through_the_service(portal_client, owner, account):
    token, key = api_token_create(account=account)
    response = portal_client.post(
        reverse("portal:portal_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(reverse("api:account")).status_code == 401


def test_staff_who_do_not_own_the_account_see_tokens_but_cannot_make_or_revoke_them(
    portal_client, account
):
    # given a token of the account, and a member who is staff, not owner
    token, key = api_token_create(account=account, name="crm")
    url = reverse("portal:portal_apitoken_changelist")
    # then the member sees it, with no way to add or revoke one
    page = portal_client.get(url)
    assert token.prefix in page.content.decode()
    assert "revoke_selected" not in page.content.decode()
    add = reverse("portal:portal_apitoken_add")
    assert portal_client.get(add).status_code == 403
    assert portal_client.post(add, {"account": account.pk}).status_code == 403
    # and posting the revoke action anyway leaves the token working
    portal_client.post(
        url, {"action": "revoke_selected", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(reverse("api:account")).status_code == 200


def test_an_owner_revokes_only_the_tokens_of_accounts_they_own(
    portal_client, owner, account
):
    # given an owner who is only staff in a second account
    second = factories.AccountFactory()
    factories.MembershipFactory(user=owner, account=second)
    mine, _ = api_token_create(account=account)
    theirs, _ = api_token_create(account=second)
    # when both are selected for revoking
    response = portal_client.post(
        reverse("portal:portal_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    # then only the owned account's token is revoked, and the page says why
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    notes = [str(m) for m in response.context["messages"]]
    assert "1 token revoked." in notes
    assert any("only its account's owners may revoke it" in n for n in notes)
    # and a new token can only be made for the owned account
    form = portal_client.get(reverse("portal:portal_apitoken_add")).context["adminform"]
    assert list(form.form.fields["account"].queryset) == [account]


# Lead imports


def test_portal_upload_imports_leads_and_shows_the_bad_rows(
    portal_client, account, django_capture_on_commit_callbacks
):
    # given
    upload = SimpleUploadedFile("church.csv", LEADS_CSV, content_type="text/csv")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = portal_client.post(
            reverse("portal:campaigns_leadimport_add"),
            {"account": account.pk, "file": upload, "list_name": "Sunday"},
        )
    # then the worker imported it, and its page shows progress and the report
    imp = LeadImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "portal:campaigns_leadimport_change", args=[imp.pk]
    )
    assert imp.status == "done" and imp.rows_imported == 2
    assert set(Lead.objects.values_list("phone", flat=True)) == {
        "+12025550101",
        "+12025550102",
    }
    page = portal_client.get(response["Location"])
    html = page.content.decode()
    assert "2 of 3 rows" not in html and "3 of 3 rows" in html
    assert "555-12" in html and "invalid number" in html
    assert 'http-equiv="refresh"' not in html  # done: no more refreshing


def test_a_running_import_page_refreshes_itself(portal_client, account):
    imp = lead_import_create(account_id=account.pk, source_path="x.csv")
    url = reverse("portal:campaigns_leadimport_change", args=[imp.pk])
    html = portal_client.get(url).content.decode()
    assert 'http-equiv="refresh"' in html and "Waiting" in html


def test_upload_form_needs_a_file(portal_client, account):
    response = portal_client.post(
        reverse("portal:campaigns_leadimport_add"), {"account": account.pk}
    )
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert not LeadImport.objects.exists()


def test_support_sees_an_imports_failure_and_bad_rows(
    support_client, account, tmp_path
):
    path = tmp_path / "leads.csv"
    path.write_bytes(LEADS_CSV)
    imp = lead_import_run(
        import_id=lead_import_create(account_id=account.pk, source_path=str(path)).pk
    )
    broken = lead_import_run(
        import_id=lead_import_create(
            account_id=account.pk, source_path=str(tmp_path / "gone.csv")
        ).pk
    )
    html = support_client.get(
        reverse("support:campaigns_leadimport_change", args=[imp.pk])
    ).content.decode()
    assert "555-12" in html and "invalid number" in html
    html = support_client.get(
        reverse("support:campaigns_leadimport_change", args=[broken.pk])
    ).content.decode()
    assert broken.failure_reason and "No such file" in broken.failure_reason
    assert "No such file" in html


# Export files


def test_campaign_page_starts_an_export_and_its_page_offers_the_file(
    portal_client, campaign, django_capture_on_commit_callbacks
):
    # given
    factories.MessageFactory.create_batch(2, campaign=campaign, status=Status.DELIVERED)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = portal_client.post(
            reverse("portal:campaigns_campaign_action", args=[campaign.pk, "export"])
        )
    # then
    export = MessageExport.objects.get()
    assert response["Location"] == reverse(
        "portal:messaging_messageexport_change", args=[export.pk]
    )
    html = portal_client.get(response["Location"]).content.decode()
    download = reverse("portal:messaging_messageexport_download", args=[export.pk])
    assert "2 of 2 rows" in html and download in html
    file = portal_client.get(download)
    rows = list(csv.reader(io.StringIO(b"".join(file.streaming_content).decode())))
    assert rows[0] == COLUMNS and len(rows) == 3


def test_an_export_of_another_account_is_404(portal_client, other_account):
    export = MessageExport.objects.create(account=other_account)
    for name in ("change", "download"):
        url = reverse(f"portal:messaging_messageexport_{name}", args=[export.pk])
        assert portal_client.get(url).status_code == 404


def test_a_failed_export_shows_why(portal_client, account):
    export = MessageExport.objects.create(
        account=account, status="failed", failure_reason="The disk is full."
    )
    url = reverse("portal:messaging_messageexport_change", args=[export.pk])
    assert "The disk is full." in portal_client.get(url).content.decode()
    html = portal_client.get(
        reverse("portal:messaging_messageexport_changelist")
    ).content.decode()
    assert "The disk is full." in html


# Query budgets: the same count at 1 and 20 rows


def _fill(account, n: int) -> None:
    for i in range(n):
        api_token_create(account=account, name=f"t{i}")
    LeadImport.objects.bulk_create(
        LeadImport(account=account, errors=[{"row": 1}] * 100) for _ in range(n)
    )
    MessageExport.objects.bulk_create(MessageExport(account=account) for _ in range(n))


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(
    "url,budget",
    [
        ("portal:portal_apitoken_changelist", 5),
        ("portal:campaigns_leadimport_changelist", 5),
        ("portal:messaging_messageexport_changelist", 5),
        ("support:portal_apitoken_changelist", 4),
        ("support:campaigns_leadimport_changelist", 4),
    ],
)
def test_job_changelists_query_count_is_flat(
    url, budget, rows, portal_client, support_client, account, django_assert_num_queries
):
    _fill(account, rows)
    client = portal_client if url.startswith("portal") else support_client
    client.get(reverse(url))  # warm the session
    with django_assert_num_queries(budget):
        assert client.get(reverse(url)).status_code == 200
