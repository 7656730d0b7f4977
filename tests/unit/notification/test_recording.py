"""Consuming events: one message per event, however often the event is delivered; other events ignored."""

from __future__ import annotations

from market.kernel.clock import ManualClock
from market.kernel.events import Envelope
from market.notification.adapters.memory import NotificationState
from market.notification.domain import CANCELLED, FAILED, PAID, PARTIALLY_CANCELLED, State, notice_from
from market.notification.use_cases import NotificationService
from tests.unit.notification.fakes import FakeMailer, cancelled, failed, paid, partly_cancelled


async def test_an_event_delivered_twice_makes_one_message(
    service: NotificationService, mailer: FakeMailer
) -> None:
    event = paid()

    await service.handle(event)
    await service.handle(event)
    await service.handle_batch([event, event])
    sent = await service.send_pending()
    await service.handle(event)  # a redelivery after the message went out
    again = await service.send_pending()

    assert (sent, again) == (1, 0)
    assert [(m.event_id, m.to.email) for m in mailer.sent] == [(event.event_id, "kim@example.com")]


async def test_a_poll_of_events_is_recorded_once_each(
    service: NotificationService, mailer: FakeMailer, state: NotificationState
) -> None:
    events = [paid(), failed(), cancelled(), partly_cancelled()]

    await service.handle_batch([*events, events[1]])
    await service.handle_batch(events)  # the whole poll again (a consumer that restarted)

    assert {n.kind for n in state.notices.values()} == {PAID, FAILED, CANCELLED, PARTIALLY_CANCELLED}
    assert await service.send_pending() == 4
    assert sorted(m.event_id for m in mailer.sent) == sorted(e.event_id for e in events)


async def test_events_that_call_for_no_message_are_ignored(
    service: NotificationService, state: NotificationState, mailer: FakeMailer
) -> None:
    at = "2026-01-01T00:00:00.000Z"
    await service.handle_batch(
        [
            Envelope("OrderCreated", "ord_1", {"member_id": "mem_kim", "total_amount": 1_000}, at),
            Envelope("PaymentFailed", "ord_1", {"member_id": "mem_kim", "reason": "PG_DECLINED"}, at),
            Envelope("OrderCancellationRequested", "ord_1", {"member_id": "mem_kim"}, at),
            Envelope("PaymentRefunded", "ord_1", {"member_id": "mem_kim", "legs": []}, at),
            Envelope("OrderFailed", "ord_1", {"reason": "PG_DECLINED"}, at),  # no member to write to
        ]
    )

    assert state.notices == {}
    assert await service.send_pending() == 0 and mailer.attempts == 0


def test_a_notice_keeps_what_the_message_needs_and_is_due_at_once() -> None:
    now = ManualClock().now()

    paid_notice = notice_from(paid(pg=21_000, points=3_000), now)
    failed_notice = notice_from(failed(reason="BNPL_REJECTED"), now)
    partial = notice_from(partly_cancelled(), now)

    assert paid_notice is not None and failed_notice is not None and partial is not None
    assert paid_notice.facts == {
        "amount": 24_000,
        "legs": [{"method": "PG", "amount": 21_000}, {"method": "POINT", "amount": 3_000}],
    }
    assert (paid_notice.state, paid_notice.attempts, paid_notice.next_attempt_at) == (State.PENDING, 0, now)
    assert paid_notice.occurred_at.isoformat() == "2026-01-01T00:00:00+00:00"
    assert failed_notice.facts == {"reason": "BNPL_REJECTED"}
    assert partial.facts == {"items": [{"product_id": "prd_1", "quantity": 2}], "refund_amount": 12_000}


def test_an_event_with_odd_values_still_makes_its_message() -> None:
    now = ManualClock().now()
    odd = Envelope(
        "OrderPartiallyCancelled",
        "ord_1",
        {
            "member_id": "mem_kim",
            "items": [{"product_id": "prd_1", "quantity": "2"}, "x"],
            "refund_amount": True,
        },
        "yesterday",
    )

    notice = notice_from(odd, now)

    assert notice is not None and notice.occurred_at == now
    assert notice.facts == {"items": [], "refund_amount": None}
