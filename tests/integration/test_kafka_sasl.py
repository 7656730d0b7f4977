"""Kafka over SASL/SCRAM-SHA-512 (MARKET_KAFKA_SASL=1): the services' clients authenticate, and a client
without the credentials — any process of the machine — can neither produce (inject a PaymentCompleted)
nor read. Needs a broker started with MARKET_KAFKA_SASL=1 (scripts/infra/kafka.sh; scripts/test runs one):

  MARKET_TEST_KAFKA_SASL_BOOTSTRAP   its address, e.g. 127.0.0.1:9092
  MARKET_TEST_KAFKA_SASL_PASSWORD    the password of MARKET_KAFKA_USERNAME (market)
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from market.infra.kafka import KafkaPublisher, KafkaSubscriber, ensure_topics
from market.kernel.events import PAYMENT_EVENTS, Envelope
from market.settings import Settings
from tests.events import Consuming, event
from tests.integration.conftest import _missing


def sasl() -> tuple[str, dict[str, str]]:
    bootstrap = os.environ.get("MARKET_TEST_KAFKA_SASL_BOOTSTRAP")
    password = os.environ.get("MARKET_TEST_KAFKA_SASL_PASSWORD")
    if not bootstrap or not password:
        _missing(
            "MARKET_TEST_KAFKA_SASL_BOOTSTRAP / _PASSWORD are not set (a broker with MARKET_KAFKA_SASL=1)"
        )
    settings = Settings(kafka_sasl=True, kafka_password=password)
    return bootstrap, settings.kafka_security()


async def refused(bootstrap: str, **security: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000, **security)
    with pytest.raises(KafkaError):
        try:
            await asyncio.wait_for(producer.start(), 20)
            await asyncio.wait_for(producer.send_and_wait(PAYMENT_EVENTS, b"forged", key=b"ord_x"), 20)
        finally:
            await producer.stop()


async def test_a_client_without_the_credentials_cannot_produce() -> None:
    bootstrap, security = sasl()
    await refused(bootstrap)  # plaintext: the listener speaks SASL only
    wrong = {**security, "sasl_plain_password": "not-the-password"}
    await refused(bootstrap, **wrong)


async def test_the_services_clients_publish_and_consume_with_the_credentials() -> None:
    bootstrap, security = sasl()
    await ensure_topics(bootstrap, [PAYMENT_EVENTS], partitions=4, security=security)
    sent = event("PaymentCompleted", f"sasl-{uuid.uuid4().hex[:8]}", datetime.now(UTC))
    seen: list[Envelope] = []

    async def handle(envelope: Envelope) -> None:
        if envelope.order_id == sent.order_id:
            seen.append(envelope)

    subscriber = KafkaSubscriber(bootstrap, security=security)
    subscriber.subscribe(PAYMENT_EVENTS, f"sasl-{uuid.uuid4().hex[:8]}", Consuming(handle))
    publisher = KafkaPublisher(bootstrap, security=security)
    await subscriber.start()
    await publisher.start()
    try:
        await publisher.publish([sent])
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.2)
    finally:
        await publisher.stop()
        await subscriber.stop()
    assert [e.event_id for e in seen] == [sent.event_id]
