"""Bearer tokens: the algorithm is pinned, iss/aud/sub/exp are required, and a cached token still expires."""

from __future__ import annotations

import time

import jwt
import pytest

from market.web.auth import ALGORITHM, Auth, TokenSettings
from market.web.problems import ApiError

SETTINGS = TokenSettings(secret="k" * 40)


def token(**claims: object) -> str:
    base = {"iss": "market", "aud": "market-api", "sub": "mem_1", "exp": time.time() + 60, "role": "member"}
    return jwt.encode({**base, **claims}, SETTINGS.secret, algorithm=ALGORITHM)


def refused(auth: Auth, header: str) -> str:
    with pytest.raises(ApiError) as caught:
        auth.verify(header)
    assert caught.value.code == "UNAUTHORIZED"
    return caught.value.detail


def test_a_valid_token_names_its_member_and_role() -> None:
    principal = Auth(SETTINGS).verify(f"Bearer {token(role='admin')}")
    assert (principal.member_id, principal.is_admin) == ("mem_1", True)


def test_bad_tokens_are_refused() -> None:
    auth = Auth(SETTINGS)
    assert "required" in refused(auth, "")
    assert "required" in refused(auth, "Basic abc")
    assert "invalid" in refused(auth, f"Bearer {token(aud='other')}")
    assert "invalid" in refused(auth, f"Bearer {token(iss='other')}")
    unsigned = jwt.encode({"iss": "market", "aud": "market-api", "sub": "x", "exp": time.time() + 60}, None,
                          algorithm="none")  # fmt: skip
    assert "invalid" in refused(auth, f"Bearer {unsigned}")
    assert "invalid" in refused(
        auth, f"Bearer {jwt.encode({'sub': 'x'}, SETTINGS.secret, algorithm=ALGORITHM)}"
    )


def test_a_token_accepted_once_is_refused_after_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Auth(SETTINGS)
    short = token(exp=int(time.time()) + 2)
    assert auth.verify(f"Bearer {short}").member_id == "mem_1"
    later = time.time() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert "expired" in refused(auth, f"Bearer {short}")
