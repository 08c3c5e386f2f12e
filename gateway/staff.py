"""Staff who sign in to the console (SPEC §8): argon2id password hashes, the API's three roles,
and a lock-out after repeated wrong passwords. Takes the caller's session, never commits."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import StaffUser
from gateway.services import ROLES, Problem

MAX_FAILURES = 5  # wrong passwords in a row before the account locks
MIN_PASSWORD = 12  # NIST SP 800-63B allows 8; staff read PHI, so a little more
MAX_PASSWORD = 256  # argon2 hashes anything, but a megabyte "password" is an attack
NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")

_hasher = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106)
# Verified when the name is unknown, so a wrong name costs what a wrong password does.
_DECOY = _hasher.hash("not a password anyone has")


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    WRONG = "wrong"  # unknown name or wrong password: the page says the same for both
    LOCKED = "locked"  # this attempt locked the account, or it was locked already
    DISABLED = "disabled"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    user: StaffUser | None = None
    locked_until: dt.datetime | None = None
    just_locked: bool = False


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Problem(
            422,
            "weak_password",
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            "password",
        )


def create_user(
    session: Session, *, name: str, role: str, password: str, now: dt.datetime
) -> StaffUser:
    if role not in ROLES:
        raise Problem(422, "invalid_role", f"role must be one of: {', '.join(ROLES)}", "role")
    if not NAME.fullmatch(name):
        raise Problem(
            422, "invalid_name", "a name is 1-64 letters, digits, '.', '_', '@' or '-'", "name"
        )
    check_password(password)
    if by_name(session, name) is not None:
        raise Problem(409, "duplicate_name", f"a user named {name!r} exists", "name")
    user = StaffUser(
        name=name, role=role, password_hash=_hasher.hash(password), created_at=now, failures=0
    )
    session.add(user)
    session.flush()
    return user


def by_name(session: Session, name: str) -> StaffUser | None:
    return session.execute(select(StaffUser).where(StaffUser.name == name)).scalar_one_or_none()


def sign_in(
    session: Session, name: str, password: str, now: dt.datetime, lockout: dt.timedelta
) -> Attempt:
    """Check a name and password. The user's row is locked for the check, so two guesses at
    once cannot both count as the fourth."""
    user = session.execute(
        select(StaffUser).where(StaffUser.name == name).with_for_update()
    ).scalar_one_or_none()
    if user is None or len(password) > MAX_PASSWORD:
        _matches(_DECOY, password[:MAX_PASSWORD])
        return Attempt(Outcome.WRONG)
    if user.disabled_at is not None:
        _matches(_DECOY, password)  # answered as a wrong password, in the same time
        return Attempt(Outcome.DISABLED, user)
    if user.locked_until is not None and user.locked_until > now:
        # Not even checked: a right guess during the lock-out is not told it was right.
        return Attempt(Outcome.LOCKED, user, user.locked_until)
    if not _matches(user.password_hash, password):
        user.failures = (user.failures if user.locked_until is None else 0) + 1
        user.locked_until = None
        if user.failures >= MAX_FAILURES:
            user.locked_until = now + lockout
            return Attempt(Outcome.LOCKED, user, user.locked_until, just_locked=True)
        return Attempt(Outcome.WRONG, user)
    user.failures, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return Attempt(Outcome.SIGNED_IN, user)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def session_valid(user: StaffUser, signed_in_at: dt.datetime) -> bool:
    """A session is over once its user is disabled or has signed out since."""
    if user.disabled_at is not None:
        return False
    return user.signed_out_at is None or signed_in_at > user.signed_out_at


def unlock(session: Session, name: str) -> StaffUser:
    user = _existing(session, name)
    user.failures, user.locked_until = 0, None
    return user


def set_password(session: Session, name: str, password: str, now: dt.datetime) -> StaffUser:
    check_password(password)
    user = _existing(session, name)
    user.password_hash = _hasher.hash(password)
    user.failures, user.locked_until, user.signed_out_at = 0, None, now
    return user


def disable(session: Session, name: str, now: dt.datetime) -> StaffUser:
    user = _existing(session, name)
    user.disabled_at = user.disabled_at or now
    return user


def _existing(session: Session, name: str) -> StaffUser:
    user = by_name(session, name)
    if user is None:
        raise Problem(404, "not_found", f"no user named {name!r}", "name")
    return user


def listing(session: Session) -> list[StaffUser]:
    return list(session.execute(select(StaffUser).order_by(StaffUser.name)).scalars())
