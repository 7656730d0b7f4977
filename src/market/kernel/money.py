"""Money: Korean won, whole numbers, no minor unit (SPEC: never floats).

`Won` is the one amount type from the REST body to the PG call: an `int` by name, so a signature says that
a number is money. JSON and protobuf carry it as an integer, SQL as BIGINT.
"""

from __future__ import annotations

from typing import TypeAlias

Won: TypeAlias = int
