"""Start-up: settings from the environment, and the refusals that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import build_runtime
from gateway.db import make_engine
from gateway.migrate import NotMigrated
from gateway.settings import DEV_WEBHOOK_TOKEN, Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_embedded_ones() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and settings.dry_run
    assert settings.default_region == "US" and settings.keywords_file == Path("keywords.yml")


def test_every_variable_is_read() -> None:
    env = {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
        "TWILIO_AUTH_TOKEN": "secret-token",
        "PUBLIC_BASE_URL": "https://sms.clinic.test/",
        "KEYWORDS_FILE": "/etc/smsgate/keywords.yml",
        "DEFAULT_REGION": "ca",
        "SECRET_KEY": "s3cret-s3cret-s3cret",
        "CLINIC_TIMEZONE": "America/Chicago",
        "LOCKOUT_MINUTES": "20",
        "SESSION_IDLE_MINUTES": "10",
    }
    settings = Settings.from_env(env)
    assert settings.public_base_url == "https://sms.clinic.test"
    assert settings.default_region == "CA" and not settings.dry_run
    assert "secret-token" not in repr(settings) and "s3cret" not in repr(settings)
    assert settings.clinic_timezone == "America/Chicago"
    assert (settings.lockout_minutes, settings.session_idle_minutes) == (20, 10)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"PUBLIC_BASE_URL": "sms.clinic.test"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_ACCOUNT_SID": "12345"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32}, "TWILIO_AUTH_TOKEN"),
        ({"DEFAULT_REGION": "Narnia"}, "DEFAULT_REGION"),
        ({"CLINIC_TIMEZONE": "Eastern"}, "CLINIC_TIMEZONE"),
        ({"LOCKOUT_MINUTES": "0"}, "LOCKOUT_MINUTES"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(env, named) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_app_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    make_engine(url).dispose()
    settings = Settings(database_url=url, keywords_file=ROOT / "keywords.yml")
    with pytest.raises(NotMigrated, match="smsgate db upgrade"):
        build_runtime(settings)


def test_public_base_url_follows_port_when_unset() -> None:
    assert Settings.from_env({}).public_base_url == "http://127.0.0.1:5000"
    assert Settings.from_env({"PORT": "5050"}).public_base_url == "http://127.0.0.1:5050"
    given = {"PORT": "5050", "PUBLIC_BASE_URL": "https://sms.clinic.test"}
    assert Settings.from_env(given).public_base_url == "https://sms.clinic.test"
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "fifty"})


def test_dev_mode_is_never_read_from_the_environment() -> None:
    # Only `smsgate dev` turns it on: production cannot be talked into the development token.
    for name in ("DEV_MODE", "SMSGATE_DEV_MODE", "FLASK_DEBUG"):
        settings = Settings.from_env({name: "1"})
        assert not settings.dev_mode and settings.webhook_token is None
    assert Settings(dev_mode=True).webhook_token == DEV_WEBHOOK_TOKEN
    assert Settings(dev_mode=True, twilio_auth_token="real").webhook_token == "real"


def test_preference_links_are_off_unless_switched_on() -> None:
    assert not Settings.from_env({}).preference_links
    assert Settings.from_env({}).preference_link_days == 7
    on = Settings.from_env({"PREFERENCE_LINKS": "1", "PREFERENCE_LINK_DAYS": "3"})
    assert on.preference_links and on.preference_link_days == 3
    assert Settings.from_env({"PREFERENCE_LINKS": "TRUE"}).preference_links


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PREFERENCE_LINKS": "yes please"}, "PREFERENCE_LINKS"),
        ({"PREFERENCE_LINK_DAYS": "0"}, "PREFERENCE_LINK_DAYS"),
        ({"PREFERENCE_LINK_DAYS": "a week"}, "PREFERENCE_LINK_DAYS"),
    ],
)
def test_a_malformed_preference_link_setting_is_named(env, named) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_reassigned_check_days_defaults_to_90_and_0_checks_every_time() -> None:
    assert Settings.from_env({}).reassigned_check_days == 90
    assert Settings.from_env({"REASSIGNED_CHECK_DAYS": "0"}).reassigned_check_days == 0


@pytest.mark.parametrize("raw", ["-1", "ninety", "1.5"])
def test_a_malformed_reassigned_check_days_stops_start_up(raw: str) -> None:
    with pytest.raises(SettingsError, match="REASSIGNED_CHECK_DAYS"):
        Settings.from_env({"REASSIGNED_CHECK_DAYS": raw})
