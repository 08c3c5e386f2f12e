"""Phone numbers: parsed with phonenumbers, stored and compared in E.164 only (SPEC §3)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder, timezone

from gateway.domain.us_states import NAMES, TERRITORY_REGIONS, state_of_place


class InvalidPhone(ValueError):
    """Not a number we can text: unparsable, or not a valid number for its region."""


# Our own words, not the library's ("(1) The string supplied did not seem to be …").
_NOT_A_NUMBER = "not a phone number"
_WHY = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "not a phone number we can place "
    "(no known country code)",
    phonenumbers.NumberParseException.NOT_A_NUMBER: _NOT_A_NUMBER,
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "too long to be a phone number",
}


_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


@functools.lru_cache(maxsize=4096)
def _e164(text: str, region: str) -> str:
    """Parsed once per text and region (a clinic's own numbers, a wave of STOPs' senders)."""
    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(_WHY.get(exc.error_type, _NOT_A_NUMBER)) from None
    except AttributeError:  # a region that is not a string
        raise InvalidPhone(_NOT_A_NUMBER) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


@dataclass(frozen=True, order=True)
class Phone:
    e164: str

    @classmethod
    def parse(cls, text: str, region: str = "US") -> Phone:
        if not isinstance(text, str):
            raise InvalidPhone(_NOT_A_NUMBER)
        return cls(_e164(text, region))

    def __str__(self) -> str:
        return self.e164

    @functools.cached_property
    def _parsed(self) -> phonenumbers.PhoneNumber:
        """Parsed once for all the properties below (a number's zones and state alike)."""
        return phonenumbers.parse(self.e164)

    def is_mobile_in(self, region: str) -> bool:
        """A number of the region's own country calling code that is, or may be, a mobile
        (phonenumbers cannot tell US mobiles from landlines: FIXED_LINE_OR_MOBILE). Not a
        premium-rate, toll-free or shared-cost one, nor another country's: a form that texts
        whatever number it is given is a way to buy texts to paying numbers (SMS pumping)."""
        parsed = self._parsed
        return (
            parsed.country_code == phonenumbers.country_code_for_region(region)
            and phonenumbers.number_type(parsed) in _MOBILE
        )

    @property
    def national(self) -> str:
        """As people write it in its own country: "(201) 555-0100"."""
        parsed = self._parsed
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)

    @property
    def zones(self) -> tuple[str, ...]:
        """IANA time zones phonenumbers knows for the number (several for some area codes)."""
        parsed = self._parsed
        return tuple(z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")

    @property
    def state(self) -> str | None:
        """The US state or territory of the number, by its canonical name ("Washington"), as
        the keywords file's state windows are keyed; None outside the US or when unknown."""
        parsed = self._parsed
        region = phonenumbers.region_code_for_number(parsed)
        if region in TERRITORY_REGIONS:
            return NAMES[region]
        if region != "US":
            return None
        return state_of_place(geocoder.description_for_number(parsed, "en"))


def mask(number: str | None) -> str:
    """Logs never carry a full number: keep the last 4 digits (SPEC §8)."""
    if not number:
        return "-"
    digits = re.sub(r"\D", "", number)
    return "***" + digits[-4:] if len(digits) > 4 else "***"
