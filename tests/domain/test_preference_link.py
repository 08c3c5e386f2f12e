"""The preference link's token: short, tied to SECRET_KEY, and refused when changed at all."""

from __future__ import annotations

import base64

import pytest

from gateway.domain.preference_link import TOKEN_LENGTH, lead, link_id, link_key, token, url

KEY = link_key("test-secret-key-for-sessions")


def test_a_token_names_its_link_and_fits_in_a_text() -> None:
    made = token(42, KEY)
    assert len(made) == TOKEN_LENGTH == 20
    assert link_id(made, KEY) == 42
    assert url("https://sms.clinic.test/", 42, KEY) == f"https://sms.clinic.test/p/{made}"


def test_the_token_shows_no_phone_number_and_differs_per_link() -> None:
    tokens = {token(i, KEY) for i in range(1, 200)}
    assert len(tokens) == 199
    assert not any("555" in t or "0123" in t for t in [token(2015550123, KEY)])


def test_another_secret_key_does_not_accept_the_token() -> None:
    assert link_id(token(42, KEY), link_key("another-secret-key-entirely")) is None


@pytest.mark.parametrize("position", range(TOKEN_LENGTH))
def test_changing_any_character_makes_the_token_worthless(position: int) -> None:
    made = token(42, KEY)
    swapped = "B" if made[position] != "B" else "C"
    forged = made[:position] + swapped + made[position + 1 :]
    assert link_id(forged, KEY) is None


def test_a_forged_id_with_a_copied_signature_is_refused() -> None:
    raw = base64.urlsafe_b64decode(token(42, KEY))
    other = (43).to_bytes(5, "big") + raw[5:]
    assert link_id(base64.urlsafe_b64encode(other).decode(), KEY) is None


@pytest.mark.parametrize(
    "text", ["", "short", "x" * 20, "é" * 20, token(42, KEY) + "A", "=" * 20, "a/b+c" * 4]
)
def test_garbage_is_not_a_link(text: str) -> None:
    assert link_id(text, KEY) is None


def test_the_reply_introduces_the_link_in_its_language() -> None:
    assert lead("es", "https://x.test/p/t") == "Elija sus mensajes: https://x.test/p/t"
    assert lead("fr", "https://x.test/p/t").startswith("Choose your texts:")
