"""Members and their point ledger, in the standard library only."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from market.kernel.errors import DomainError

MEMBER = "member"
ADMIN = "admin"
ROLES = frozenset({MEMBER, ADMIN})
ACTIVE = "ACTIVE"
RETIRED = "RETIRED"  # an account that can no longer sign in (the demo accounts once a real admin exists)

GRANT = "GRANT"
ORDER_USE = "ORDER_USE"
ORDER_REFUND = "ORDER_REFUND"
REFUND = "REFUND"  # the reason of a refund's ledger entry, as the member reads it (SPEC §10.3)

# The languages a member's messages (the notification e-mails) are written in; Korean unless chosen.
LOCALES = ("ko", "en")
DEFAULT_LOCALE = "ko"

MAX_POINTS = 1_000_000_000_000
PASSWORD_MIN, PASSWORD_MAX = 8, 128
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    name: str
    role: str
    status: str
    point_balance: int
    created_at: datetime
    locale: str = DEFAULT_LOCALE

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def can_sign_in(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of a member's points; `balance_after` is the balance once it applied. An order has at
    most one entry per kind and `refund_id`: a partial cancellation's refund is named by its id, the
    refund of all the order still holds by none ("")."""

    id: str
    member_id: str
    delta: int
    balance_after: int
    reason: str
    order_id: str | None
    kind: str
    created_at: datetime
    refund_id: str = ""


def invalid(field: str, message: str) -> DomainError:
    return DomainError(
        "VALIDATION_ERROR", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively: they are kept in lower case, without surrounding spaces."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise invalid("email", "is not a valid email address")
    return email


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise invalid("name", "must have 1 to 100 characters")
    return name


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise invalid("locale", f"must be one of {list(LOCALES)}")
    return locale


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise invalid("password", f"must have {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise invalid("role", f"must be one of {sorted(ROLES)}")
    return role


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise invalid("reason", "must have 1 to 200 characters")
    return reason


def check_points(amount: int, allow_negative: bool = False) -> int:
    low = -MAX_POINTS if allow_negative else 1
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or not low <= amount <= MAX_POINTS
        or amount == 0
    ):
        raise invalid("amount", f"must be a whole number of points between {low} and {MAX_POINTS}, not 0")
    return amount


@dataclass(frozen=True)
class AccessToken:
    """What a successful login hands out: a bearer token and how many seconds it stays valid."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class LoginLimits:
    """Login throttling (SPEC §10.5), over fixed windows of `window_seconds`: after `email_failures`
    failed logins for an email in a window, its logins are refused (RATE_LIMITED) until the window ends;
    an address gets `address_failures` of its own, so one client cannot lock out everyone behind a shared
    address, nor try many emails; and `signups_per_address` sign-ups (each costs an argon2 hash).
    A limit of 0 is no limit."""

    window_seconds: int = 900
    email_failures: int = 5
    address_failures: int = 50
    signups_per_address: int = 100

    def window(self, now: datetime) -> tuple[datetime, int]:
        """The start of the window `now` is in, and the whole seconds left in it (at least 1)."""
        epoch = now.timestamp()
        start = epoch - epoch % self.window_seconds
        left = max(1, math.ceil(start + self.window_seconds - epoch))
        return datetime.fromtimestamp(start, UTC), left

    def rate_limited(self, what: str, now: datetime) -> DomainError:
        _, left = self.window(now)
        return DomainError("RATE_LIMITED", f"too many {what}; retry in {left} s", retry_after=left)


def over(count: int, limit: int) -> bool:
    """Whether `count` attempts reached `limit` (0: no limit)."""
    return 0 < limit <= count
