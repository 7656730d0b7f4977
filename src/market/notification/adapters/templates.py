"""The messages' wording: Jinja2 templates in the package (`notification/templates/<locale>/<kind>.txt|html`).

A `.txt` template's first line is `Subject: …`, then a blank line, then the plain-text body; the `.html`
twin is the same message as HTML, autoescaped (a name such as `<script>` arrives as text). Words that
the events carry as codes (failure reasons, payment methods) come from `<locale>/words.json`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from market.notification.domain import LOCALES, Email, Notice, Recipient

KST = timezone(timedelta(hours=9), "KST")
_SUBJECT = "Subject: "


@pass_context
def _won(context: Context, amount: int) -> str:
    """Korean won with thousands separators: `24,000원` in Korean, `KRW 24,000` in English."""
    return f"{amount:,}원" if context["locale"] == "ko" else f"KRW {amount:,}"


def _words(locale: str) -> dict[str, Any]:
    text = (
        resources.files("market.notification").joinpath("templates", locale, "words.json").read_text("utf-8")
    )
    words: dict[str, Any] = json.loads(text)
    return words


class JinjaTemplates:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("market.notification", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["won"] = _won
        self._words = {locale: _words(locale) for locale in LOCALES}

    def render(self, notice: Notice, recipient: Recipient) -> Email:
        locale = recipient.language
        context = self._context(notice, recipient, locale)
        name = f"{locale}/{notice.kind.lower()}"
        subject, body = _split(self._env.get_template(f"{name}.txt").render(context), name)
        html = self._env.get_template(f"{name}.html").render(context, subject=subject)
        return Email(notice.event_id, notice.kind, recipient, subject, body, html, notice.occurred_at)

    def _context(self, notice: Notice, recipient: Recipient, locale: str) -> dict[str, Any]:
        words = self._words[locale]
        facts = notice.facts
        reason = facts.get("reason")
        return {
            "locale": locale,
            "name": recipient.name,
            "order_id": notice.order_id,
            "at": _local_time(notice.occurred_at),
            "amount": facts.get("amount"),
            "legs": [
                {"method": words["methods"].get(leg["method"], leg["method"]), "amount": leg["amount"]}
                for leg in facts.get("legs", ())
            ],
            "reason": words["reasons"].get(reason, words["unknown_reason"]) if reason else None,
            "items": facts.get("items", ()),
            "refund_amount": facts.get("refund_amount"),
        }


def _local_time(when: datetime) -> str:
    return when.astimezone(KST).strftime("%Y-%m-%d %H:%M KST")


def _split(text: str, name: str) -> tuple[str, str]:
    head, _, body = text.partition("\n\n")
    if not head.startswith(_SUBJECT) or "\n" in head:
        raise ValueError(f"template {name}.txt must start with one line 'Subject: …' and a blank line")
    return head[len(_SUBJECT) :].strip(), body.lstrip("\n")
