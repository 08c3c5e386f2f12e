"""The classifier against the labelled corpus (tests/corpus/inbound.tsv): the bar it holds.

The corpus was written from carriers' published keyword lists, provider documentation,
peers' tests and issue trackers, court cases and everyday clinic texts; `bench/classifier.py`
prints the same figures beside Twilio's exact-match rule, with every disagreement.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from gateway.domain.keywords import KeywordRules, classify, scoped_categories
from tests.corpus import INTENTS, Score, Verdict, load, score

SHARED = "+12015550100"  # the shipped sender: it carries every category
TODAY = dt.date(2026, 11, 24)
CASES = load()


@pytest.fixture(scope="module")
def result(shipped_rules: KeywordRules) -> Score:
    def read(text: str) -> Verdict:
        found = classify(text, shipped_rules)
        scope = ",".join(scoped_categories(found, shipped_rules, SHARED, TODAY)) or "-"
        return Verdict(str(found.intent), scope, found.rule)

    return score(CASES, read)


def test_the_corpus_is_large_and_well_formed() -> None:
    assert len(CASES) >= 600
    texts = [case.text.casefold() for case in CASES]
    assert len(set(texts)) == len(texts), "a text is in the corpus twice"
    for case in CASES:
        assert case.intent in INTENTS, case
        scoped = case.intent in ("opt_out", "opt_in")
        assert (case.scope != "-") == scoped, case
        assert case.source, case


def test_no_text_is_falsely_read_as_an_opt_out(result: Score) -> None:
    wrong = [(c.line, c.text, v.rule) for c, v in result.disagreements if v.intent == "opt_out"]
    assert result.false_opt_outs == 0, wrong


def test_no_opt_out_is_read_as_nothing(result: Score) -> None:
    missed = [
        (c.line, c.text, v.rule)
        for c, v in result.disagreements
        if c.intent == "opt_out" and v.intent == "none"
    ]
    assert result.missed == 0, missed


def test_the_classifier_agrees_with_a_careful_reader(result: Score) -> None:
    assert result.agreement >= 0.97, [(c.line, c.text) for c, _ in result.disagreements]


def test_at_most_a_tenth_of_texts_go_to_review(result: Score) -> None:
    assert result.review_rate <= 0.10


def test_the_corpus_holds_only_fictional_phone_numbers() -> None:
    for case in CASES:
        for number in re.findall(r"\+?1?[\s(]*\d{3}[\s).-]*\d{3}[\s.-]*\d{4}", case.text):
            assert re.sub(r"\D", "", number)[-7:-2] == "55501", (case.line, number)
