"""The error catalog and `manage.py explain`: every seed word resolves to a specific answer."""

import json
import os
import subprocess
import sys
from io import StringIO

import pytest

from django.conf import settings
from django.core.management import call_command

from messaging.catalog import catalog_rows, error_get
from messaging.explain import explain
from messaging.models import ErrorCode

pytestmark = pytest.mark.django_db

# Every status word in the five seed documents, with the status it must mean.
SEED_STATUS_WORDS = {
    # 000 Connection Card Pro
    "Queuing": "queued",
    "Delivered": "delivered",
    "Status Unavailable": "unknown",
    "Failed/Undelivered": "undelivered",
    # 001 Spoke
    "SENT": "sent",
    "DELIVERED": "delivered",
    "ERROR": "undelivered",
    # 002 aNinja (stats column words)
    "In-queue": "queued",
    "Outbox": "sent",
    "Delivery unknown": "unknown",
    "Error": "undelivered",
    "Being processed": "queued",
    "Canceled": "canceled",
    # 003 smsmode
    "In Progress": "queued",
    "Received": "delivered",
    "Delivered to operator": "sent",
    "Undefined": "unknown",
    # 004
    "Sent": "sent",
    "Rejected": "rejected",
    "Failed": "failed",
}

# Every error named in the seeds.
SEED_ERRORS = [
    # 000
    "Message blocked by STOP",
    "Invalid Number",
    "Spam Detected",
    "Network Error",
    "Unreachable",
    "Prohibited by Carrier",
    "Message expired",
    # 002
    "30008",
    "Unknown error",
    # 003
    "Not sent - Insufficient credit",
    "Temporary error operator",
    "Temporary error Absence",
    "Temporary error Phone",
    "Temporary error portability",
    "Permanent error absence",
    "Permanent error phone",
    "Permanent error portability",
    "Internal error",
    "Routing error",
    "Not routable error",
    "Reception error",
    "Error other",
    "Black-listed number",
    # 004
    "Illegal Number",
    "Absent Subscriber",
    "Call barred by user",
    "Portability Error",
    "Anti-Spam Rejection",
    "Handset Busy",
    "Invalid Message",
    "Unroutable",
    "Destination Unreachable",
    "Subscriber Age Restriction",
    "Number Blocked by Carrier",
    "Prepaid - Insufficient funds",
    "General Error",
]


@pytest.mark.parametrize(("word", "status"), SEED_STATUS_WORDS.items())
def test_every_seed_status_word_explains_as_its_status(word, status):
    answer = explain(word)
    assert (answer.kind, answer.status) == ("status", status)


@pytest.mark.parametrize("term", SEED_ERRORS)
def test_every_seed_error_resolves_to_a_specific_catalog_entry(term):
    answer = explain(term)
    assert answer.kind == "error"
    assert answer.error.known, f"{term!r} fell through to an unknown answer"
    assert answer.error.meaning and answer.error.resolution


def test_catalog_file_is_loaded_whole_on_migrate():
    assert ErrorCode.objects.filter(known=True).count() == len(catalog_rows())


def test_every_reference_code_is_in_the_catalog():
    import csv

    reference = (
        settings.BASE_DIR.parent / "shared" / "reference" / "provider_error_codes.csv"
    )
    if not reference.exists():
        pytest.skip("shared/reference is not beside this checkout")
    with reference.open() as handle:
        codes = {
            (row["provider"].replace("generic_smpp", "smpp"), row["code"])
            for row in csv.DictReader(handle)
            if row["category"] != "n/a"
        }
    have = set(ErrorCode.objects.values_list("provider", "code"))
    assert codes - have == set()


def test_an_alias_names_one_entry_and_a_title_one_entry_per_provider():
    aliases: dict[str, str] = {}
    titles: set[tuple[str, str]] = set()
    for entry in ErrorCode.objects.all():
        owner = f"{entry.provider} {entry.code}"
        for alias in entry.aliases:
            assert aliases.setdefault(alias.casefold(), owner) == owner, alias
        title = (entry.provider, entry.title.casefold())
        assert title not in titles, title
        titles.add(title)


def _explain_json(*args: str) -> dict:
    out = StringIO()
    call_command("explain", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_explain_delivered_to_operator_is_the_outbox():
    data = _explain_json("Delivered to operator")
    assert (
        data | {"kind": "status", "status": "sent", "bucket": "outbox", "final": False}
        == data
    )


def test_explain_twilio_30007_is_a_carrier_filter_with_advice():
    data = _explain_json("30007", "--provider", "twilio")
    assert data["kind"] == "error"
    assert (data["provider"], data["code"]) == ("twilio", "30007")
    assert data["category"] == "spam_or_content"
    assert data["bucket"] == "error" and data["final"] is True
    assert data["temporary"] is False and data["billable"] is True
    assert data["number_advice"] == "keep"
    for key in ("title", "meaning", "resolution", "status"):
        assert data[key]


def test_explain_absent_subscriber_says_what_to_do():
    data = _explain_json("absent subscriber")
    assert data["kind"] == "error" and data["provider"] == "carrier"
    assert data["number_advice"] == "remove"
    assert data["resolution"]


def test_explain_message_expired_is_the_expired_status():
    data = _explain_json("Message expired")
    assert (data["kind"], data["status"], data["bucket"]) == (
        "error",
        "expired",
        "error",
    )
    assert data["billable"] is False


def test_explain_unknown_code_still_answers():
    data = _explain_json("12345", "--provider", "twilio")
    assert data["title"] == "Unknown error 12345 from twilio"
    assert data["category"] == "unknown"


def test_explain_plain_output_is_readable():
    out = StringIO()
    call_command("explain", "30007", "--provider", "twilio", stdout=out)
    text = out.getvalue()
    assert text.startswith("Twilio error 30007:")
    assert "What to do:" in text and "Billed:" in text


def test_explain_advises_on_the_number_in_the_words_of_the_lead_page(client):
    # given a permanent error and the API's schema, read by an integrator
    out = StringIO()
    call_command("explain", "30005", "--provider", "twilio", stdout=out)
    schema = client.get("/api/v1/schema/").content.decode()
    # then explain and the API's documentation say what to do with the number
    # in the same words as a lead's page
    advice = "Number looks invalid: update or remove it."
    assert f"The number:  {advice}" in out.getvalue()
    assert advice in schema


def test_explain_bad_arguments_exit_2_with_usage():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "explain", "x", "--provider", "nosuch"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr and "--provider" in result.stderr


def test_error_get_adds_an_unknown_entry_once():
    first = error_get(provider="telnyx", code="99999")
    again = error_get(provider="telnyx", code="99999")
    assert first.pk == again.pk and not first.known
    assert first.title == "Unknown error 99999 from telnyx"


def test_explain_answers_on_a_fresh_clone_with_no_database(tmp_path):
    # given: a settings module pointing at a database file with no tables
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["SQLITE_PATH"] = str(tmp_path / "empty.sqlite3")
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "explain", "30007", "--json"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # then: the catalog file answers
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["code"], answer["title"]) == ("30007", "Filtered as spam")
