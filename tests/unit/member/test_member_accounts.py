"""Sign-up, login and the admin account, through MemberService on the in-memory fakes."""

from __future__ import annotations

import time

import jwt
import pytest

from market.kernel.errors import DomainError
from market.member.adapters.argon2 import Argon2Hasher
from market.member.use_cases import MemberService
from market.web.auth import ALGORITHM, Auth, TokenSettings


async def test_a_new_member_can_log_in_with_its_email_in_any_case(members: MemberService) -> None:
    member = await members.sign_up("  Kim@Example.COM ", "Kim", "correct horse")

    token = await members.authenticate("KIM@example.com", "correct horse")

    assert member.email == "kim@example.com"
    assert member.point_balance == 0
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == member.id


async def test_an_email_opens_one_account_only(members: MemberService) -> None:
    await members.sign_up("kim@example.com", "Kim", "correct horse")

    with pytest.raises(DomainError) as caught:
        await members.sign_up("KIM@example.com", "Other Kim", "another password")

    assert caught.value.code == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    ("email", "password"),
    [("kim@example.com", "wrong password"), ("nobody@example.com", "correct horse")],
    ids=["wrong password", "unknown email"],
)
async def test_a_wrong_login_gets_the_same_refusal_whatever_was_wrong(
    members: MemberService, email: str, password: str
) -> None:
    await members.sign_up("kim@example.com", "Kim", "correct horse")

    with pytest.raises(DomainError) as caught:
        await members.authenticate(email, password)

    assert caught.value.code == "UNAUTHORIZED"
    assert caught.value.detail == "the email or the password is wrong"


@pytest.mark.parametrize(
    ("email", "name", "password"),
    [
        ("not-an-email", "Kim", "correct horse"),
        ("kim@example.com", "Kim", "short"),
        ("kim@example.com", " ", "long enough"),
    ],
)
async def test_a_malformed_sign_up_is_refused(
    members: MemberService, email: str, name: str, password: str
) -> None:
    with pytest.raises(DomainError) as caught:
        await members.sign_up(email, name, password)

    assert caught.value.code == "VALIDATION_ERROR"


async def test_the_token_carries_the_claims_that_the_api_checks(
    members: MemberService, auth: Auth, token_settings: TokenSettings
) -> None:
    member = await members.sign_up("kim@example.com", "Kim", "correct horse")

    issued = await members.login("kim@example.com", "correct horse")
    claims = jwt.decode(
        issued.access_token, token_settings.secret, algorithms=[ALGORITHM], audience=token_settings.audience
    )

    assert jwt.get_unverified_header(issued.access_token)["alg"] == "HS256"
    assert claims["iss"] == token_settings.issuer and claims["aud"] == token_settings.audience
    assert claims["sub"] == member.id and claims["role"] == "member"
    assert claims["exp"] - claims["iat"] == token_settings.ttl_seconds == issued.expires_in
    principal = auth.verify(f"Bearer {issued.access_token}")
    assert principal.member_id == member.id and not principal.is_admin


async def test_the_first_admin_is_created_once_and_can_log_in_as_admin(
    members: MemberService, auth: Auth
) -> None:
    first = await members.ensure_admin("Admin@Market.test", "admin-demo-password")
    again = await members.ensure_admin("admin@market.test", "admin-demo-password")

    token = await members.authenticate("admin@market.test", "admin-demo-password")

    assert again == first and first.is_admin
    assert auth.verify(f"Bearer {token}").is_admin


async def test_an_existing_member_is_not_promoted_by_ensure_admin(members: MemberService) -> None:
    await members.sign_up("admin@market.test", "Squatter", "squatter-password")

    account = await members.ensure_admin("admin@market.test", "admin-demo-password")

    assert not account.is_admin


async def test_argon2_hashes_verify_only_the_right_password_quickly() -> None:
    hasher = Argon2Hasher()
    stored = await hasher.hash("correct horse")

    timings = []
    for _ in range(3):
        start = time.perf_counter()
        assert await hasher.verify(stored, "correct horse")
        timings.append(time.perf_counter() - start)

    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert not await hasher.verify(stored, "wrong horse")
    assert not await hasher.verify("not a hash", "correct horse")
    assert min(timings) < 0.05


async def test_a_member_writes_in_korean_unless_it_chose_english(members: MemberService) -> None:
    kim = await members.sign_up("kim@example.com", "Kim", "correct horse")
    jo = await members.sign_up("jo@example.com", "Jo", "correct horse", locale="en")

    assert kim.locale == "ko" and jo.locale == "en"
    assert (await members.get_member(jo.id)) == jo


async def test_an_unknown_locale_is_refused(members: MemberService) -> None:
    with pytest.raises(DomainError) as caught:
        await members.sign_up("kim@example.com", "Kim", "correct horse", locale="fr")

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.extra["errors"] == [{"field": "locale", "message": "must be one of ['ko', 'en']"}]


async def test_a_member_changes_its_name_and_locale_and_keeps_the_rest(members: MemberService) -> None:
    kim = await members.sign_up("kim@example.com", "Kim", "correct horse")

    renamed = await members.update_profile(kim.id, name=" Kim Minji ")
    english = await members.update_profile(kim.id, locale="en")

    assert renamed.name == "Kim Minji" and renamed.locale == "ko"
    assert english == await members.get_member(kim.id)
    assert (english.name, english.locale, english.email) == ("Kim Minji", "en", "kim@example.com")


async def test_a_profile_change_to_an_unknown_locale_changes_nothing(members: MemberService) -> None:
    kim = await members.sign_up("kim@example.com", "Kim", "correct horse")

    with pytest.raises(DomainError) as caught:
        await members.update_profile(kim.id, name="Lee", locale="jp")

    assert caught.value.code == "VALIDATION_ERROR"
    assert await members.get_member(kim.id) == kim


async def test_a_profile_change_of_nobody_is_not_found(members: MemberService) -> None:
    with pytest.raises(DomainError) as caught:
        await members.update_profile("mem_nobody", locale="en")

    assert caught.value.code == "NOT_FOUND"
