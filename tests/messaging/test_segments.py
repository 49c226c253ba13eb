"""Segment counting, as providers bill it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.segments import GSM7_BASIC, segment_count


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters count double
        ("€" * 81, "GSM-7", 2),
        ("é" * 160, "GSM-7", 1),
        ("ç" * 70, "UCS-2", 1),  # lower-case c-cedilla is not GSM-7
        ("ç" * 71, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),  # each emoji is two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
        ("x" * 134 + "ç", "UCS-2", 3),
    ],
)
def test_segment_count(text, encoding, segments):
    count = segment_count(text)
    assert (count.encoding, count.segments) == (encoding, segments)


@given(st.text(alphabet=sorted(GSM7_BASIC), min_size=1, max_size=1000))
def test_gsm_text_segments_cover_its_length(text):
    count = segment_count(text)
    assert count.encoding == "GSM-7"
    capacity = 160 if count.segments == 1 else 153 * count.segments
    assert len(text) <= capacity
    assert count.segments == 1 or len(text) > 153 * (count.segments - 1)
