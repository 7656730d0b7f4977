"""One order is one trace (SPEC §10.5), through the embedded mode's in-process path: the request's
`traceparent` → the order's outbox row → the bus → the consumers (product, payment) → the payment driven
in the background → PaymentCompleted's outbox row → the order's consumer; and its problem+json answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from market.bootstrap.apps import embedded_app
from market.infra.logs import ACCESS, Correlation
from market.settings import Settings
from tests.asgi_app import started

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(Correlation("embedded", "0"))
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def of_trace(self) -> list[str]:
        return [r.getMessage() for r in self.records if getattr(r, "trace_id", None) == TRACE]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler, root, payment = Lines(), logging.getLogger(), logging.getLogger("market.payment")
    levels = ACCESS.level, payment.level
    root.addHandler(handler)
    ACCESS.setLevel(logging.INFO)
    payment.setLevel(logging.DEBUG)  # each leg taken: a line inside the payment driven in the background
    yield handler
    root.removeHandler(handler)
    ACCESS.setLevel(levels[0])
    payment.setLevel(levels[1])


async def test_an_order_placed_with_a_traceparent_is_one_trace_everywhere(
    tmp_path: Path, lines: Lines
) -> None:
    settings = Settings(data_dir=tmp_path, admin_email="ops@market.test", admin_password="ops-password-1")
    async with started(embedded_app(settings)) as client:
        login = {"email": "ops@market.test", "password": "ops-password-1"}
        admin = {
            "Authorization": "Bearer "
            + (await client.post("/api/v1/auth/token", json=login)).json()["access_token"]
        }
        seller = (await client.post("/api/v1/admin/sellers", json={"name": "S"}, headers=admin)).json()
        product = (
            await client.post(
                "/api/v1/admin/products",
                json={"seller_id": seller["id"], "name": "Mug", "price": 1000, "stock": 5},
                headers=admin,
            )
        ).json()
        kim = {"email": "kim@market.test", "name": "Kim", "password": "correct horse"}
        await client.post("/api/v1/members", json=kim)
        creds = {"email": kim["email"], "password": kim["password"]}
        token = (await client.post("/api/v1/auth/token", json=creds)).json()["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": "k-1",
            "Prefer": "wait=5",
            "traceparent": TRACEPARENT,
        }
        body = {
            "items": [{"product_id": product["id"], "quantity": 1}],
            "payments": [{"method": "PG", "amount": 1000, "payment_key": "pk_test_ok"}],
        }
        order = await client.post("/api/v1/orders", json=body, headers=headers)
        assert order.json()["status"] == "PAID", order.text
        wrong = await client.post(
            "/api/v1/orders", json={**body, "payments": []}, headers={**headers, "Idempotency-Key": "k-2"}
        )
    assert wrong.status_code == 422 and wrong.json()["trace_id"] == TRACE
    seen = "\n".join(lines.of_trace())
    assert "http POST /api/v1/orders 201" in seen
    for handled in ("OrderCreated", "handled by payment"), ("OrderCreated", "handled by product"):
        assert any(all(part in line for part in handled) for line in lines.of_trace()), seen
    assert "PG take: ok" in seen  # the payment driven in the background ran in the order's trace
    assert any("PaymentCompleted" in line and "handled by order" in line for line in lines.of_trace()), seen
    placed = [r for r in lines.records if r.getMessage().startswith("http POST /api/v1/orders 201")]
    assert placed[0].order_id == order.json()["id"]  # type: ignore[attr-defined]
