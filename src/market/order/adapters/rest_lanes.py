"""Fast lanes (see market.web.lanes) for the two requests every order makes: placing it and following it.

Each answers only a request that its route in `rest` would accept as it is — a valid token, the headers
in range, a JSON body that is an `OrderIn` — through the same code (`place`, `read`), and declines any
other, which the route then answers. The tests run both paths on the same requests.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from market.order.adapters.rest import OrderIn, order_view, place, read
from market.order.use_cases import OrderService
from market.web.app import API_PREFIX
from market.web.auth import Auth, Principal
from market.web.json import FastJSON
from market.web.lanes import FastLanes
from market.web.problems import ApiError


def register(service: OrderService, auth: Auth, lanes: FastLanes) -> None:
    """The two requests every order makes, placed and followed, in fast lanes (see market.web.lanes).

    Each answers only a request that the route below would accept as it is (a member's valid token,
    the headers in range, a body that is an `OrderIn`), and declines any other."""

    def principal_of(request: Request) -> Principal | None:
        try:
            return auth.verify(request.headers.get("authorization", ""))
        except ApiError:
            return None

    async def place_order(request: Request) -> Response | None:
        key = request.headers.get("idempotency-key", "")
        principal = principal_of(request)
        if principal is None or not 1 <= len(key) <= 255:
            return None
        if request.headers.get("content-type", "").partition(";")[0].strip() != "application/json":
            return None
        try:
            body = OrderIn.model_validate_json(await request.body())
        except ValidationError:
            return None
        return await place(service, request, body, principal, key, request.headers.get("prefer"))

    async def get_order(request: Request) -> Response | None:
        order_id = request.path_params["order_id"]
        principal = principal_of(request)
        if principal is None or len(order_id) > 64:
            return None
        order, headers = await read(service, order_id, principal, request.headers.get("prefer"))
        return FastJSON(order_view(order), headers=headers)

    lanes.add("POST", f"{API_PREFIX}/orders", place_order)
    lanes.add("GET", f"{API_PREFIX}/orders/{{order_id}}", get_order)
