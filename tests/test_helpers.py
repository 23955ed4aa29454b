"""Helpers that exist once and are shared by the stages."""
from __future__ import annotations

import re

import pytest

from storydesk.records import Article, Source, is_english
from storydesk.text import alternation


def test_alternation_prefers_the_longest_name_and_any_whitespace():
    pattern = re.compile(alternation(["New York", "New York City", "a.m.", ""]))
    assert pattern.search("in New  York City today").group() == "New  York City"
    assert pattern.search("at 9 a.m. sharp").group() == "a.m."
    assert not pattern.search("at 9 aXmX sharp")  # dots are literal


def test_alternation_is_the_same_whatever_the_input_order():
    assert alternation(["ab", "cd", "abc"]) == alternation(["abc", "cd", "ab", "cd"])


@pytest.mark.parametrize("language, english", [("en", True), ("en-GB", True), ("EN", True), ("und", True),
                                               (None, True), ("", True), ("fr", False), ("eng", False)])
def test_one_rule_for_english(language, english):
    assert is_english(language) is english
    article = Article(id="a", source=Source("text"), text="x", language=language or "und")
    assert article.is_english is english


def test_one_story_by_id_prefix_for_the_cli_and_the_api():
    from types import SimpleNamespace

    from storydesk.errors import NotFound
    from storydesk.queries import one_story
    rows = [SimpleNamespace(id="s1ab"), SimpleNamespace(id="s1cd"), SimpleNamespace(id="s2ef")]
    assert one_story(rows, "s2").id == "s2ef" and one_story(rows, "s1cd").id == "s1cd"
    with pytest.raises(NotFound, match="more than one story matches id 's1'"):
        one_story(rows, "s1")
    with pytest.raises(NotFound, match="no story matches id 's3'"):
        one_story(rows, "s3")


def test_story_of_maps_each_article_to_its_first_story():
    from storydesk.queries import story_of
    from storydesk.records import Story
    stories = [Story("s1", "one", ["a", "b"]), Story("s2", "two", ["c", "b"])]
    assert story_of(stories) == {"a": "s1", "b": "s1", "c": "s2"}


def test_word_lists_become_regexes_in_one_place():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "storydesk"
    joined = re.compile(r'"\|"\.join\([^\n]*re\.escape')
    copies = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.py") if p.name != "text.py"
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if joined.search(line)]
    assert copies == [], f"use storydesk.text.alternation: {copies}"
    assert joined.search('"|".join(re.escape(w) for w in words)')  # the scan finds a copy


def test_number_words_are_one_table():
    from pathlib import Path

    from storydesk.analysis import numbers, statements, timex
    from storydesk.text import load_data
    root = Path(__file__).resolve().parents[1] / "storydesk"
    table = load_data("number_words.json")
    listing = [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.suffix in (".py", ".json")
               and re.search(r'["\'](seventeen|eighty)["\']', p.read_text(encoding="utf-8"))]
    assert listing == ["data/number_words.json"]
    assert numbers.vocab().units == table["units"] and numbers.vocab().tens == table["tens"]
    assert {**table["units"], **table["tens"]}.items() <= timex.vocab().numbers.items()
    assert {"seventeen", "eighty", "millions"} <= statements._vocab()["number_words"]
    assert "one" not in statements._vocab()["number_words"]
