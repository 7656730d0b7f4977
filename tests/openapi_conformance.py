"""Every answer a test gets must be one its OpenAPI document promises: the status, the media type, the code.

`conforming(document)` is an httpx response hook: a client built with it fails the request (AssertionError)
on an answer the document does not list for that operation, so the REST and end-to-end suites, which drive
every error path they test, keep the API reference (docs/openapi.json, market.web.api_errors) true.
Paths and methods the document does not describe (the Swagger UI, the benchmark's echo, a 404 or 405 for
a path or method that does not exist) are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Hook = Callable[[httpx.Response], Awaitable[None]]


def _operations(document: dict[str, Any]) -> list[tuple[str, re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for template, operations in document["paths"].items():
        literals = re.split(r"\{[^/}]+\}", template)
        pattern = re.compile("^" + "[^/]+".join(re.escape(part) for part in literals) + "$")
        for method, operation in operations.items():
            found.append((method.upper(), pattern, template, operation))
    # A literal segment beats a parameter: /members/me before /members/{member_id}.
    found.sort(key=lambda entry: entry[2].count("{"))
    return found


def _codes(answer: dict[str, Any], media: str) -> list[str] | None:
    schema = answer.get("content", {}).get(media, {}).get("schema", {})
    for part in schema.get("allOf", ()):
        enum = part.get("properties", {}).get("code", {}).get("enum")
        if enum is not None:
            return list(enum)
    return None


def conforming(document: dict[str, Any]) -> Hook:
    operations = _operations(document)

    async def check(response: httpx.Response) -> None:
        method, path = response.request.method, response.request.url.path
        match = next(((t, op) for m, p, t, op in operations if m == method and p.match(path)), None)
        if match is None:
            return
        template, operation = match
        where = f"{method} {template} answered {response.status_code}"
        answer = operation["responses"].get(str(response.status_code))
        assert answer is not None, (
            f"{where}, which its OpenAPI entry does not list: {sorted(operation['responses'])}"
        )
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if answer.get("content"):
            assert media in answer["content"], f"{where} as {media}; documented: {sorted(answer['content'])}"
        if response.status_code >= 400:
            await response.aread()
            code = response.json().get("code")
            codes = _codes(answer, media)
            assert codes is not None and code in codes, f"{where} with code {code}; documented: {codes}"

    return check
