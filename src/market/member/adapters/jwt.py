"""Access tokens: HS256 JWTs that `market.web.auth.Auth` verifies (same settings, same algorithm)."""

from __future__ import annotations

from datetime import timedelta

import jwt

from market.kernel.clock import Clock, SystemClock
from market.member.domain import Member
from market.web.auth import ALGORITHM, TokenSettings


class JwtTokenIssuer:
    """Signs `iss`, `aud`, `sub` (the member id), `iat`, `exp` and `role`.

    The clock should be the wall clock: verifiers check `exp` and `iat` against real time, so a
    shifted clock (e2e time travel) would mint tokens that are not yet, or no longer, valid.
    """

    def __init__(self, settings: TokenSettings, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()

    def issue(self, member: Member) -> tuple[str, int]:
        now = self._clock.now()
        ttl = self._settings.ttl_seconds
        claims = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": member.id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl)).timestamp()),
            "role": member.role,
        }
        return jwt.encode(claims, self._settings.secret, algorithm=ALGORITHM), ttl
