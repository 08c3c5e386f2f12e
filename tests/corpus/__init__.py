"""The labelled corpus of inbound texts (`inbound.tsv`) and how a reading of it is scored.

Each line: text, expected intent, expected categories on a shared clinic number (one that
carries every category; "-" for none) and where the kind of text comes from. Shared by the
test that holds the classifier to its bar and by `bench/classifier.py`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "inbound.tsv"
INTENTS = ("opt_out", "opt_in", "help", "review", "none")


@dataclass(frozen=True)
class Case:
    line: int
    text: str
    intent: str
    scope: str  # "marketing,transactional", "marketing" or "-"
    source: str


@dataclass(frozen=True)
class Verdict:
    intent: str
    scope: str
    rule: str = ""


@dataclass
class Score:
    total: int = 0
    agreed: int = 0
    missed: int = 0  # an opt-out read as nothing at all (`none`): nobody would ever look
    missed_to_review: int = 0  # an opt-out sent to staff review
    false_opt_outs: int = 0  # anything else read as an opt-out
    reviews: int = 0
    disagreements: list[tuple[Case, Verdict]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agreed / self.total if self.total else 0.0

    @property
    def review_rate(self) -> float:
        return self.reviews / self.total if self.total else 0.0


def load(path: Path = CORPUS) -> list[Case]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Case(n, *row) for n, row in enumerate(rows, start=1)]


def score(cases: Iterable[Case], read: Callable[[str], Verdict]) -> Score:
    result = Score()
    for case in cases:
        verdict = read(case.text)
        result.total += 1
        result.reviews += verdict.intent == "review"
        scoped = case.intent in ("opt_out", "opt_in")
        same = verdict.intent == case.intent and (not scoped or verdict.scope == case.scope)
        if same:
            result.agreed += 1
        else:
            result.disagreements.append((case, verdict))
        if case.intent == "opt_out" and verdict.intent == "none":
            result.missed += 1
        if case.intent == "opt_out" and verdict.intent == "review":
            result.missed_to_review += 1
        if case.intent != "opt_out" and verdict.intent == "opt_out":
            result.false_opt_outs += 1
    return result
