"""Adapters shared by every service: databases, the outbox relay, the event transports, settings."""
