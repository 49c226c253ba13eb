import io
from datetime import timedelta
from itertools import zip_longest

import pytest
from hypothesis import HealthCheck, example, given, settings
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
    [
        ("utf-8-sig", ";"),
        ("utf-8", ","),
        ("cp1252", "\t"),
        ("cp1252", ";"),
        ("utf-16", ","),  # with a byte order mark
        ("utf-16-le", ";"),  # without one
        ("utf-16-be", "\t"),
    ],
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
        # The reason quotes the header; PostgreSQL would refuse its NUL byte.
        (b"na\x00me,email\nAnn,a@example.org\n", "Columns found: na\u2400me, email"),
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
            st.characters(blacklist_categories=("Cs",)),
            max_size=8,
        ),
        max_size=10,
    ),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
# A bad row's phone cell is kept in the report: PostgreSQL's jsonb holds no NUL.
@example(numbers=[100], junk=["\x00"], delimiter=",")
def test_import_never_loses_a_valid_row(
    account, tmp_path_factory, numbers, junk, delimiter
):
    tmp_path = tmp_path_factory.mktemp("imp")
    Lead.objects.all().delete()
    good = [f"+1 (202) 555-{n:04d}{delimiter}x" for n in numbers]
    bad = [f"{j.replace(delimiter, '')}{delimiter}y" for j in junk]
    # junk between the good rows: stray quotes, NUL bytes, line breaks
    rows = [row for pair in zip_longest(good, bad) for row in pair if row is not None]
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
    from campaigns import import_rows

    def crash(imp, batch):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_rows, "lead_import_batch", crash)
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


def test_an_import_whose_task_was_lost_is_published_again_then_failed_in_words(
    account, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from campaigns import tasks

    # given imports waiting: one for 5 minutes, one for an hour (the broker was down)
    now = timezone.now()
    path = tmp_path / "leads.csv"
    path.write_bytes(MESSY.encode())
    lost, abandoned = (
        lead_import_create(account_id=account.pk, source_path=str(path))
        for _ in range(2)
    )
    LeadImport.objects.filter(pk=lost.pk).update(
        created_at=now - timedelta(minutes=5), updated_at=now - timedelta(minutes=5)
    )
    LeadImport.objects.filter(pk=abandoned.pk).update(
        created_at=now - timedelta(hours=1), updated_at=now - timedelta(hours=1)
    )
    published = []
    monkeypatch.setattr(
        tasks.import_leads_task,
        "apply_async",
        lambda args, **kw: published.append(args),
    )
    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_imports_fail_stalled(now=now) == 1
    # then the recent one is handed to a worker again, once per stall period
    assert published == [[lost.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_imports_fail_stalled(now=now + timedelta(seconds=30)) == 0
    assert published == [[lost.pk]]
    # and the old one failed with a reason a person understands
    abandoned.refresh_from_db()
    assert abandoned.status == "failed"
    assert "never started" in abandoned.failure_reason


def test_a_windows_byte_late_in_a_utf8_file_changes_only_its_own_row(account, tmp_path):
    # given a UTF-8 file of 100 KB whose last row was typed on Windows
    rows = [f"+1202555{n:04d},Zoë" for n in range(5000)]
    data = ("Phone,First name\n" + "\n".join(rows) + "\n").encode()
    data += "+12025559999,Café\n".encode("cp1252")
    # when it is imported
    imp = _run(account, tmp_path, data)
    # then every name reads as it was written
    assert imp.status == "done" and imp.rows_imported == 5001
    assert Lead.objects.get(phone="+12025550000").first_name == "Zoë"
    assert Lead.objects.get(phone="+12025554999").first_name == "Zoë"
    assert Lead.objects.get(phone="+12025559999").first_name == "Café"


def test_bad_rows_are_named_and_the_rows_around_them_imported(account, tmp_path):
    # given a file with an unterminated quote, a NUL byte and a quote closed
    # far too late, among good rows
    lines = [
        "Phone,Name",
        "+12025550101,Ann",
        '+12025550102,"Bob',  # row 3: never closed
        "+12025550103,Cy",
        "+12025550104,Da\x00n",  # row 5: a NUL byte
        "+12025550105,Eve",
        '+12025550106,"Fay',  # row 7: closed 14 rows later
        *[f"+120255502{n:02d},Gus" for n in range(13)],
        '+12025550107,Hal"',
        "+12025550108,Ida",
    ]
    # when it is imported
    imp = _run(account, tmp_path, ("\n".join(lines) + "\n").encode())
    # then every good row is in, and each bad one is named by its row number
    assert imp.status == "done", imp.failure_reason
    reasons = {e["row"]: e["reason"] for e in imp.errors}
    assert reasons == {
        3: "a quote opened in this row is never closed",
        5: "the row holds a NUL byte (the file may be damaged)",
        7: "a quote opened in this row is never closed",
    }
    phones = set(Lead.objects.values_list("phone", flat=True))
    assert {"+12025550101", "+12025550103", "+12025550105", "+12025550108"} <= phones
    assert {f"+120255502{n:02d}" for n in range(13)} <= phones
    assert imp.rows_imported + imp.rows_failed == imp.rows_total == len(lines) - 1


def test_a_name_longer_than_the_field_is_reported_not_cut(account, tmp_path):
    long = "A" * 101
    data = f"Phone,First name\n+12025550101,{long}\n+12025550102,Bo\n".encode()
    imp = _run(account, tmp_path, data)
    assert [(e["row"], e["reason"]) for e in imp.errors] == [
        (2, "a name is longer than 100 characters")
    ]
    assert list(Lead.objects.values_list("phone", flat=True)) == ["+12025550102"]


@pytest.mark.parametrize(
    "header,names",
    [
        ("Téléphone;Prénom;Nom", ("Zoë", "Ångström")),
        ("Teléfono;Nombre;Apellido", ("Zoë", "Ångström")),
        ("Telefon;Vorname;Nachname", ("Zoë", "Ångström")),
        ("Handy;Name", ("Zoë Ångström", "")),
        ("Téléphone portable;Nom", ("Zoë Ångström", "")),
        ("Número de teléfono;Nombre", ("Zoë Ångström", "")),
    ],
)
def test_french_spanish_and_german_column_names_are_recognised(
    account, tmp_path, header, names
):
    row = (
        "2025550101;Zoë;Ångström"
        if header.count(";") == 2
        else "2025550101;Zoë Ångström"
    )
    imp = _run(account, tmp_path, f"{header}\n{row}\n".encode())
    assert imp.status == "done", imp.failure_reason
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.fields) == (
        names[0].partition(" ")[0],
        names[0].partition(" ")[2] or names[1],
        {},
    )
