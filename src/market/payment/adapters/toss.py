"""The PG: `CardGateway` on the Toss Payments v1 REST API, `BnplGateway` on the BNPL API of the same style,
over a `Transport`: HTTP (`HttpTransport`, aiohttp) to the real PG or the sandbox's server, or the sandbox
in process (`market.pg_sandbox.transport`, the embedded mode). The real PG is configuration
(docs/pg-sandbox.md).

Nothing is charged or cancelled twice: every POST carries an `Idempotency-Key` derived from what it does
(`confirm-{orderId}`, `cancel-{paymentKey}-all` for the balance, `cancel-{paymentKey}-{request id}` for a
partial cancel: two partial cancels of the same amount are two requests), and the PG answers a repeated key with its stored
answer. So a 5xx, 409 or 429 is retried with the same key, and so is a connection that never opened (nothing
sent). A request sent but never answered (read timeout, dropped connection, 504) is a `GatewayTimeout` and is
not retried: the payment service asks the PG for the order's payment instead.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import orjson

from market.infra import tracing
from market.kernel.errors import Unavailable
from market.payment.adapters.toss_wire import charge_from, contract_from, refusal
from market.payment.ports import DONE, BnplContract, CardCharge, GatewayTimeout

log = logging.getLogger("market.payment.pg")

BACKOFF_SECONDS = 0.1  # doubled on each retry: 0.1, 0.2, 0.4 s
ALREADY_CHARGED = {"DUPLICATED_ORDER_ID", "ALREADY_PROCESSED_PAYMENT"}
ASK_AGAIN = {409, 429}  # the same key still in flight; too many requests
# Refused, unresolved, TLS handshake failed, or no connection (or pool slot) within the timeout.
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# A bad URL, header or proxy: the request could not be made.
CANNOT_CALL = (ValueError, aiohttp.NonHttpUrlClientError, aiohttp.ClientHttpProxyError)


class Transport(Protocol):
    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """The PG's status and JSON body. Raises ConnectionError when nothing reached the PG (safe to send
        again), TimeoutError when the request went out and no answer came, ValueError when it cannot be made."""
        ...


class HttpTransport:
    """One keep-alive aiohttp session to the PG: Basic auth with the secret key (Toss: secretKey + ":")."""

    def __init__(self, base_url: str, secret_key: str, timeout: float = 3.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._auth = "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode()
        self._proxy = _env_proxy(self._base_url)
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:  # built on first use: a session belongs to the running loop
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=5.0),
                headers={"Authorization": self._auth},
                timeout=aiohttp.ClientTimeout(connect=self._timeout, sock_read=self._timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                proxy=self._proxy,
            )
        return self._http

    async def close(self) -> None:
        await self._session().close()  # a transport closed before its first call stays closed too

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(body)
        try:
            # A client span, its `traceparent` sent along: the PG's side shows up in the order's trace.
            with tracing.outgoing(f"PG {method}", headers):
                async with self._session().request(
                    method, self._base_url + path, data=data, headers=headers, allow_redirects=False
                ) as response:
                    return response.status, _json(await response.read())
        except NOT_SENT as exc:
            raise ConnectionError(str(exc)) from exc
        except CANNOT_CALL as exc:
            raise ValueError(repr(exc)) from exc
        except aiohttp.ClientError as exc:  # read timeout, dropped, garbled: sent, maybe done, unanswered
            raise TimeoutError(str(exc)) from exc


class _Answer(NamedTuple):
    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        code = self.body.get("code")
        return code if isinstance(code, str) else None


class _TossApi:
    """One API of the PG, retrying only what is safe (every POST carries its idempotency key)."""

    what = "PG"

    def __init__(self, transport: Transport, retries: int = 3) -> None:
        self._transport = transport
        self._retries = retries

    async def close(self) -> None:
        """Close the transport's connections, if it holds any."""
        close = getattr(self._transport, "close", None)
        if close is not None:
            await close()

    async def _post(self, path: str, body: dict[str, Any] | None, idempotency_key: str) -> _Answer:
        return await self._send("POST", path, body, idempotency_key)

    async def _get(self, path: str) -> _Answer:
        return await self._send("GET", path, None, None)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None, key: str | None) -> _Answer:
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                answer = _Answer(*await self._transport.request(method, path, body, key))
            except ConnectionError as exc:
                log.warning("%s not reached for %s %s: %s", self.what, method, path, exc)
                continue
            except ValueError as exc:  # nothing reached the PG
                log.error("%s cannot be called: %s", self.what, exc)
                raise Unavailable(self.what) from exc
            except TimeoutError as exc:
                raise GatewayTimeout(self.what) from exc
            if answer.status == 504:
                raise GatewayTimeout(self.what)
            if answer.status == 401:
                log.error(
                    "%s refused our secret key: %s %s", self.what, answer.code, answer.body.get("message")
                )
                raise Unavailable(self.what)
            if answer.status < 500 and answer.status not in ASK_AGAIN:
                return answer
            log.warning("%s answered %s %s to %s %s", self.what, answer.status, answer.code, method, path)
        raise Unavailable(self.what)


class TossCardGateway(_TossApi):
    """`CardGateway` over the Toss Payments v1 API: confirm, cancel all or part, lookup by order id."""

    async def confirm(self, payment_key: str, order_id: str, amount: int) -> CardCharge:
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        answer = await self._post("/v1/payments/confirm", body, f"confirm-{order_id}")
        if answer.status == 200:
            return charge_from(answer.body)
        if answer.code in ALREADY_CHARGED:
            # Charged by an earlier request for this order: that charge is the answer if it matches.
            found = await self.lookup(order_id)
            if found is not None and found.status == DONE and found.total_amount == amount:
                return found
        raise refusal("PG_DECLINED", answer.body)

    async def cancel(
        self, pg_payment_key: str, reason: str, amount: int | None = None, request_id: str | None = None
    ) -> CardCharge:
        """A repeated cancel of the balance, or of the same `request_id`, is the same request (one
        idempotency key); without a request id, a partial cancel's key is its amount."""
        body: dict[str, Any] = {"cancelReason": reason}
        if amount is not None:
            body["cancelAmount"] = amount
        key = f"cancel-{pg_payment_key}-{request_id or (amount if amount is not None else 'all')}"
        answer = await self._post(f"/v1/payments/{_segment(pg_payment_key)}/cancel", body, key)
        if answer.status == 200:
            return charge_from(answer.body)
        if answer.code == "ALREADY_CANCELED_PAYMENT":
            current = await self._get(f"/v1/payments/{_segment(pg_payment_key)}")
            if current.status == 200:
                return charge_from(current.body)
        raise refusal("PG_CANCEL_REFUSED", answer.body)

    async def lookup(self, order_id: str) -> CardCharge | None:
        answer = await self._get(f"/v1/payments/orders/{_segment(order_id)}")
        if answer.status == 404 and answer.code == "NOT_FOUND_PAYMENT":
            return None
        if answer.status != 200:
            raise refusal("PG_LOOKUP_REFUSED", answer.body)
        return charge_from(answer.body)


class TossBnplGateway(_TossApi):
    """`BnplGateway` over the BNPL API (`/v1/bnpl/...`): approve, cancel and look up an order's contract."""

    what = "BNPL"

    async def approve(self, payment_key: str, order_id: str, member_id: str, amount: int) -> BnplContract:
        body = {"paymentKey": payment_key, "orderId": order_id, "memberId": member_id, "amount": amount}
        answer = await self._post("/v1/bnpl/approvals", body, f"approve-{order_id}")
        if answer.status == 200:
            return contract_from(answer.body)
        if answer.code == "DUPLICATED_ORDER_ID":
            found = await self.lookup(order_id)
            if found is not None and found.status == "APPROVED" and found.amount == amount:
                return found
        raise refusal("BNPL_REJECTED", answer.body)

    async def cancel(
        self, order_id: str, amount: int | None = None, request_id: str | None = None, reason: str = ""
    ) -> BnplContract | None:
        body: dict[str, Any] | None = None
        if amount is not None:
            body = {"cancelAmount": amount, "cancelReason": reason or "partial cancellation"}
        key = f"cancel-{order_id}" if amount is None else f"cancel-{order_id}-{request_id or amount}"
        answer = await self._post(f"/v1/bnpl/orders/{_segment(order_id)}/cancel", body, key)
        if answer.status == 404 and answer.code == "NOT_FOUND_CONTRACT":
            return None
        if answer.status != 200:
            raise refusal("BNPL_CANCEL_REFUSED", answer.body)
        return contract_from(answer.body)

    async def lookup(self, order_id: str) -> BnplContract | None:
        answer = await self._get(f"/v1/bnpl/orders/{_segment(order_id)}")
        if answer.status == 404 and answer.code == "NOT_FOUND_CONTRACT":
            return None
        if answer.status != 200:
            raise refusal("BNPL_LOOKUP_REFUSED", answer.body)
        return contract_from(answer.body)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:  # an HTML page from a proxy, say
        return {}
    return body if isinstance(body, dict) else {}


def _env_proxy(base_url: str) -> str | None:
    """The proxy that HTTP(S)_PROXY, ALL_PROXY and NO_PROXY name for the PG: read once, not per request."""
    url = urlsplit(base_url)
    if url.hostname is None or proxy_bypass(url.hostname):
        return None
    proxies = getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    return proxy if proxy is None or "://" in proxy else f"http://{proxy}"
