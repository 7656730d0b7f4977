"""Stored timestamps: ISO-8601 read back as UTC instants; a required one that is missing is an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from market.kernel.clock import iso, parse_iso, parse_iso_required

WHEN = datetime(2026, 3, 1, 9, 0, 0, 123_000, tzinfo=UTC)


def test_a_stored_timestamp_reads_back_as_the_same_instant() -> None:
    assert parse_iso_required(iso(WHEN) or "") == WHEN == parse_iso(iso(WHEN))
    assert parse_iso_required("2026-03-01T18:00:00.123+09:00") == WHEN


@pytest.mark.parametrize("missing", [None, ""])
def test_a_required_timestamp_that_is_missing_is_a_value_error(missing: str | None) -> None:
    with pytest.raises(ValueError):
        parse_iso_required(missing)  # type: ignore[arg-type]
