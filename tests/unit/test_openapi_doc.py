"""docs/openapi.json is the API reference users read: it must match what the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from market.bootstrap.embedded import create_app
from market.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_openapi_document_matches_the_app(tmp_path: Path) -> None:
    served = create_app(Settings(data_dir=tmp_path)).openapi()
    assert json.loads(DOC.read_text()) == json.loads(json.dumps(served)), "run scripts/export-openapi"


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
