"""What the member reads: its language, the amounts in won, the reason in words, and HTML that escapes names."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from market.kernel.events import Envelope
from market.notification.adapters.mime import to_mime
from market.notification.domain import Email, Recipient
from market.notification.use_cases import NotificationService
from tests.unit.notification.fakes import FakeMailer, FakeMembers, cancelled, failed, paid, partly_cancelled


async def sent_to_kim_and_jo(
    service: NotificationService, mailer: FakeMailer, make: Callable[[str, str], Envelope]
) -> tuple[Email, Email]:
    """The message to Kim (Korean) and the one to Jo (English), for an event of each."""
    await service.handle_batch([make("ord_ko", "mem_kim"), make("ord_en", "mem_jo")])
    await service.send_pending()
    ko, en = sorted(mailer.sent, key=lambda m: m.to.locale, reverse=True)
    return ko, en


async def test_a_korean_member_reads_korean_and_an_english_one_english(
    service: NotificationService, mailer: FakeMailer
) -> None:
    ko, en = await sent_to_kim_and_jo(service, mailer, paid)

    assert ko.subject == "[Cashnote Market] 주문 ord_ko 결제가 완료되었습니다"
    assert "결제 금액: 24,000원" in ko.text and "카드: 21,000원" in ko.text and "포인트: 3,000원" in ko.text
    assert "<strong>24,000원</strong>" in ko.html and 'lang="ko"' in ko.html
    assert en.subject == "[Cashnote Market] Your order ord_en is paid"
    assert "Paid: KRW 24,000" in en.text and "Card: KRW 21,000" in en.text and "Points: KRW 3,000" in en.text
    assert "<strong>KRW 24,000</strong>" in en.html and 'lang="en"' in en.html


async def test_a_locale_we_do_not_write_falls_back_to_korean(
    service: NotificationService, mailer: FakeMailer, members: FakeMembers
) -> None:
    members.members["mem_fr"] = Recipient("fr@example.com", "Amélie", "fr")
    await service.handle(cancelled("ord_9", "mem_fr"))
    await service.send_pending()

    assert mailer.sent[0].subject == "[Cashnote Market] 주문 ord_9이(가) 취소되었습니다"


@pytest.mark.parametrize(
    ("member_id", "reason", "words"),
    [
        ("mem_kim", "PG_DECLINED", "사유: 카드사에서 결제를 승인하지 않았습니다."),
        ("mem_jo", "INSUFFICIENT_POINTS", "Reason: There were not enough points."),
        ("mem_jo", "SOMETHING_NEW", "Reason: The payment could not be processed."),
    ],
)
async def test_a_failed_order_says_why_in_words(
    service: NotificationService, mailer: FakeMailer, member_id: str, reason: str, words: str
) -> None:
    await service.handle(failed("ord_2", member_id, reason))
    await service.send_pending()

    assert words in mailer.sent[0].text
    assert reason not in mailer.sent[0].text and reason not in mailer.sent[0].html


async def test_a_partial_cancellation_lists_the_items_and_the_refund(
    service: NotificationService, mailer: FakeMailer
) -> None:
    ko, en = await sent_to_kim_and_jo(service, mailer, partly_cancelled)

    assert ko.subject == "[Cashnote Market] 주문 ord_ko의 일부가 취소되었습니다"
    assert "상품 prd_1 2개" in ko.text and "환불 금액: 12,000원" in ko.text
    assert en.subject == "[Cashnote Market] Part of your order ord_en is cancelled"
    assert "product prd_1 × 2" in en.text and "Refund: KRW 12,000" in en.text


async def test_the_html_shows_names_as_text_never_as_markup(
    service: NotificationService, mailer: FakeMailer, members: FakeMembers
) -> None:
    members.members["mem_x"] = Recipient("x@example.com", "<script>alert('name')</script>", "en")
    await service.handle(partly_cancelled("ord_4", "mem_x", product_id="<script>alert('product')</script>"))
    await service.send_pending()

    message = mailer.sent[0]
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in message.html
    assert "&lt;script&gt;alert(&#39;product&#39;)&lt;/script&gt;" in message.html
    assert "Hello <script>alert('name')</script>," in message.text  # plain text shows the name as it is


async def test_the_message_is_text_and_html_with_a_message_id_from_the_event(
    service: NotificationService, mailer: FakeMailer
) -> None:
    event = paid("ord_1", "mem_kim")
    await service.handle(event)
    await service.send_pending()

    first = to_mime(mailer.sent[0], "Cashnote Market <no-reply@market.test>")
    again = to_mime(mailer.sent[0], "Cashnote Market <no-reply@market.test>")
    parsed = message_from_bytes(first.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)

    assert first["Message-ID"] == again["Message-ID"] == f"<{event.event_id}@market.test>"
    assert first.as_bytes() == again.as_bytes()  # a resend is the same message
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert str(parsed["To"]) == "김민지 <kim@example.com>"
    assert str(parsed["Subject"]) == "[Cashnote Market] 주문 ord_1 결제가 완료되었습니다"
    assert str(parsed["Date"]) == "Thu, 01 Jan 2026 00:00:00 +0000"
