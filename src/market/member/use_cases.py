"""The member service's use cases: sign-up, login, and every movement of a member's points."""

from __future__ import annotations

from dataclasses import replace

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, NotFound
from market.kernel.ids import new_id
from market.member.domain import (
    ACTIVE,
    ADMIN,
    DEFAULT_LOCALE,
    GRANT,
    MEMBER,
    ORDER_REFUND,
    ORDER_USE,
    REFUND,
    RETIRED,
    AccessToken,
    LedgerEntry,
    LoginLimits,
    Member,
    check_locale,
    check_name,
    check_password,
    check_points,
    check_reason,
    check_role,
    normalise_email,
    over,
)
from market.member.ports import PasswordHasher, TokenIssuer, UnitOfWork, UnitOfWorkFactory

_WRONG_LOGIN = "the email or the password is wrong"


class MemberService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        limits: LoginLimits | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._tokens = tokens
        self._limits = limits or LoginLimits()
        self._decoy_hash: str | None = None

    async def sign_up(
        self,
        email: str,
        name: str,
        password: str,
        role: str = MEMBER,
        locale: str = DEFAULT_LOCALE,
        address: str | None = None,
    ) -> Member:
        """Open an account; EMAIL_TAKEN when the (case-insensitive) email already has one. From a client
        `address`: RATE_LIMITED past its sign-ups for the window (`LoginLimits`)."""
        email, name = normalise_email(email), check_name(name)
        check_password(password)
        check_role(role)
        check_locale(locale)
        if address is not None:
            await self._count_sign_up(f"sign-up:{address}")
        password_hash = await self._hasher.hash(password)  # slow on purpose: outside the transaction
        member = Member(new_id("mem"), email, name, role, ACTIVE, 0, self._clock.now(), locale)
        async with self._uow() as uow:
            if not await uow.members.add(member, password_hash):
                raise DomainError("EMAIL_TAKEN", "an account with this email already exists")
        return member

    async def login(self, email: str, password: str, address: str | None = None) -> AccessToken:
        """A token for the member; UNAUTHORIZED alike for an unknown email and a wrong password.

        Throttled (SPEC §10.5, `LoginLimits`): RATE_LIMITED, with the seconds to wait, once the email or
        the client `address` has had its failures for the window; a success clears the email's failures.
        """
        email = email.strip().lower()
        keys = [f"login:{email}", *([f"login-from:{address}"] if address is not None else [])]
        window, _ = self._limits.window(self._clock.now())
        async with self._uow() as uow:
            counts = await uow.attempts.counts(keys, window)
            found = await uow.members.credentials(email)
        limits = (self._limits.email_failures, self._limits.address_failures)
        if any(over(counts[key], limit) for key, limit in zip(keys, limits, strict=False)):
            raise self._limits.rate_limited("failed logins", self._clock.now())
        if found is None:
            # Spend the same time as a real check, so response times do not reveal which emails exist.
            await self._hasher.verify(await self._decoy(), password)
        if found is None or not await self._hasher.verify(found[1], password) or not found[0].can_sign_in:
            async with self._uow() as uow:
                await uow.attempts.add(keys, window)
            raise DomainError("UNAUTHORIZED", _WRONG_LOGIN)
        if counts[keys[0]]:
            async with self._uow() as uow:
                await uow.attempts.clear(keys[0])
        token, expires_in = self._tokens.issue(found[0])
        return AccessToken(token, expires_in)

    async def _count_sign_up(self, key: str) -> None:
        window, _ = self._limits.window(self._clock.now())
        async with self._uow() as uow:
            if over((await uow.attempts.counts([key], window))[key], self._limits.signups_per_address):
                raise self._limits.rate_limited("sign-ups from this address", self._clock.now())
            await uow.attempts.add([key], window)

    async def forget_old_attempts(self) -> int:
        """Forget the login and sign-up counts of past windows (a periodic job); how many."""
        window, _ = self._limits.window(self._clock.now())
        async with self._uow() as uow:
            return await uow.attempts.forget_before(window)

    async def can_sign_in(self, email: str) -> bool:
        """Whether an account with this email exists and may sign in."""
        async with self._uow() as uow:
            found = await uow.members.credentials(normalise_email(email))
        return found is not None and found[0].can_sign_in

    async def retire(self, email: str) -> bool:
        """Take an account's admin role and its sign-in away (the demo accounts, once they must not be
        usable); whether there was an active one."""
        async with self._uow() as uow:
            found = await uow.members.credentials(normalise_email(email))
            if found is None or found[0].status == RETIRED:
                return False
            return await uow.members.set_standing(found[0].id, MEMBER, RETIRED)

    async def authenticate(self, email: str, password: str) -> str:
        """The access token of a login (see `login`)."""
        return (await self.login(email, password)).access_token

    async def get_member(self, member_id: str) -> Member | None:
        """The member, or None when there is no such member."""
        async with self._uow() as uow:
            return await uow.members.get(member_id)

    async def update_profile(
        self, member_id: str, name: str | None = None, locale: str | None = None
    ) -> Member:
        """Change the member's name and/or the language of its messages; what is not given stays."""
        async with self._uow() as uow:
            member = await self._locked(uow, member_id)
            changed = replace(
                member,
                name=member.name if name is None else check_name(name),
                locale=member.locale if locale is None else check_locale(locale),
            )
            await uow.members.set_profile(member_id, changed.name, changed.locale)
        return changed

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        """Take `amount` points for an order, once per order: a retry changes nothing.

        INSUFFICIENT_POINTS when the balance is short; POINTS_REFUNDED when the order's points were
        already given back (a late retry must not take them again).
        """
        check_points(amount)
        async with self._uow() as uow:
            member = await self._locked(uow, member_id)
            kinds = {e.kind for e in await uow.ledger.of_order(order_id)}
            if ORDER_REFUND in kinds:
                raise DomainError("POINTS_REFUNDED", f"the points of order {order_id} were already refunded")
            if ORDER_USE in kinds:
                return
            if member.point_balance < amount:
                raise _insufficient(amount, member.point_balance)
            await self._move(uow, member, -amount, ORDER_USE, "used for an order", order_id)

    async def refund_points(
        self, member_id: str, order_id: str, amount: int | None = None, refund_id: str = ""
    ) -> int:
        """Give back what an order still holds (`amount` None), once; or, for a partial cancellation,
        `amount` of it, once per `refund_id`. The points given back (0 if it took none).

        A retry returns the same number without moving the balance again. A refund of an order that
        took nothing is recorded too, so that a use arriving late for it is refused. More than the order
        still holds is POINTS_REFUND_EXCEEDED.
        """
        if amount is not None:
            check_points(amount)
            if not refund_id:
                raise DomainError("VALIDATION_ERROR", "a partial refund of points names its refund")
        key = refund_id if amount is not None else ""
        async with self._uow() as uow:
            member = await self._locked(uow, member_id)
            entries = await uow.ledger.of_order(order_id)
            refunds = [e for e in entries if e.kind == ORDER_REFUND]
            if (done := next((e for e in refunds if e.refund_id == key), None)) is not None:
                return done.delta
            used = next((e for e in entries if e.kind == ORDER_USE), None)
            if used is not None and used.member_id != member_id:
                raise NotFound("points of this order")
            held = (-used.delta if used is not None else 0) - sum(e.delta for e in refunds)
            given = held if amount is None else amount
            if given > held:
                raise DomainError(
                    "POINTS_REFUND_EXCEEDED", f"order {order_id} holds {held} points, not {given}"
                )
            await self._move(uow, member, given, ORDER_REFUND, REFUND, order_id, key)
        return given

    async def grant_points(self, member_id: str, amount: int, reason: str) -> Member:
        """Give (or, with a negative amount, take back) points; the balance never goes below 0."""
        check_points(amount, allow_negative=True)
        reason = check_reason(reason)
        async with self._uow() as uow:
            member = await self._locked(uow, member_id)
            if member.point_balance + amount < 0:
                raise _insufficient(-amount, member.point_balance)
            entry = await self._move(uow, member, amount, GRANT, reason, None)
        return replace(member, point_balance=entry.balance_after)

    async def ledger(self, member_id: str, limit: int = 20, cursor: str | None = None) -> list[LedgerEntry]:
        """Up to `limit` of the member's point movements, newest first, older than `cursor`."""
        async with self._uow() as uow:
            return await uow.ledger.newest(member_id, max(1, min(limit, 1000)), cursor)

    async def ensure_admin(self, email: str, password: str) -> Member:
        """The account for this email, created as an admin if missing (start-up; idempotent).

        An existing account is returned as it is, never promoted: whoever signed up first with
        that email keeps their role. The caller can check `is_admin` and warn.
        """
        try:
            return await self.sign_up(email, "Administrator", password, role=ADMIN)
        except DomainError as exc:
            if exc.code != "EMAIL_TAKEN":
                raise
        async with self._uow() as uow:
            found = await uow.members.credentials(normalise_email(email))
        assert found is not None
        return found[0]

    async def _locked(self, uow: UnitOfWork, member_id: str) -> Member:
        # Locking the member first serialises every movement of its points.
        member = await uow.members.get(member_id, for_update=True)
        if member is None:
            raise NotFound("member")
        return member

    async def _move(
        self,
        uow: UnitOfWork,
        member: Member,
        delta: int,
        kind: str,
        reason: str,
        order_id: str | None,
        refund_id: str = "",
    ) -> LedgerEntry:
        """Move the balance and record it in the ledger, in the caller's unit of work.

        `member` was read under its row lock (`_locked`): nothing else moved the balance since, so the
        balance after the move is known without reading it back.
        """
        if delta != 0 and not await uow.members.add_points(member.id, delta):
            raise _insufficient(-delta, member.point_balance)
        balance = member.point_balance + delta
        entry = LedgerEntry(
            new_id("pnt"), member.id, delta, balance, reason, order_id, kind, self._clock.now(), refund_id
        )
        if not await uow.ledger.add(entry):
            raise DomainError("CONFLICT", f"order {order_id} already has a {kind} entry; retry")
        return entry

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await self._hasher.hash(new_id("decoy"))
        return self._decoy_hash


def _insufficient(needed: int, balance: int) -> DomainError:
    return DomainError(
        "INSUFFICIENT_POINTS", f"{needed} points needed, {balance} available", point_balance=balance
    )
