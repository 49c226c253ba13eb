import io
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from campaigns.imports import (
    lead_import_create,
    lead_import_run,
    lead_imports_fail_stalled,
)
from campaigns.models import Lead, LeadImport
from messaging.models import OptOut

pytestmark = pytest.mark.django_db

MESSY = (
    "\r\n".join(
        [
            "Mobile;First Name;Last Name;Church",
            "(202) 555-0101;Zoë;Ångström;St Paul",
            "",
            "+1 202 555 0102;Bob;;",
            "2025550103;Cy;D;North",
            "2025550103;Cy;D;North",
            "555-12;Bad;Row;",
            "+44 20 7946 0958;Land;Line;",
            "2025550109;Opted;Out;",
            ";;;",
        ]
    )
    + "\r\n"
)


def _run(account, tmp_path, data: bytes, name="leads.csv", list_name=""):
    path = tmp_path / name
    path.write_bytes(data)
    imp = lead_import_create(
        account_id=account.pk, source_path=str(path), filename=name, list_name=list_name
    )
    return lead_import_run(import_id=imp.pk)


@pytest.mark.parametrize(
    "encoding,delimiter",
    [("utf-8-sig", ";"), ("utf-8", ","), ("cp1252", "\t"), ("cp1252", ";")],
)
def test_import_reads_messy_files(account, tmp_path, encoding, delimiter):
    OptOut.objects.create(account=account, phone="+12025550109", source="keyword")
    data = MESSY.replace(";", delimiter).encode(encoding)
    imp = _run(account, tmp_path, data, list_name="Sunday")
    assert imp.status == "done", imp.failure_reason
    assert imp.rows_imported == 3 and imp.rows_total == 7
    reasons = {e["row"]: e["reason"] for e in imp.errors}
    assert reasons == {
        6: "duplicate of row 5",
        7: "invalid number",
        8: "not a mobile-capable number (landline)",
        9: "opted out",
    }
    lead = Lead.objects.get(phone="+12025550101")
    assert (lead.first_name, lead.last_name) == ("Zoë", "Ångström")
    assert lead.fields == {"Church": "St Paul"}
    assert lead.lists.get().name == "Sunday"
    assert lead.checked_phone == lead.phone  # fan-outs need not check it again


def test_reimport_creates_no_duplicates(account, tmp_path):
    _run(account, tmp_path, MESSY.encode())
    Lead.objects.update(checked_phone="")  # as leads written before the check was kept
    again = _run(account, tmp_path, MESSY.encode())
    assert again.rows_created == 0 and again.rows_imported == 4
    assert Lead.objects.filter(account=account).count() == 4
    assert not Lead.objects.exclude(checked_phone=F("phone")).exists()


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"PK\x03\x04\x00\x00binary", "not a CSV"),
        (b"name,email\nAnn,a@example.org\n", "No phone column"),
    ],
)
def test_unreadable_file_fails_with_one_message(account, tmp_path, data, message):
    imp = _run(account, tmp_path, data)
    assert imp.status == "failed" and message in imp.failure_reason
    assert not Lead.objects.exists()


def test_import_api_and_command(api, account, tmp_path):
    upload = io.BytesIO(MESSY.encode())
    upload.name = "leads.csv"
    response = api.post(
        reverse("api:lead-import"), {"file": upload}, format="multipart"
    )
    assert response.status_code == 201 and response.json()["rows_imported"] == 4
    path = tmp_path / "more.csv"
    path.write_text("phone\n2025550177\n")
    out = io.StringIO()
    call_command(
        "import_leads",
        account.slug,
        str(path),
        "--list",
        "X",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "Imported 1 lead: 1 new." in out.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    numbers=st.lists(
        st.integers(min_value=100, max_value=9999), min_size=1, max_size=30
    ),
    junk=st.lists(
        st.text(
            st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            max_size=8,
        ),
        max_size=10,
    ),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_import_never_loses_a_valid_row(
    account, tmp_path_factory, numbers, junk, delimiter
):
    tmp_path = tmp_path_factory.mktemp("imp")
    Lead.objects.all().delete()
    rows = [f"+1 (202) 555-{n:04d}{delimiter}x" for n in numbers]
    rows += [f"{j.replace(delimiter, '')}{delimiter}y" for j in junk]
    data = f"Phone{delimiter}Name\n" + "\n".join(rows) + "\n"
    imp = _run(account, tmp_path, data.encode())
    expected = {f"+1202555{n:04d}" for n in numbers}
    assert expected <= set(Lead.objects.values_list("phone", flat=True))
    assert imp.rows_imported + imp.rows_failed == imp.rows_total


def test_import_api_refuses_an_unreadable_file_with_its_reason(api, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    upload = io.BytesIO(b"name,email\nAnn,a@example.org\n")
    upload.name = "contacts.csv"
    response = api.post(
        reverse("api:lead-import"), {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "import_failed" and "No phone column" in data["detail"]
    failed = api.get(reverse("api:lead-import-detail", args=[data["import_id"]]))
    assert failed.json()["status"] == "failed"


def test_a_second_delivery_of_the_import_task_changes_nothing(account, tmp_path):
    first = _run(account, tmp_path, MESSY.encode())
    again = lead_import_run(import_id=first.pk)
    assert (again.status, again.rows_imported, again.errors) == (
        "done",
        first.rows_imported,
        first.errors,
    )


def test_an_unexpected_failure_ends_the_import_with_its_reason(
    account, tmp_path, monkeypatch
):
    from campaigns import imports

    def crash(imp, batch):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "_import_batch", crash)
    imp = _run(account, tmp_path, MESSY.encode())
    imp.refresh_from_db()
    assert imp.status == "failed" and imp.finished_at is not None
    assert "disk on fire" in imp.failure_reason
    assert "importing them again adds no copies" in imp.failure_reason


def test_stalled_imports_fail_with_a_reason(account, tmp_path):
    now = timezone.now()
    path = tmp_path / "leads.csv"
    path.write_bytes(MESSY.encode())
    stalled, live = (
        lead_import_create(account_id=account.pk, source_path=str(path))
        for _ in range(2)
    )
    LeadImport.objects.filter(pk=stalled.pk).update(
        status="running", updated_at=now - timedelta(hours=1)
    )
    assert lead_imports_fail_stalled(now=now) == 1
    stalled.refresh_from_db()
    assert stalled.status == "failed"
    assert "Upload the file again" in stalled.failure_reason
    live.refresh_from_db()
    assert live.status == "pending"
