"""Stored timestamps: ISO-8601 read back as UTC instants; a required one that is missing is an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from market.kernel.clock import iso, parse_iso, parse_iso_required

WHEN = datetime(2026, 3, 1, 9, 0, 0, 123_000, tzinfo=UTC)


def test_a_stored_timestamp_reads_back_as_the_same_instant() -> None:
    assert parse_iso_required(iso(WHEN) or "") == WHEN == parse_iso(iso(WHEN))
    assert parse_iso_required("2026-03-01T18:00:00.123+09:00") == WHEN
    assert parse_iso("2026-03-01T18:00:00.123+09:00").tzinfo is UTC  # type: ignore[union-attr]


def test_a_timestamp_is_written_in_utc_with_milliseconds_and_a_z() -> None:
    seoul = timezone(timedelta(hours=9))
    assert iso(WHEN) == "2026-03-01T09:00:00.123Z"
    assert iso(WHEN.astimezone(seoul)) == "2026-03-01T09:00:00.123Z"
    assert iso(datetime(2026, 3, 1, 9, 0, 0, 123_999, tzinfo=UTC)) == "2026-03-01T09:00:00.123Z"  # truncated
    assert iso(datetime(2026, 3, 1, tzinfo=UTC)) == "2026-03-01T00:00:00.000Z"
    assert iso(None) is None


@pytest.mark.parametrize("missing", [None, ""])
def test_a_required_timestamp_that_is_missing_is_a_value_error(missing: str | None) -> None:
    with pytest.raises(ValueError):
        parse_iso_required(missing)  # type: ignore[arg-type]
