"""docs/openapi.json is the API reference users read: it must match what the app serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from market.bootstrap.apps import embedded_app
from market.kernel.plan import RULES
from market.settings import Settings
from market.web.api_errors import BODY_EDGE, EDGE, ROUTE_ERRORS
from market.web.browser import PLATFORM_DOCUMENT
from market.web.problems import status_of

EDGE_CODES = {code for _, code, _ in (*EDGE, BODY_EDGE)}
DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_openapi_document_matches_the_app(tmp_path: Path) -> None:
    served = embedded_app(Settings(data_dir=tmp_path)).openapi()
    assert json.loads(DOC.read_text()) == json.loads(json.dumps(served)), "run scripts/export-openapi"
    # The copy a distributed console serves at /openapi.json for /docs.
    assert json.loads(PLATFORM_DOCUMENT.read_text()) == json.loads(DOC.read_text()), (
        "run scripts/export-openapi"
    )


def test_every_operation_that_needs_a_token_declares_the_bearer_scheme_swagger_ui_authorizes_with() -> None:
    document = json.loads(DOC.read_text())
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "`POST /api/v1/auth/token` answers the token; paste its `access_token`.",
    }
    for (method, path), operation in _operations(document).items():
        needs_token = "UNAUTHORIZED" in ROUTE_ERRORS[(method, path)] and path != "/api/v1/auth/token"
        assert (operation.get("security") == [{"bearer": []}]) == needs_token, (method, path)


def test_every_public_path_of_the_spec_is_documented() -> None:
    paths = json.loads(DOC.read_text())["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/members",
        "/api/v1/members/me",
        "/api/v1/members/me/points",
        "/api/v1/members/me/coupons",
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/cancel",
        "/api/v1/payments",
        "/api/v1/admin/sellers",
        "/api/v1/admin/products",
        "/api/v1/admin/products/{product_id}",
        "/api/v1/admin/members/{member_id}/points",
        "/api/v1/admin/coupons",
        "/api/v1/admin/coupons/{coupon_id}/issue",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), p): op for p, ops in document["paths"].items() for m, op in ops.items()}


def test_every_operation_has_its_errors_in_the_table_and_the_table_names_no_other() -> None:
    documented = set(_operations(json.loads(DOC.read_text())))

    assert documented == set(ROUTE_ERRORS)


def test_every_error_answer_is_a_problem_with_the_codes_it_can_carry() -> None:
    document = json.loads(DOC.read_text())

    assert "HTTPValidationError" not in json.dumps(document), "FastAPI's own 422 is not what the API answers"
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "code"]
    for (method, path), operation in _operations(document).items():
        for status, answer in operation["responses"].items():
            if int(status) < 400:
                continue
            assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
            schema = answer["content"]["application/problem+json"]["schema"]
            assert schema["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
            codes = schema["allOf"][1]["properties"]["code"]["enum"]
            assert codes and all(f"`{code}`" in answer["description"] for code in codes), (method, path)
            assert all(status_of(code) == int(status) for code in codes if code not in EDGE_CODES)


def test_placing_an_order_documents_every_rule_of_spec_4_with_its_status() -> None:
    placing = _operations(json.loads(DOC.read_text()))[("POST", "/api/v1/orders")]["responses"]
    codes = {
        code: int(status)
        for status, answer in placing.items()
        if int(status) >= 400
        for code in answer["content"]["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"][
            "enum"
        ]
    }

    assert {rule.code for rule in RULES} <= set(codes)
    assert codes["OUT_OF_STOCK"] == 409 and codes["IDEMPOTENCY_KEY_IN_USE"] == 409
    assert codes["IDEMPOTENCY_KEY_REUSED"] == 422 and codes["UNAUTHORIZED"] == 401
    cancelling = _operations(json.loads(DOC.read_text()))[("POST", "/api/v1/orders/{order_id}/cancel")]
    conflicts = cancelling["responses"]["409"]["content"]["application/problem+json"]["schema"]["allOf"][1]
    assert {"ORDER_NOT_CANCELLABLE", "CANCEL_WINDOW_EXPIRED"} <= set(conflicts["properties"]["code"]["enum"])


def test_metrics_are_documented_as_text_and_readiness_as_a_503_problem() -> None:
    operations = _operations(json.loads(DOC.read_text()))

    assert list(operations[("GET", "/metrics")]["responses"]["200"]["content"]) == ["text/plain"]
    assert "`NOT_READY`" in operations[("GET", "/readyz")]["responses"]["503"]["description"]
