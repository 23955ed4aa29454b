"""Temporal expressions: tagging and TIMEX3 normalisation (storydesk.analysis.timex).

All sentences are fictional and written for these tests.
"""
from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storydesk.analysis.timex import Timex, analyse, impossible_dates, tag, value_precision, value_range

from conftest import EXAMPLES, ROOT

MONDAY = dt.date(2031, 3, 10)  # a Monday; Sunday before it is 2031-03-09


def find(text: str, dct, needle: str) -> Timex:
    """The expression overlapping the first occurrence of ``needle``."""
    at = text.index(needle)
    hits = [t for t in tag(text, dct) if t.span[0] < at + len(needle) and at < t.span[1]]
    assert hits, f"nothing tagged at {needle!r} in {tag(text, dct)}"
    return hits[0]


@pytest.mark.parametrize("text,needle,type_,value", [
    ("The ferry sank on Sunday near the harbour.", "Sunday", "DATE", "2031-03-09"),
    ("The mayor said Sunday that the bridge would reopen.", "Sunday", "DATE", "2031-03-09"),
    ("The council will vote on Thursday.", "Thursday", "DATE", "2031-03-13"),
    ("The strike began last week.", "last week", "DATE", "2031-W10"),
    ("Talks resume this week in Orlan.", "this week", "DATE", "2031-W11"),
    ("The levee failed on Feb. 27.", "Feb. 27", "DATE", "2031-02-27"),
    ("The levee failed on February 27, 2030.", "February 27, 2030", "DATE", "2030-02-27"),
    ("Crews arrived Tuesday afternoon, officials said.", "Tuesday afternoon", "TIME", "2031-03-04TAF"),
    ("The convoy reached Orlan at nightfall on Sunday.", "nightfall on Sunday", "TIME", "2031-03-09TEV"),
    ("The rebels took the town three weeks after the vote.", "three weeks", "DURATION", "P3W"),
    ("Fighting has raged since late last month.", "late last month", "DATE", "2031-02"),
    ("The envoy visited earlier this month.", "earlier this month", "DATE", "2031-03"),
    ("The agency was founded in 2021.", "2021", "DATE", "2021"),
    ("The plant will close by the end of 2032.", "the end of 2032", "DATE", "2032"),
    ("Floods have grown worse in recent years.", "recent years", "DURATION", "PXY"),
    ("Volunteers patrol the dike every Sunday.", "every Sunday", "SET", "XXXX-WXX-7"),
    ("The pumps run twice a day.", "twice a day", "SET", "P1D"),
    ("The hearing lasted 2 1/2 hours.", "2 1/2 hours", "DURATION", "PT2H30M"),
    ("It took a minute and a half.", "a minute and a half", "DURATION", "PT1M30S"),
    ("The ferry sank on Tuesday. Four days later, divers found it.", "Four days", "DATE", "2031-03-08"),
    ("The bridge was repaired yesterday.", "yesterday", "DATE", "2031-03-09"),
    ("Crews worked through the night, and the dam held this morning.", "this morning", "TIME", "2031-03-10TMO"),
    ("Rescuers reached the village on Friday, three days after the slide.", "three days", "DATE", "2031-03-07"),
    ("Prices fell in the third quarter.", "the third quarter", "DATE", "2031-Q3"),
    ("The town flooded in the 1990s.", "the 1990s", "DATE", "199"),
    ("Residents are now returning home.", "now", "DATE", "PRESENT_REF"),
    ("The festival is held at Christmas.", "Christmas", "DATE", "2030-12-25"),
])
def test_expression_type_and_value(text, needle, type_, value):
    t = find(text, MONDAY, needle)
    assert (t.type, t.value) == (type_, value)


@pytest.mark.parametrize("text,needle,mod", [
    ("Fighting has raged since late last month.", "late last month", "END"),
    ("The envoy visited earlier this month.", "earlier this month", "START"),
    ("The plant will close by the end of 2032.", "the end of 2032", "END"),
    ("The talks lasted more than four hours.", "more than four hours", "MORE_THAN"),
])
def test_modifiers(text, needle, mod):
    assert find(text, MONDAY, needle).mod == mod


def test_spans_point_into_the_text():
    text = "On Sunday, Aug. 3, the levee broke; by Tuesday evening 400 homes were under water, and in 2030 it had held."
    for t in tag(text, "2031-08-05"):
        assert text[t.span[0]:t.span[1]] == t.text
    assert [t.text for t in tag(text, "2031-08-05")] == ["Sunday, Aug. 3", "Tuesday evening", "2030"]


def test_prepositions_and_possessives_stay_outside():
    text = "The board approved its two-year plan on Friday and last year's budget."
    texts = [t.text for t in tag(text, MONDAY)]
    assert "two-year" in texts and "Friday" in texts and "last year" in texts


def test_without_dct_relative_expressions_stay_unanchored():
    text = "The ferry sank on Sunday; divers came last week. The levee failed on Feb. 27 and on March 3, 2030."
    values = {t.text: t.value for t in tag(text, None)}
    assert values["Sunday"] == "XXXX-WXX-7"
    assert values["last week"] == "XXXX-WXX"
    assert values["Feb. 27"] == "XXXX-02-27"
    assert values["March 3, 2030"] == "2030-03-03"  # written in full: no DCT needed
    assert not any(t.anchored for t in tag("The ferry sank on Sunday.", None))


def test_dct_as_string_or_datetime():
    a = tag("The ferry sank on Sunday.", "2031-03-10T08:15:00+02:00")
    b = tag("The ferry sank on Sunday.", dt.datetime(2031, 3, 10, 8, 15))
    assert a[0].value == b[0].value == "2031-03-09"
    assert tag("The ferry sank on Sunday.", "not a date")[0].value == "XXXX-WXX-7"


def test_impossible_dates_are_not_dates():
    text = "The contract was signed on February 30, 2031, and renewed on April 31."
    assert not any(t.value.startswith("2031-02") or t.value.endswith("-04-31") for t in tag(text, MONDAY))
    bad = [t for _, t in impossible_dates(text)]
    assert bad == ["February 30, 2031", "April 31"]
    assert not impossible_dates("Leap day fell on Feb. 29, 2032.")
    assert impossible_dates("Leap day fell on Feb. 29, 2031.")


def test_weekday_that_contradicts_its_date_is_reported():
    res = analyse("The dam broke on Sunday, March 11, 2031.", MONDAY)  # 2031-03-11 is a Tuesday
    assert res.timexes[0].value == "2031-03-11"  # the written date wins
    assert res.conflicts and "Sunday" in res.conflicts[0][1]


@pytest.mark.parametrize("text", [
    "About 2000 troops crossed the border.",
    "The town has 1990 registered voters.",
    "The fund paid $2021 to each family.",
    "Theresa May spoke to reporters.",
    "The crowd will march to the square.",
    "Fall in prices worried the farmers.",
])
def test_numbers_names_and_verbs_are_not_dates(text):
    assert tag(text, MONDAY) == []


def test_ages_are_not_durations():
    assert tag("A 45-year-old farmer was rescued.", MONDAY) == []


def test_value_helpers():
    assert value_precision("2031-03-10") == "day"
    assert value_precision("2031-03-10TEV") == "time"
    assert value_precision("2031-W11") == "week"
    assert value_precision("2031-03") == "month"
    assert value_precision("2031") == "year"
    assert value_precision("XXXX-WXX-7") == "unknown"
    assert value_precision("P3W", "DURATION") == "duration"
    assert value_range("2031-W11") == (dt.date(2031, 3, 10), dt.date(2031, 3, 16))
    assert value_range("2031-W11-WE") == (dt.date(2031, 3, 15), dt.date(2031, 3, 16))
    assert value_range("2031-02") == (dt.date(2031, 2, 1), dt.date(2031, 2, 28))
    assert value_range("2031-Q2") == (dt.date(2031, 4, 1), dt.date(2031, 6, 30))
    assert value_range("2031-02-30") is None
    assert value_range("PRESENT_REF") is None


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "Cc")), max_size=300))
def test_any_text_is_safe(text):
    for t in tag(text, MONDAY):
        assert 0 <= t.span[0] < t.span[1] <= len(text)
        assert t.type in ("DATE", "TIME", "DURATION", "SET")


def _sample_truth() -> list[dict]:
    path = EXAMPLES / "ground_truth.json"
    if not path.exists():
        pytest.skip("examples/ground_truth.json is absent")
    expected = json.loads(path.read_text(encoding="utf-8")).get("time_expressions") or []
    if not expected:
        pytest.skip("the sample corpus lists no time_expressions yet")
    return expected


def test_sample_corpus_time_expressions():
    """Most annotated expressions of the fictional sample corpus get the right type and value."""
    expected = _sample_truth()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import timex as bench  # benchmarks/timex.py holds the matching shared with the benchmark

    ok, total, misses = bench.match_expressions(bench.sample_articles(EXAMPLES), expected)
    assert total >= 20
    assert ok / total >= 0.85, "\n".join(misses)
