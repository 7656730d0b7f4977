"""The member REST API: login, sign-up, the signed-in member, its point ledger, admin grants."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from market.kernel.clock import iso
from market.kernel.errors import NotFound
from market.member.domain import MAX_POINTS, LedgerEntry, Member
from market.member.use_cases import MemberService
from market.web.auth import Auth, Principal
from market.web.json import FastJSON, page
from market.web.query import NO_LAG, PAGE_FILTERS, described


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: StrictStr = Field(min_length=1, max_length=320)
    password: StrictStr = Field(min_length=1, max_length=1024)


class SignUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: StrictStr = Field(min_length=3, max_length=254)
    name: StrictStr = Field(min_length=1, max_length=100)
    password: StrictStr = Field(min_length=8, max_length=128)
    locale: Literal["ko", "en"] = Field(
        default="ko", description="the language of the member's e-mails (Korean unless chosen)"
    )


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: StrictInt = Field(ge=-MAX_POINTS, le=MAX_POINTS, description="points to add; negative takes back")
    reason: StrictStr = Field(min_length=1, max_length=200)


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "email": member.email,
        "name": member.name,
        "point_balance": member.point_balance,
        "locale": member.locale,
    }


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "delta": entry.delta,
        "balance_after": entry.balance_after,
        "reason": entry.reason,
        "order_id": entry.order_id,
        "created_at": iso(entry.created_at),
    }


def client_address(request: Request) -> str:
    """The client's address: the connection's peer, or behind a trusted proxy (the gateway) the address
    it names in X-Forwarded-For — uvicorn's proxy headers, trusted for MARKET_TRUSTED_PROXIES only."""
    return request.client.host if request.client is not None else "unknown"


def router(service: MemberService, auth: Auth) -> APIRouter:
    api = APIRouter(tags=["members"], default_response_class=FastJSON)
    Signed = Annotated[Principal, Depends(auth.member)]
    Admin = Annotated[Principal, Depends(auth.admin)]
    Limit = Annotated[int, Query(ge=1, le=100)]
    Cursor = Annotated[str | None, Query(max_length=64)]

    async def existing(member_id: str) -> Member:
        member = await service.get_member(member_id)
        if member is None:
            raise NotFound("member")
        return member

    @api.post("/auth/token", summary="Log in: a Bearer access token for an email and password")
    async def token(body: LoginBody, request: Request) -> dict[str, Any]:
        issued = await service.login(body.email, body.password, address=client_address(request))
        return {"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in}

    @api.post("/members", status_code=201, summary="Sign up")
    async def sign_up(body: SignUpBody, request: Request, response: Response) -> dict[str, Any]:
        member = await service.sign_up(
            body.email, body.name, body.password, locale=body.locale, address=client_address(request)
        )
        response.headers["Location"] = request.url_for("get_member", member_id=member.id).path
        return member_json(member)

    @api.get("/members/me", summary="The signed-in member and its point balance")
    async def me(principal: Signed) -> dict[str, Any]:
        return member_json(await existing(principal.member_id))

    @api.get(
        "/members/me/points",
        summary="The signed-in member's point ledger, newest first",
        **described(PAGE_FILTERS, NO_LAG),
    )
    async def points(principal: Signed, limit: Limit = 20, cursor: Cursor = None) -> dict[str, Any]:
        entries = await service.ledger(principal.member_id, limit + 1, cursor)
        return page(entries, limit, entry_json, lambda e: e.id)

    @api.get("/members/{member_id}", name="get_member", summary="A member: yourself, or anyone for an admin")
    async def one(member_id: str, principal: Signed) -> dict[str, Any]:
        if member_id != principal.member_id and not principal.is_admin:
            raise NotFound("member")  # another member's account is not even acknowledged
        return member_json(await existing(member_id))

    @api.post("/admin/members/{member_id}/points", summary="Grant (or take back) points (admin)")
    async def grant(member_id: str, body: GrantBody, _: Admin) -> dict[str, Any]:
        return member_json(await service.grant_points(member_id, body.amount, body.reason))

    return api
