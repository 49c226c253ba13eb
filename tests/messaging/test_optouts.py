"""Opt-out keywords and the opt-out record."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.models import OptOut, OptOutEvent
from messaging.optouts import (
    HELP_WORDS,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    keyword_intent,
    opt_in_record,
    opt_out_record,
    opt_outs_import,
)
from tests import factories


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", "opt_out"),
        ("Stop.", "opt_out"),
        ("  stop all  ", "opt_out"),
        ("Opt out", "opt_out"),
        ("REVOKE!", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("please don't stop", None),
        ("STOP PLEASE", None),
        ("Start", "opt_in"),
        ("yes", "opt_in"),
        ("UNSTOP", "opt_in"),
        ("help?", "help"),
        ("INFO", "help"),
        ("See you sunday", None),
        ("", None),
    ],
)
def test_keyword_intent(text, intent):
    assert keyword_intent(text) == intent


punctuation = st.text(alphabet=".!?,;:\"' ", max_size=3)


@given(
    word=st.sampled_from(sorted(OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS)),
    before=punctuation,
    after=punctuation,
    upper=st.booleans(),
)
def test_keywords_match_whatever_the_case_and_surrounding_punctuation(
    word, before, after, upper
):
    text = before + (word.upper() if upper else word) + after
    expected = (
        "opt_out"
        if word in OPT_OUT_WORDS
        else "opt_in"
        if word in OPT_IN_WORDS
        else "help"
    )
    assert keyword_intent(text) == expected


@given(
    word=st.sampled_from(sorted(OPT_OUT_WORDS)),
    extra=st.sampled_from(["please", "now", "it"]),
)
def test_keywords_inside_a_sentence_do_not_count(word, extra):
    assert keyword_intent(f"{extra} {word}") is None


@pytest.mark.django_db
def test_opt_out_then_in_is_recorded_with_its_source(account):
    assert opt_out_record(account_id=account.pk, phone="+12025550100", source="keyword")
    assert not opt_out_record(
        account_id=account.pk, phone="+12025550100", source="keyword"
    )
    assert OptOut.objects.filter(account=account, phone="+12025550100").exists()
    assert opt_in_record(account_id=account.pk, phone="+12025550100", source="staff")
    assert not OptOut.objects.filter(account=account).exists()
    history = list(
        OptOutEvent.objects.filter(account=account)
        .order_by("pk")
        .values_list("opted_out", "source")
    )
    assert history == [(True, "keyword"), (False, "staff")]


def test_opt_outs_import_reads_numbers_as_typed_once_each_and_audits(db):
    # given: a header, a number twice, one already opted out, a bad row, a Windows byte
    account = factories.AccountFactory()
    user = factories.UserFactory()
    OptOut.objects.create(account=account, phone="+12025550100", source="keyword")
    lines = [
        b"\xef\xbb\xbfNumber;Name\r\n",
        b"(202) 555-0143;Ada\r\n",
        b"+1 202 555 0143\r\n",
        b"202-555-0100\r\n",
        b"\r\n",
        b'"call me";Zo\xeb\r\n',
    ]
    # when
    result = opt_outs_import(
        account_id=account.pk, region="US", lines=lines, actor=user
    )
    # then
    assert (result.added, result.already, result.rows_failed) == (1, 1, 1)
    assert result.bad_rows == [(6, "call me")]
    assert result.summary == (
        "1 number opted out, 1 already opted out, 1 row not a number."
    )
    event = OptOutEvent.objects.get()
    assert (event.phone, event.opted_out, event.actor) == ("+12025550143", True, user)
    assert OptOut.objects.filter(account=account).count() == 2
