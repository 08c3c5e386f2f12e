"""The dashboard's SVG charts as drawn: well-formed, bars in proportion, labels and the
numbers in the text a screen reader gets, empty data said in words."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from gateway.dashboard import Bar, Day
from gateway.web.console import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def widths(svg: ET.Element) -> list[float]:
    return [float(rect.attrib["width"]) for rect in svg.iter(f"{SVG}rect")]


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


OUTCOMES = [
    Bar("Sent or delivered", 40, "sent"),
    Bar("Blocked: opted out", 10, "blocked"),
    Bar("Deferred: quiet hours", 5, "deferred"),
]


def test_bars_are_in_proportion_to_their_counts() -> None:
    svg = parse(charts.bars("outcomes", "Messages by outcome", OUTCOMES, empty="None"))
    sent, blocked, deferred = widths(svg)
    assert sent == charts.WIDTH - 48  # the largest fills the room
    assert blocked == sent / 4 and deferred == sent / 8


def test_each_bar_is_labelled_with_its_name_and_count() -> None:
    svg = parse(charts.bars("outcomes", "Messages by outcome", OUTCOMES, empty="None"))
    assert texts(svg) == [
        "Sent or delivered",
        "40",
        "Blocked: opted out",
        "10",
        "Deferred: quiet hours",
        "5",
    ]
    hover = [t.text for g in svg.iter(f"{SVG}g") for t in g.iter(f"{SVG}title")]
    assert hover == ["Sent or delivered: 40", "Blocked: opted out: 10", "Deferred: quiet hours: 5"]


def test_a_chart_is_an_image_named_by_its_title_and_described_by_its_numbers() -> None:
    svg = parse(charts.bars("outcomes", "Messages by outcome", OUTCOMES, empty="None"))
    assert svg.attrib["role"] == "img"
    assert svg.attrib["aria-labelledby"] == "outcomes-title outcomes-desc"
    assert svg.find(f"{SVG}title").text == "Messages by outcome"  # type: ignore[union-attr]
    desc = svg.find(f"{SVG}desc").text  # type: ignore[union-attr]
    assert desc == "Sent or delivered: 40; Blocked: opted out: 10; Deferred: quiet hours: 5"


def test_no_data_is_said_in_words_not_drawn_as_nothing() -> None:
    for items in ([], [Bar("Failed", 0, "failed")]):
        svg = parse(charts.bars("x", "Messages", items, empty="No messages in 30 days"))
        assert widths(svg) == []
        assert texts(svg) == ["No messages in 30 days"]
        assert svg.find(f"{SVG}desc").text == "No messages in 30 days"  # type: ignore[union-attr]


def test_labels_are_escaped() -> None:
    markup = charts.bars("x", "<b>", [Bar("Blocked: <script>", 1, "blocked")], empty="-")
    assert "<script>" not in markup and "<b>" not in markup
    assert "Blocked: &lt;script&gt;" in markup


def month(values: dict[int, tuple[int, int]]) -> list[Day]:
    first = dt.date(2026, 10, 26)
    return [Day(first + dt.timedelta(days=i), *values.get(i, (0, 0))) for i in range(30)]


def columns(svg: ET.Element) -> dict[str, float]:
    """Each column's hover text to its height."""
    found = {}
    for rect in svg.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None:
            found[title.text or ""] = float(rect.attrib["height"])
    return found


def test_day_columns_are_in_proportion_and_say_their_day() -> None:
    svg = parse(
        charts.day_columns(
            "days", "Opt-outs and opt-ins", month({3: (8, 2), 29: (4, 0)}), empty="-"
        )
    )
    heights = columns(svg)
    assert len(heights) == 60  # 30 days, two columns each
    assert heights["Oct 29: 8 opt-outs"] == 120  # the tallest fills the plot
    assert heights["Oct 29: 2 opt-ins"] == 30
    assert heights["Nov 24: 4 opt-outs"] == 60
    assert heights["Nov 24: 0 opt-ins"] == 0


def test_day_columns_label_today_each_week_back_and_the_scale() -> None:
    svg = parse(charts.day_columns("days", "Opt-outs and opt-ins", month({0: (3, 1)}), empty="-"))
    labels = texts(svg)
    assert labels[:2] == ["Opt-outs", "Opt-ins"]  # the legend
    assert "3" in labels and "0" in labels  # the scale: top and bottom
    assert [t for t in labels if t[:3] in ("Oct", "Nov")] == [
        "Oct 27",
        "Nov 3",
        "Nov 10",
        "Nov 17",
        "Nov 24",
    ]


def test_day_columns_describe_the_month_in_a_sentence() -> None:
    svg = parse(
        charts.day_columns("days", "Opt-outs and opt-ins", month({5: (6, 1), 9: (2, 3)}), empty="-")
    )
    assert svg.find(f"{SVG}desc").text == (  # type: ignore[union-attr]
        "8 opt-outs and 4 opt-ins over 30 days, Oct 26 to Nov 24; most opt-outs on Oct 31 (6)"
    )


def test_a_quiet_month_is_said_in_words() -> None:
    svg = parse(charts.day_columns("days", "Opt-outs", month({}), empty="No opt-outs or opt-ins"))
    assert columns(svg) == {} and texts(svg) == ["No opt-outs or opt-ins"]


def test_charts_fetch_nothing_and_run_nothing() -> None:
    markup = charts.day_columns("d", "t", month({1: (1, 1)}), empty="-") + charts.bars(
        "b", "t", OUTCOMES, empty="-"
    )
    assert not any(bad in markup for bad in ("<script", "href", "style="))
    assert not re.search(r"\son\w+=", markup)  # no event handlers
    assert markup.count("http") == 2  # the SVG namespace, once per chart
