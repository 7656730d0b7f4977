"""Bearer JWT verification shared by every service's REST adapter (tokens are issued by member)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from market.web.problems import ApiError

ALGORITHM = "HS256"
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="`POST /api/v1/auth/token` answers the token; paste its `access_token`.",
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    member_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    issuer: str = "market"
    audience: str = "market-api"
    ttl_seconds: int = 3600


class Auth:
    """FastAPI dependencies: `auth.member` (any signed-in principal) and `auth.admin`."""

    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings

        # Declares the Bearer scheme in the OpenAPI document (Swagger UI's "Authorize"); the header is
        # verified below, so that a missing or malformed one answers 401 problem+json, not FastAPI's 403.
        async def member(request: Request, _: object = Security(BEARER)) -> Principal:
            return self.verify(request.headers.get("authorization", ""))

        async def admin(principal: Principal = Depends(member)) -> Principal:
            if not principal.is_admin:
                raise ApiError("FORBIDDEN", "this needs the admin role")
            return principal

        self.member = member
        self.admin = admin

    def verify(self, header: str) -> Principal:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                "UNAUTHORIZED",
                "a Bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="market"'},
            )
        principal, expires = self._decode(token.strip())
        if time.time() >= expires:
            raise ApiError(
                "UNAUTHORIZED",
                "the token has expired",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return principal

    @lru_cache(maxsize=8192)  # noqa: B019 (one Auth per process, alive as long as it)
    def _decode(self, token: str) -> tuple[Principal, float]:
        """A valid token's principal and expiry; a client sends the same token many times, so it is kept."""
        try:
            claims = jwt.decode(
                token,
                self.settings.secret,
                algorithms=[ALGORITHM],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(
                "UNAUTHORIZED",
                "the token has expired",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        except jwt.PyJWTError as exc:
            raise ApiError(
                "UNAUTHORIZED",
                "the token is invalid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        principal = Principal(member_id=str(claims["sub"]), role=str(claims.get("role", "member")))
        return principal, float(claims["exp"])
