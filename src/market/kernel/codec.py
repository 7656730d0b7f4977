"""Frozen dataclasses to plain data (JSON-ready dicts, lists, strings, numbers) and back, by their type hints.

One codec for every typed record that crosses a boundary: event payloads (Kafka, the in-process bus), the
aggregates' JSON columns, idempotent replays. Times are UTC ISO-8601 strings (`clock.iso`), enums their
values, tuples lists. Reading back checks each value against its field's type: a payload that does not fit
raises `ValueError`, never a half-built record.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from market.kernel.clock import iso, parse_iso

T = TypeVar("T")


def plain(value: Any) -> Any:
    """`value` as plain data: a dataclass becomes a dict of its fields (ClassVars left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def build(cls: type[T], raw: Any) -> T:
    """The `cls` dataclass that `plain` made `raw` from; ValueError if `raw` does not fit its fields."""
    if not isinstance(raw, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
    readers = _readers(cls)  # type: ignore[arg-type]  # a class is hashable
    try:
        fields = {name: read(raw[name]) if name in raw else _MISSING for name, read in readers.items()}
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from None
    given = {name: value for name, value in fields.items() if value is not _MISSING}
    try:
        return cls(**given)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{cls.__name__}: {exc}") from None


_MISSING = object()
Reader = Callable[[Any], Any]


@functools.cache
def _readers(cls: type) -> dict[str, Reader]:
    hints = typing.get_type_hints(cls)
    return {f.name: _reader(hints[f.name]) for f in dataclasses.fields(cls) if f.init}


def _reader(hint: Any) -> Reader:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        inner = _reader(options[0]) if len(options) == 1 else _exact(tuple(options))
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        item = _reader(args[0])
        return lambda v: tuple(item(x) for x in _list(v))
    if origin is dict:
        return lambda v: dict(_dict(v))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return functools.partial(build, hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is datetime:
        return lambda v: _required(parse_iso(_exact((str,))(v)))
    if hint is Any or hint is object:
        return lambda v: v
    return _exact((hint,))


def _exact(kinds: tuple[type, ...]) -> Reader:
    def read(value: Any) -> Any:
        # bool is an int to Python, never an amount or a count here.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise ValueError(f"{value!r} is not {' or '.join(k.__name__ for k in kinds)}")
        return value

    return read


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{value!r} is not a list")
    return list(value)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{value!r} is not an object")
    return value


def _required(value: datetime | None) -> datetime:
    if value is None:
        raise ValueError("a time is required")
    return value
