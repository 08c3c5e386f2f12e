"""State windows (SPEC §6.3) are keyed by the state phonenumbers' geocoder names for the
number: every key the keywords file may hold must be one the library's names reach."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import phonenumbers
import pytest
from click.testing import CliRunner

from gateway.adapters.keyword_file import KeywordFileError, load_rules
from gateway.cli.keywords import keywords_group
from gateway.domain.phone import Phone
from gateway.domain.us_states import NAMES, TERRITORY_REGIONS, canonical_state, state_of_place
from tests.test_keywords_file import MINIMAL

SHIPPED = Path(__file__).resolve().parent.parent.parent / "keywords.yml"


def area_codes() -> Iterator[tuple[str, Phone]]:
    """Every North American area code with a fictional 555-0100 line that is valid there."""
    for npa in range(200, 1000):
        try:
            yield str(npa), Phone.parse(f"+1 {npa} 555 0100")
        except ValueError:
            continue


@cache
def geocoded() -> dict[str, set[str]]:
    """Canonical state name → the area codes whose numbers the library places there."""
    found: dict[str, set[str]] = {}
    for npa, phone in area_codes():
        if phone.state is not None:
            found.setdefault(phone.state, set()).add(npa)
    return found


def test_every_state_window_in_the_shipped_file_is_reached_by_an_area_code() -> None:
    windows = load_rules(SHIPPED).state_windows
    assert set(windows) >= {"Florida", "Oklahoma", "Maryland", "Washington", "Texas", "Virginia"}
    unmatched = {state for state in windows if not geocoded().get(state)}
    assert not unmatched, f"no area code's geocoded name maps to: {sorted(unmatched)}"


def test_every_us_area_code_maps_to_a_state_or_territory() -> None:
    unnamed = []
    for npa, phone in area_codes():
        parsed = phonenumbers.parse(phone.e164)
        region = phonenumbers.region_code_for_number(parsed)
        place = phonenumbers.geocoder.description_for_number(parsed, "en")
        if region == "US" and place and phone.state is None:
            unnamed.append(f"{npa}: {place!r}")
    assert not unnamed, unnamed


def test_every_state_is_reached_by_some_area_code() -> None:
    # American Samoa (684) has no valid 555 line, so the territories are not all in the sweep.
    states = {name for code, name in NAMES.items() if code not in TERRITORY_REGIONS}
    assert len(states) == 51  # and the District of Columbia
    assert states <= set(geocoded()) <= set(NAMES.values())


def test_washington_numbers_are_in_washington_not_dc() -> None:
    assert Phone.parse("+1 206 555 0142").state == "Washington"
    assert Phone.parse("+1 509 555 0100").state == "Washington"
    assert Phone.parse("+1 202 555 0100").state == "District of Columbia"
    assert Phone.parse("+1 787 555 0100").state == "Puerto Rico"  # its own region code, PR
    assert Phone.parse("+44 20 7946 0123").state is None


@pytest.mark.parametrize(
    ("place", "state"),
    [
        ("Washington State", "Washington"),
        ("Washington D.C.", "District of Columbia"),
        ("Seattle, WA", "Washington"),  # below the area code the library writes USPS codes
        ("Miami, FL", "Florida"),
        ("New York, NY", "New York"),
        ("Texas", "Texas"),
        ("Toronto, ON", None),
        ("", None),
    ],
)
def test_the_librarys_place_names_map_to_one_state(place: str, state: str | None) -> None:
    assert state_of_place(place) == state


@pytest.mark.parametrize(
    ("written", "state"),
    [
        ("Washington", "Washington"),
        ("WA", "Washington"),
        ("washington state", "Washington"),
        ("DC", "District of Columbia"),
        (" Puerto Rico ", "Puerto Rico"),
        ("Washingon", None),
        ("ON", None),
    ],
)
def test_state_keys_are_full_names_or_usps_codes(written: str, state: str | None) -> None:
    assert canonical_state(written) == state


STATE_FILE = (
    MINIMAL
    + """\
quiet_hours:
  marketing: {start: "08:00", end: "21:00"}
state_windows:
"""
)


def test_keywords_check_refuses_a_state_it_cannot_match(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yml"
    path.write_text(STATE_FILE + '  Washington State: {daily: {start: "08:00", end: "20:00"}}\n')
    assert CliRunner().invoke(keywords_group, ["check", str(path)]).exit_code == 0
    path.write_text(STATE_FILE + '  Washingon: {daily: {start: "08:00", end: "20:00"}}\n')
    result = CliRunner().invoke(keywords_group, ["check", str(path)])
    assert result.exit_code == 1
    assert "state_windows.Washingon" in result.output and "not a US state" in result.output
    with pytest.raises(KeywordFileError, match="Washingon"):
        load_rules(path)  # and the app refuses to start on it


def test_a_usps_code_is_read_as_the_state_and_may_not_repeat_it(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yml"
    path.write_text(STATE_FILE + '  WA: {daily: {start: "08:00", end: "20:00"}}\n')
    assert set(load_rules(path).state_windows) == {"Washington"}
    path.write_text(
        STATE_FILE
        + '  WA: {daily: {start: "08:00", end: "20:00"}}\n'
        + '  Washington: {daily: {start: "09:00", end: "20:00"}}\n'
    )
    result = CliRunner().invoke(keywords_group, ["check", str(path)])
    assert result.exit_code == 1 and "Washington" in result.output and "twice" in result.output
