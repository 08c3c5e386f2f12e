"""US states and territories by one canonical name (the state's own: "Washington"), so the
phone library's place names and the keywords file's state keys meet. PURE.

phonenumbers' geocoder names a number's place in two ways: at the area code, a state name
of its own spelling ("Washington State", "Washington D.C.", "Florida"); below it, a city and
the USPS code ("Seattle, WA"). The keywords file may write a state's name or its USPS code.
"""

from __future__ import annotations

# USPS code → canonical name: the 50 states, the District of Columbia and the inhabited
# territories (which phonenumbers gives region codes of their own: PR, VI, GU, AS, MP).
NAMES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}

# Other spellings, the phone library's among them.
_ALIASES = {
    "washington state": "Washington",
    "washington d.c.": "District of Columbia",
    "washington dc": "District of Columbia",
    "washington, d.c.": "District of Columbia",
    "d.c.": "District of Columbia",
    "us virgin islands": "U.S. Virgin Islands",
    "virgin islands": "U.S. Virgin Islands",
}

_BY_KEY: dict[str, str] = {
    **{name.casefold(): name for name in NAMES.values()},
    **{code.casefold(): name for code, name in NAMES.items()},
    **_ALIASES,
}

# Regions phonenumbers gives the territories (a number there is not region US).
TERRITORY_REGIONS = frozenset({"PR", "VI", "GU", "AS", "MP"})


def canonical_state(written: str) -> str | None:
    """The canonical name for a state's name, USPS code or known other spelling; None when it
    names no US state or territory ("ON", a typo)."""
    return _BY_KEY.get(" ".join(written.split()).casefold())


def state_of_place(place: str) -> str | None:
    """The state of one of phonenumbers' place descriptions: "Washington State", "Seattle, WA"."""
    if not place:
        return None
    whole = canonical_state(place)
    if whole is not None:
        return whole
    _, comma, last = place.rpartition(",")
    return canonical_state(last) if comma else None
